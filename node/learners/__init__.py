"""What the learner gets: share links (capability URLs), the human view of a credential, its PDF with a QR code,
and delivery of the link by e-mail (a retry queue in the database)."""
