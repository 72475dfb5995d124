"""initial schema: issuer, api_token, batch, credential

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "issuer",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("did", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_issuer_name"),
        sa.UniqueConstraint("address", name="uq_issuer_address"),
    )
    op.create_table(
        "api_token",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("issuer_id", BigId, sa.ForeignKey("issuer.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_api_token_token_hash"),
    )
    op.create_index("ix_api_token_issuer_id", "api_token", ["issuer_id"])
    op.create_table(
        "batch",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("issuer_id", BigId, sa.ForeignKey("issuer.id"), nullable=False),
        sa.Column("root", sa.String(66), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("tree", sa.LargeBinary(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=True),
        sa.Column("contract_address", sa.String(42), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(66), nullable=True),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("confirmations", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("root", name="uq_batch_root"),
    )
    op.create_index("ix_batch_issuer_state_id", "batch", ["issuer_id", "state", "id"])
    op.create_index("ix_batch_tx_hash", "batch", ["tx_hash"])
    op.create_table(
        "credential",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(66), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("canonical", sa.LargeBinary(), nullable=False),
        sa.Column("issuer_id", BigId, sa.ForeignKey("issuer.id"), nullable=False),
        sa.Column("external_id", sa.String(500), nullable=True),
        sa.Column("idempotency_key", sa.String(300), nullable=True),
        sa.Column("profile", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("batch_id", BigId, sa.ForeignKey("batch.id"), nullable=True),
        sa.Column("leaf_index", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("anchored_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("digest", name="uq_credential_digest"),
        sa.UniqueConstraint("issuer_id", "external_id", name="uq_credential_issuer_external_id"),
        sa.UniqueConstraint("issuer_id", "idempotency_key", name="uq_credential_issuer_idempotency_key"),
    )
    op.create_index("ix_credential_issuer_status_id", "credential", ["issuer_id", "status", "id"])
    op.create_index("ix_credential_status_issuer_created", "credential", ["status", "issuer_id", "created_at"])
    op.create_index("ix_credential_batch_id", "credential", ["batch_id"])


def downgrade() -> None:
    op.drop_table("credential")
    op.drop_table("batch")
    op.drop_table("api_token")
    op.drop_table("issuer")
