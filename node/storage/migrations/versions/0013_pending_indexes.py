"""pending indexes: credentials are indexed by status only while they are pending

The only lookups by status are of pending credentials (the sealer picks an issuer's oldest, the metrics and the
pipeline view count them), so the two full indexes that held every credential's status become partial indexes on
``status = 'pending'``: a credential leaves them when it is batched, and its two status updates (batched, then
anchored) no longer write a new entry into them. On PostgreSQL, where such an update writes into every index of
the table, that is two index writes fewer per update.

* drops ``ix_credential_issuer_status_id`` (issuer_id, status, id) and ``ix_credential_status_issuer_created``
  (status, issuer_id, created_at);
* creates ``ix_credential_pending_issuer_id`` (issuer_id, id) and ``ix_credential_pending_issuer_created``
  (issuer_id, created_at), both ``WHERE status = 'pending'``.

Revision ID: 0013_pending_indexes
Revises: 0012_signed_input
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_pending_indexes"
down_revision = "0012_signed_input"
branch_labels = None
depends_on = None

_PENDING = sa.text("status = 'pending'")


def _indexes() -> set[str]:
    return {ix["name"] or "" for ix in sa.inspect(op.get_bind()).get_indexes("credential")}


PENDING_INDEXES = {
    "ix_credential_pending_issuer_id": ["issuer_id", "id"],
    "ix_credential_pending_issuer_created": ["issuer_id", "created_at"],
}
STATUS_INDEXES = {
    "ix_credential_issuer_status_id": ["issuer_id", "status", "id"],
    "ix_credential_status_issuer_created": ["status", "issuer_id", "created_at"],
}


def upgrade() -> None:
    _replace(STATUS_INDEXES, PENDING_INDEXES, where=_PENDING)


def downgrade() -> None:
    _replace(PENDING_INDEXES, STATUS_INDEXES, where=None)


def _replace(old: dict[str, list[str]], new: dict[str, list[str]], where: sa.TextClause | None) -> None:
    # each step only when needed: SQLite commits DDL as it goes, so a failed run is re-run from the start
    present = _indexes()
    for name, columns in new.items():
        if name not in present:
            op.create_index(name, "credential", columns, postgresql_where=where, sqlite_where=where)
    for name in old:
        if name in present:
            op.drop_index(name, table_name="credential")
