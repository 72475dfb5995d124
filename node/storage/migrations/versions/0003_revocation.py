"""revocation: credential status state, status-change queue, status transactions, bitstring status lists

Revision ID: 0003_revocation
Revises: 0002_registry_index
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_revocation"
down_revision = "0002_registry_index"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "credential_status_state",
        sa.Column("credential_id", BigId, sa.ForeignKey("credential.id"), primary_key=True, autoincrement=False),
        sa.Column("issuer_id", BigId, sa.ForeignKey("issuer.id"), nullable=False),
        sa.Column("digest", sa.String(66), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("target_reason", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.String(16), nullable=False),
        sa.Column("confirmed_reason", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("digest", name="uq_credential_status_state_digest"),
    )
    op.create_index("ix_credential_status_state_issuer_id", "credential_status_state", ["issuer_id"])

    op.create_table(
        "status_tx",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("issuer_id", BigId, sa.ForeignKey("issuer.id"), nullable=False),
        sa.Column("batch_id", BigId, sa.ForeignKey("batch.id"), nullable=False),
        sa.Column("root", sa.String(66), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=True),
        sa.Column("contract_address", sa.String(42), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(66), nullable=True),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_status_tx_issuer_state", "status_tx", ["issuer_id", "state", "id"])
    op.create_index("ix_status_tx_tx_hash", "status_tx", ["tx_hash"])

    op.create_table(
        "status_change",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("issuer_id", BigId, sa.ForeignKey("issuer.id"), nullable=False),
        sa.Column("credential_id", BigId, sa.ForeignKey("credential.id"), nullable=False),
        sa.Column("batch_id", BigId, sa.ForeignKey("batch.id"), nullable=False),
        sa.Column("digest", sa.String(66), nullable=False),
        sa.Column("root", sa.String(66), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("tx_id", BigId, sa.ForeignKey("status_tx.id"), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_status_change_issuer_state", "status_change", ["issuer_id", "state", "id"])
    op.create_index("ix_status_change_credential", "status_change", ["credential_id", "id"])
    op.create_index("ix_status_change_request_id", "status_change", ["request_id"])
    op.create_index("ix_status_change_tx_id", "status_change", ["tx_id"])

    op.create_table(
        "status_list",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("issuer_id", BigId, sa.ForeignKey("issuer.id"), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("published_revision", sa.Integer(), nullable=True),
        sa.Column("published_hash", sa.String(66), nullable=True),
        sa.Column("published_version", sa.BigInteger(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("publish_state", sa.String(16), nullable=True),
        sa.Column("publish_revision", sa.Integer(), nullable=True),
        sa.Column("publish_hash", sa.String(66), nullable=True),
        sa.Column("publish_nonce", sa.BigInteger(), nullable=True),
        sa.Column("publish_tx_hash", sa.String(66), nullable=True),
        sa.Column("publish_submitted_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("issuer_id", "purpose", name="uq_status_list_issuer_purpose"),
    )

    op.create_table(
        "status_list_entry",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("list_id", BigId, sa.ForeignKey("status_list.id"), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(66), nullable=True),
        sa.Column("bit", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("allocated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("list_id", "idx", name="uq_status_list_entry_list_idx"),
    )
    op.create_index("ix_status_list_entry_digest", "status_list_entry", ["digest"])
    op.create_index("ix_status_list_entry_list_bit", "status_list_entry", ["list_id", "bit"])


def downgrade() -> None:
    op.drop_table("status_list_entry")
    op.drop_table("status_list")
    op.drop_table("status_change")
    op.drop_table("status_tx")
    op.drop_table("credential_status_state")
