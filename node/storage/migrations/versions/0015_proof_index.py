"""proof index: the batch columns of a public proof in an index of their own

SQLite keeps a row's columns in their declared order, and ``batch.tree`` (~100 KB for 1,000 credentials) comes
before the anchor's columns (chain_id ... confirmations). Reading those from the row walks the tree's chain of
overflow pages, ~27 pages of 4 KB per proof: 16 of the proof query's 26 us in process. ``ix_batch_proof`` holds the
id and every batch column a proof shows, so the proof query (node.reads.proofs, ``INDEXED BY``) reads no batch row.
PostgreSQL keeps the blob out of line (TOAST) and does not need it; it gets the same index so that both databases
have one schema (a batch row is written a few times per 1,000 credentials).

Revision ID: 0015_proof_index
Revises: 0014_hot_anchoring
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_proof_index"
down_revision = "0014_hot_anchoring"
branch_labels = None
depends_on = None

INDEX = "ix_batch_proof"
COLUMNS = [
    "id",
    "root",
    "size",
    "state",
    "chain_id",
    "contract_address",
    "tx_hash",
    "block_number",
    "block_hash",
    "block_timestamp",
    "confirmed_at",
    "confirmations",
]


def upgrade() -> None:
    if not _present():
        op.create_index(INDEX, "batch", COLUMNS)


def downgrade() -> None:
    if _present():
        op.drop_index(INDEX, table_name="batch")


def _present() -> bool:
    # SQLite commits DDL as it goes: a downgrade that failed in an older revision is re-run from the start
    return INDEX in {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("batch")}
