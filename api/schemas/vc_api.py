"""Bodies of the W3C VC-API endpoints (``/credentials/issue``, ``/credentials/verify``, ``/presentations/verify``).

Requests are read by hand (strict JSON, every bad member a 400 problem+json naming its pointer); these models
document them and type the responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "IssueCredentialRequest",
    "IssueCredentialResponse",
    "IssueOptions",
    "ProblemDetails",
    "VerificationResult",
    "VerifyCredentialRequest",
    "VerifyOptions",
    "VerifyPresentationRequest",
    "VerifyPresentationResult",
]


class IssueOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    proofType: str | None = Field(None, description="DataIntegrityProof (the only one offered here)")
    cryptosuite: str | None = Field(None, description="eddsa-jcs-2022 (default) or eddsa-rdfc-2022")


class IssueCredentialRequest(BaseModel):
    credential: dict[str, Any] = Field(description="the credential to sign (W3C VC 2.0 data model)")
    options: IssueOptions | None = None


class IssueCredentialResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    verifiableCredential: dict[str, Any] = Field(
        description="the signed credential, as the node stores it (a VC-JWT as an EnvelopedVerifiableCredential)"
    )


class VerifyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    challenge: str | None = None
    domain: str | None = None


class VerifyCredentialRequest(BaseModel):
    verifiableCredential: dict[str, Any]
    options: VerifyOptions | None = None


class VerifyPresentationRequest(BaseModel):
    verifiablePresentation: dict[str, Any]
    options: VerifyOptions | None = None


class ProblemDetails(BaseModel):
    type: str
    title: str
    detail: str


class VerificationResult(BaseModel):
    """The VC-API verification result: the checks run, warnings and errors (ProblemDetails)."""

    verified: bool
    checks: list[str]
    warnings: list[ProblemDetails]
    errors: list[ProblemDetails]


class VerifyPresentationResult(VerificationResult):
    credentialResults: list[VerificationResult] = Field(
        default_factory=list, description="one result per credential of the presentation, in order"
    )
