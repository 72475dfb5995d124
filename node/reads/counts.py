"""Counts for metrics: queue depth, batches by state, failed batches by error."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

from node.storage.models import CREDENTIAL_PENDING, Batch, Credential


def pending_count(session: Session, issuer_id: int | None = None) -> int:
    t = Credential.__table__
    q = sa.select(sa.func.count()).where(CREDENTIAL_PENDING)
    if issuer_id is not None:
        q = q.where(t.c.issuer_id == issuer_id)
    return int(session.execute(q).scalar() or 0)


def failed_counts(session: Session) -> dict[str, tuple[int, int]]:
    """Failed batches by the custom error that failed them (``other`` for a failure that was not a revert):
    ``{error: (batches, credentials)}``."""
    rows = session.execute(
        sa.select(
            col(Batch.error_code),
            sa.func.count(sa.distinct(col(Batch.id))),
            sa.func.count(col(Credential.id)),
        )
        .select_from(Batch)
        .outerjoin(Credential, col(Credential.batch_id) == col(Batch.id))
        .where(col(Batch.state) == "failed")
        .group_by(col(Batch.error_code))
    ).all()
    out: dict[str, tuple[int, int]] = {}
    for error, batches, credentials in rows:
        key = str(error) if error else "other"
        before = out.get(key, (0, 0))
        out[key] = (before[0] + int(str(batches)), before[1] + int(str(credentials)))
    return out


def batch_counts(session: Session) -> dict[str, int]:
    t = Batch.__table__
    return {
        r[0]: int(r[1]) for r in session.execute(sa.select(t.c.state, sa.func.count()).group_by(t.c.state))
    }
