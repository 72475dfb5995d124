"""signing: issuers' credential-signing key references and default proof, credentials' digest rule

* ``issuer.signing_key_ref`` / ``signing_key_p256_ref``: where the issuer's Ed25519 / P-256 credential-signing key
  lives (``file:<path>`` of an encrypted PKCS#8 PEM, or ``env:<VARIABLE>``); never the key itself.
* ``issuer.verification_key`` / ``verification_key_p256``: their publicKeyMultibase (served in DID documents).
* ``issuer.default_proof``: eddsa-jcs-2022 | eddsa-rdfc-2022 | vc-jwt (None: the node's default).
* ``credential.digest_rule``: None = salted-jcs (as before), ``jcs`` or ``compact`` for signed credentials.

Revision ID: 0006_signing
Revises: 0005_trust
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_signing"
down_revision = "0005_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("issuer", sa.Column("signing_key_ref", sa.String(1000), nullable=True))
    op.add_column("issuer", sa.Column("signing_key_p256_ref", sa.String(1000), nullable=True))
    op.add_column("issuer", sa.Column("verification_key", sa.String(200), nullable=True))
    op.add_column("issuer", sa.Column("verification_key_p256", sa.String(200), nullable=True))
    op.add_column("issuer", sa.Column("default_proof", sa.String(32), nullable=True))
    op.add_column("credential", sa.Column("digest_rule", sa.String(16), nullable=True))


def downgrade() -> None:
    # column by column, only what is there: SQLite commits DDL as it goes, so a later revision's downgrade that
    # refuses (0005's) leaves this one half-applied under the same version row, and it runs again
    bind = op.get_bind()
    columns = {table: {c["name"] for c in sa.inspect(bind).get_columns(table)} for table in ("credential", "issuer")}
    if "digest_rule" in columns["credential"]:
        signed = bind.execute(sa.text("SELECT count(*) FROM credential WHERE digest_rule IS NOT NULL")).scalar()
        if signed:
            raise RuntimeError(
                f"{signed} credentials are signed (digest rule jcs/compact): downgrading would lose it"
            )
    if "digest_rule" in columns["credential"]:
        op.drop_column("credential", "digest_rule")
    for column in (
        "default_proof",
        "verification_key_p256",
        "verification_key",
        "signing_key_p256_ref",
        "signing_key_ref",
    ):
        if column in columns["issuer"]:
            op.drop_column("issuer", column)
