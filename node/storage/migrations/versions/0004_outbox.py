"""outbox: status-list publications as write-ahead rows of their own; the same write-ahead fields on every kind

* ``status_list_publication``: one row per ``publishStatusList`` transaction (submitted -> confirmed | dropped |
  failed), like ``status_tx``. A publication in flight in the old ``status_list.publish_*`` columns becomes a
  submitted row, so the publisher settles it after the upgrade; those columns are dropped. ``published_*`` stay as
  the summary of the last confirmed publication (the served list reports it).
* ``batch``, ``status_tx``: ``fence_token`` (the pipeline lease's fencing token stored with the write-ahead row);
  ``status_tx`` also gets ``confirmations`` and ``submitted_at`` (filled from ``created_at``), as the others have.

SQLite drops columns with ``ALTER TABLE ... DROP COLUMN`` (SQLite 3.35+), not by copying the table: a copy would
have to drop ``status_list`` while ``status_list_entry`` rows point at it.

Revision ID: 0004_outbox
Revises: 0003_revocation
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_outbox"
down_revision = "0003_revocation"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_OLD_PUBLISH_COLUMNS = (
    ("publish_state", sa.String(16)),
    ("publish_revision", sa.Integer()),
    ("publish_hash", sa.String(66)),
    ("publish_nonce", sa.BigInteger()),
    ("publish_tx_hash", sa.String(66)),
    ("publish_submitted_at", sa.DateTime()),
)


def upgrade() -> None:
    op.add_column("batch", sa.Column("fence_token", sa.BigInteger(), nullable=True))

    op.add_column("status_tx", sa.Column("confirmations", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("status_tx", sa.Column("fence_token", sa.BigInteger(), nullable=True))
    op.add_column("status_tx", sa.Column("submitted_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE status_tx SET submitted_at = created_at")

    op.create_table(
        "status_list_publication",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("issuer_id", BigId, sa.ForeignKey("issuer.id"), nullable=False),
        sa.Column("list_id", BigId, sa.ForeignKey("status_list.id"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("list_hash", sa.String(66), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=True),
        sa.Column("contract_address", sa.String(42), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(66), nullable=True),
        sa.Column("confirmations", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=True),
        sa.Column("fence_token", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_status_list_publication_issuer_state", "status_list_publication",
                    ["issuer_id", "state", "id"])
    op.create_index("ix_status_list_publication_list_state", "status_list_publication", ["list_id", "state", "id"])
    op.create_index("ix_status_list_publication_tx_hash", "status_list_publication", ["tx_hash"])

    # a publication in flight keeps its write-ahead record: the publisher settles it like any other
    op.execute(
        "INSERT INTO status_list_publication (issuer_id, list_id, revision, list_hash, state, nonce, tx_hash,"
        " confirmations, created_at, submitted_at)"
        " SELECT issuer_id, id, publish_revision, publish_hash, 'submitted', publish_nonce, publish_tx_hash, 0,"
        " COALESCE(publish_submitted_at, updated_at), publish_submitted_at"
        " FROM status_list WHERE publish_state = 'submitted' AND publish_tx_hash IS NOT NULL"
        " AND publish_hash IS NOT NULL AND publish_revision IS NOT NULL"
    )
    for name, _ in _OLD_PUBLISH_COLUMNS:
        op.drop_column("status_list", name)


def downgrade() -> None:
    for name, type_ in _OLD_PUBLISH_COLUMNS:
        op.add_column("status_list", sa.Column(name, type_, nullable=True))
    # the newest publication in flight per list goes back into the columns
    op.execute(
        "UPDATE status_list SET publish_state = 'submitted',"
        " publish_revision = (SELECT p.revision FROM status_list_publication p WHERE p.list_id = status_list.id"
        "  AND p.state = 'submitted' ORDER BY p.id DESC LIMIT 1),"
        " publish_hash = (SELECT p.list_hash FROM status_list_publication p WHERE p.list_id = status_list.id"
        "  AND p.state = 'submitted' ORDER BY p.id DESC LIMIT 1),"
        " publish_nonce = (SELECT p.nonce FROM status_list_publication p WHERE p.list_id = status_list.id"
        "  AND p.state = 'submitted' ORDER BY p.id DESC LIMIT 1),"
        " publish_tx_hash = (SELECT p.tx_hash FROM status_list_publication p WHERE p.list_id = status_list.id"
        "  AND p.state = 'submitted' ORDER BY p.id DESC LIMIT 1),"
        " publish_submitted_at = (SELECT p.submitted_at FROM status_list_publication p"
        "  WHERE p.list_id = status_list.id AND p.state = 'submitted' ORDER BY p.id DESC LIMIT 1)"
        " WHERE EXISTS (SELECT 1 FROM status_list_publication p WHERE p.list_id = status_list.id"
        "  AND p.state = 'submitted')"
    )
    op.drop_index("ix_status_list_publication_tx_hash", table_name="status_list_publication")
    op.drop_index("ix_status_list_publication_list_state", table_name="status_list_publication")
    op.drop_index("ix_status_list_publication_issuer_state", table_name="status_list_publication")
    op.drop_table("status_list_publication")
    op.drop_column("status_tx", "submitted_at")
    op.drop_column("status_tx", "fence_token")
    op.drop_column("status_tx", "confirmations")
    op.drop_column("batch", "fence_token")
