"""Counts for metrics: queue depth, batches by state, failed batches by error."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from node.storage.models import Batch, Credential, CredentialStatus


def pending_count(session: Session, issuer_id: int | None = None) -> int:
    t = Credential.__table__
    q = sa.select(sa.func.count()).where(t.c.status == CredentialStatus.pending.value)
    if issuer_id is not None:
        q = q.where(t.c.issuer_id == issuer_id)
    return int(session.execute(q).scalar() or 0)


def failed_counts(session: Session) -> dict[str, tuple[int, int]]:
    """Failed batches by the custom error that failed them (``other`` for a failure that was not a revert):
    ``{error: (batches, credentials)}``."""
    t = Batch.__table__
    c = Credential.__table__
    rows = session.execute(
        sa.select(t.c.error_code, sa.func.count(sa.distinct(t.c.id)), sa.func.count(c.c.id))
        .select_from(t.outerjoin(c, c.c.batch_id == t.c.id))
        .where(t.c.state == "failed")
        .group_by(t.c.error_code)
    ).all()
    out: dict[str, tuple[int, int]] = {}
    for error, batches, credentials in rows:
        before = out.get(error or "other", (0, 0))
        out[error or "other"] = (before[0] + int(batches), before[1] + int(credentials))
    return out


def batch_counts(session: Session) -> dict[str, int]:
    t = Batch.__table__
    return {
        r[0]: int(r[1]) for r in session.execute(sa.select(t.c.state, sa.func.count()).group_by(t.c.state))
    }
