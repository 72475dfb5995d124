"""Verification reports (the format ``credreg verify --json`` prints; defined by ``anchoring.verify.report``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from anchoring.verify.report import CHECKS, NOT_ANCHORED

__all__ = ["BatchReport", "CheckResult", "CredentialContent", "Report", "ReportCounts"]


class CheckResult(BaseModel):
    name: str = Field(description=" | ".join(CHECKS) + " (a bundle; a plain signed credential has fewer)")
    status: str = Field(description="pass | fail | error")
    reason: str
    details: dict[str, Any]


class CredentialContent(BaseModel):
    """What the credential says, for people (node.learners.human): not a check, shown beside them."""

    vocabulary: str = Field(description="elm | ob3 | vc")
    title: str | None
    description: str | None
    holder: str | None
    issuer_name: str | None = Field(description="the awarding body the credential names")
    registry_name: str | None = Field(
        description="the issuer's name in the registry (its accreditation document)"
    )
    ects: str | None
    eqf: str | None
    outcomes: list[str]
    assessment: str | None
    issued: str | None
    valid_until: str | None
    status: str | None = Field(description="valid | suspended | revoked, as the chain says")
    status_reason: str | None = Field(description="the reason's name (academicMisconduct), when not valid")
    status_text: str | None = Field(description="the status and its reason in words")


class Report(BaseModel):
    verdict: str = Field(description=f"valid | invalid | error | {NOT_ANCHORED}")
    source: str | None = Field(None, description="`bundles[i]` in a batch")
    summary: dict[str, Any]
    checks: list[CheckResult]
    credential_view: CredentialContent | None = Field(None, description="the credential's human content")


class ReportCounts(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    total: int
    valid: int
    invalid: int
    error: int
    signed_not_anchored: int = Field(
        0, alias=NOT_ANCHORED, description="plain signed credentials, no anchor found"
    )


class BatchReport(BaseModel):
    verdict: str
    counts: ReportCounts
    reports: list[Report]
