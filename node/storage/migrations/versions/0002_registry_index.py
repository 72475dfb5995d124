"""registry index: indexed issuers, registry events, anchors, credential statuses, indexed blocks,
indexer cursor, accreditation documents

Revision ID: 0002_registry_index
Revises: 0001_initial
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_registry_index"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _event_columns():
    return [
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "registry_issuer",
        sa.Column("address", sa.String(42), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("accreditor", sa.String(42), nullable=True),
        sa.Column("did", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", sa.BigInteger(), nullable=False),
        sa.Column("document_hash", sa.String(66), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("country", sa.String(64), nullable=True),
        sa.Column("accredited_block", sa.BigInteger(), nullable=False),
        sa.Column("accredited_tx", sa.String(66), nullable=False),
        sa.Column("accredited_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_registry_issuer_kind_status", "registry_issuer", ["kind", "status"])
    op.create_index("ix_registry_issuer_accreditor", "registry_issuer", ["accreditor"])
    op.create_index("ix_registry_issuer_country", "registry_issuer", ["country"])

    op.create_table(
        "registry_event",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("by", sa.String(42), nullable=True),
        sa.Column("previous_status", sa.String(16), nullable=True),
        sa.Column("new_status", sa.String(16), nullable=False),
        sa.Column("reason_hash", sa.String(66), nullable=True),
        *_event_columns(),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_registry_event_tx_log"),
    )
    op.create_index("ix_registry_event_address_block", "registry_event", ["address", "block_number", "log_index"])
    op.create_index("ix_registry_event_block", "registry_event", ["block_number"])

    op.create_table(
        "registry_anchor",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("root", sa.String(66), nullable=False),
        sa.Column("issuer", sa.String(42), nullable=False),
        sa.Column("leaf_count", sa.BigInteger(), nullable=False),
        *_event_columns(),
        sa.UniqueConstraint("root", name="uq_registry_anchor_root"),
    )
    op.create_index("ix_registry_anchor_issuer_block", "registry_anchor", ["issuer", "block_number"])
    op.create_index("ix_registry_anchor_block", "registry_anchor", ["block_number"])

    op.create_table(
        "registry_credential_status",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("root", sa.String(66), nullable=False),
        sa.Column("digest", sa.String(66), nullable=False),
        sa.Column("issuer", sa.String(42), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Integer(), nullable=False),
        *_event_columns(),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_registry_credential_status_tx_log"),
    )
    op.create_index("ix_registry_credential_status_digest", "registry_credential_status", ["digest", "block_number"])
    op.create_index("ix_registry_credential_status_block", "registry_credential_status", ["block_number"])

    op.create_table(
        "registry_indexed_block",
        sa.Column("block_number", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
    )

    op.create_table(
        "registry_indexer_cursor",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("last_block", sa.BigInteger(), nullable=False),
        sa.Column("last_block_hash", sa.String(66), nullable=True),
        sa.Column("reorgs", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )

    op.create_table(
        "accreditation_document",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("document_hash", sa.String(66), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("address", "document_hash", name="uq_accreditation_document_address_hash"),
    )
    op.create_index("ix_accreditation_document_hash", "accreditation_document", ["document_hash"])


def downgrade() -> None:
    op.drop_table("accreditation_document")
    op.drop_table("registry_indexer_cursor")
    op.drop_table("registry_indexed_block")
    op.drop_table("registry_credential_status")
    op.drop_table("registry_anchor")
    op.drop_table("registry_event")
    op.drop_table("registry_issuer")
