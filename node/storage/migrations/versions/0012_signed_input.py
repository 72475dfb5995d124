"""signed input: what an idempotent replay of a credential the node signed compares

* ``credential.input_digest``: keccak256(JCS(the credential as received, issuer bound)), 0x hex, for a credential
  the node signed: each signing makes a new proof and new status entries, so the stored (signed) bytes differ on
  every replay. None for unsigned and pre-signed credentials (their canonical bytes are compared, as before).

Revision ID: 0012_signed_input
Revises: 0011_tenants
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_signed_input"
down_revision = "0011_tenants"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("credential", sa.Column("input_digest", sa.String(66), nullable=True))


def downgrade() -> None:
    # only when present: SQLite commits DDL as it goes, so an older revision's refused downgrade re-runs this one
    if "input_digest" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("credential")}:
        op.drop_column("credential", "input_digest")
