"""Liveness and readiness."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.problems import ProblemDetail

__all__ = ["Health", "NotReadyProblem", "Readiness", "ReadinessCheck"]


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


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: dict[str, ReadinessCheck]


class NotReadyProblem(ProblemDetail):
    """``/readyz`` when a dependency is down: a problem (``urn:credreg:problem:not-ready``) with every check."""

    checks: dict[str, ReadinessCheck]
