"""The pipeline's last known state, read from the database (for ``/readyz`` and metrics): who holds each lease,
which pipeline processes beat recently and what they last saw of the chain, and how old the oldest waiting work is.
Nothing here calls the chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from node.pipeline.lease import INDEXER_LEASE, db_now
from node.storage.models import CREDENTIAL_PENDING, Batch, Credential
from node.storage.pipeline_tables import PipelineHeartbeat, PipelineLease

__all__ = ["Backlog", "LeaseView", "PipelineState", "ProcessView", "pipeline_state"]


@dataclass(frozen=True)
class LeaseView:
    name: str
    kind: str  # "signer" (a chain key's) or "indexer"
    holder: str | None
    token: int
    expires_at: datetime
    live: bool  # held and not expired


@dataclass(frozen=True)
class ProcessView:
    holder: str
    host: str
    pid: int
    beat_at: datetime
    age_seconds: float
    live: bool  # beat within three lease lifetimes' renewal intervals (one lease lifetime)
    state: dict


@dataclass(frozen=True)
class Backlog:
    pending_credentials: int
    oldest_pending_seconds: float | None
    unconfirmed_batches: int  # sealed or submitted
    oldest_unconfirmed_seconds: float | None

    @property
    def age_seconds(self) -> float | None:
        ages = [a for a in (self.oldest_pending_seconds, self.oldest_unconfirmed_seconds) if a is not None]
        return max(ages) if ages else None

    @property
    def waiting(self) -> bool:
        return bool(self.pending_credentials or self.unconfirmed_batches)


@dataclass(frozen=True)
class PipelineState:
    now: datetime
    leases: list[LeaseView] = field(default_factory=list)
    processes: list[ProcessView] = field(default_factory=list)
    backlog: Backlog | None = None

    @property
    def live_processes(self) -> list[ProcessView]:
        return [p for p in self.processes if p.live]

    @property
    def signer_leases(self) -> list[LeaseView]:
        return [lease for lease in self.leases if lease.kind == "signer"]


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def _dt(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


def pipeline_state(session: Session, ttl: float) -> PipelineState:
    now = db_now(session)
    leases = [
        LeaseView(
            name=row.name,
            kind="indexer" if row.name == INDEXER_LEASE else "signer",
            holder=row.holder,
            token=row.token,
            expires_at=row.expires_at,
            live=row.holder is not None and row.expires_at > now,
        )
        for row in session.exec(select(PipelineLease).order_by(PipelineLease.name))
    ]
    processes = []
    for beat in session.exec(select(PipelineHeartbeat).order_by(PipelineHeartbeat.beat_at.desc())):  # type: ignore[attr-defined]
        age = _age(now, beat.beat_at) or 0.0
        processes.append(
            ProcessView(
                beat.holder, beat.host, beat.pid, beat.beat_at, age, age <= ttl, dict(beat.state or {})
            )
        )
    c, b = Credential.__table__, Batch.__table__
    pending, oldest_pending = session.execute(
        sa.select(sa.func.count(), sa.func.min(c.c.created_at)).where(CREDENTIAL_PENDING)
    ).one()
    unconfirmed, oldest_batch = session.execute(
        sa.select(sa.func.count(), sa.func.min(b.c.created_at)).where(b.c.state.in_(("sealed", "submitted")))
    ).one()
    backlog = Backlog(
        int(str(pending)), _age(now, _dt(oldest_pending)), int(str(unconfirmed)), _age(now, _dt(oldest_batch))
    )
    return PipelineState(now, leases, processes, backlog)
