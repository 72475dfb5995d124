"""speed: proof slices read from uncompressed tree blobs, fresh statistics for the idempotency lookups

* PostgreSQL ``batch.tree``: storage EXTERNAL (out of line, never compressed), so ``substr`` of a proof's sibling
  nodes reads only the TOAST chunks holding them (node.storage.trees.read_proof). Rows written before keep their
  storage until rewritten; their slices are still correct, only slower. (The hashes in a tree do not compress.)
* PostgreSQL ``credential``: autovacuum re-analyzes it after 2 % of its rows changed (default 10 %), so the
  planner's row estimates follow a table that grows by bulk ingest.
* Statistics: node.storage.db.upgrade analyzes this node's tables after every migration that changed the
  revision (this one included).

Revision ID: 0010_speed
Revises: 0009_leases
Create Date: 2026-12-02
"""

from alembic import op

revision = "0010_speed"
down_revision = "0009_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE batch ALTER COLUMN tree SET STORAGE EXTERNAL")
        op.execute(
            "ALTER TABLE credential SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE credential RESET (autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)")
        op.execute("ALTER TABLE batch ALTER COLUMN tree SET STORAGE EXTENDED")
