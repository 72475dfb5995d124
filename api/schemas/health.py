"""Liveness and readiness."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.problems import ProblemDetail

__all__ = [
    "BacklogInfo",
    "Health",
    "LeaseInfo",
    "NotReadyProblem",
    "PipelineInfo",
    "PipelineProcessInfo",
    "Readiness",
    "ReadinessCheck",
]


class Health(BaseModel):
    status: Literal["ok"]


class ReadinessCheck(BaseModel):
    ok: bool
    message: str
    versions: dict[str, str] | None = Field(
        None,
        description="contracts: version() of each contract as the chain answers it",
        exclude_if=lambda v: v is None,
    )


class LeaseInfo(BaseModel):
    name: str = Field(description="the lower-case chain key address (a signer lease) or `indexer`")
    kind: Literal["signer", "indexer"]
    holder: str | None = Field(description="`host:pid:random` of the pipeline process holding it")
    token: int = Field(description="fencing token: grows by one at every takeover")
    expires_at: str
    live: bool


class PipelineProcessInfo(BaseModel):
    holder: str
    host: str
    pid: int
    beat_at: str
    age_seconds: float
    live: bool


class BacklogInfo(BaseModel):
    pending_credentials: int
    oldest_pending_seconds: float | None
    unconfirmed_batches: int
    oldest_unconfirmed_seconds: float | None
    age_seconds: float | None = Field(description="age of the oldest waiting work (credential or batch)")


class PipelineInfo(BaseModel):
    """The pipeline's last known state, from the database (leases, heartbeats, backlog): no chain call."""

    leases: list[LeaseInfo]
    processes: list[PipelineProcessInfo]
    backlog: BacklogInfo


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: dict[str, ReadinessCheck]
    pipeline: PipelineInfo | None = None


class NotReadyProblem(ProblemDetail):
    """``/readyz`` when a dependency is down: a problem (``urn:credreg:problem:not-ready``) with every check."""

    checks: dict[str, ReadinessCheck]
    pipeline: PipelineInfo | None = None
