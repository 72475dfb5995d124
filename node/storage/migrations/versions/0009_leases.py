"""leases: the pipeline's lease table (fencing tokens) and process heartbeats

* ``pipeline_lease``: one row per lease name (the lower-case issuer chain key address, or ``indexer``): holder,
  fencing token (only grows), expiry. Replaces the PostgreSQL advisory lock / SQLite file lock per key, which a
  killed database connection released while its holder went on sending.
* ``pipeline_heartbeat``: one row per pipeline process: last beat and its last known chain state (for ``/readyz``).

Revision ID: 0009_leases
Revises: 0008_wallet
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_leases"
down_revision = "0008_wallet"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_lease",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=True),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=True),
        sa.Column("renewed_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "pipeline_heartbeat",
        sa.Column("holder", sa.String(128), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("beat_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pipeline_heartbeat")
    op.drop_table("pipeline_lease")
