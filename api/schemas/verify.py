"""Verification reports (the format ``credreg verify --json`` prints; defined by ``anchoring.verify.report``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["BatchReport", "CheckResult", "Report", "ReportCounts"]


class CheckResult(BaseModel):
    name: str = Field(
        description="format | integrity | inclusion | anchored | issuer_trusted | not_revoked | "
        "issuer_matches"
    )
    status: str = Field(description="pass | fail | error")
    reason: str
    details: dict[str, Any]


class Report(BaseModel):
    verdict: str = Field(description="valid | invalid | error")
    source: str | None = Field(None, description="`bundles[i]` in a batch")
    summary: dict[str, Any]
    checks: list[CheckResult]


class ReportCounts(BaseModel):
    total: int
    valid: int
    invalid: int
    error: int


class BatchReport(BaseModel):
    verdict: str
    counts: ReportCounts
    reports: list[Report]
