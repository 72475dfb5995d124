"""Counts for metrics: queue depth and batches by state."""

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


def batch_counts(session: Session) -> dict[str, int]:
    t = Batch.__table__
    return {
        r[0]: int(r[1]) for r in session.execute(sa.select(t.c.state, sa.func.count()).group_by(t.c.state))
    }
