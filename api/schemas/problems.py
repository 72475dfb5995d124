"""The RFC 9457 problem+json body every error response carries (rendered by ``api/errors.py``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ProblemDetail", "ProblemError"]


class ProblemError(BaseModel):
    """One offending input. Bulk items add ``index``; NDJSON and JSON syntax errors add ``line``/``column``."""

    model_config = ConfigDict(extra="allow")

    pointer: str = Field(
        description="JSON Pointer into the request body; empty for the whole body or a header, "
        "query or path parameter"
    )
    field: str = Field(
        description="dotted path: `credentialSubject.id`, `[3].id`, `query.profile`, "
        "`header.Idempotency-Key`, `path.digest`"
    )
    message: str
    index: int | None = Field(None, description="the item of a bulk request")
    line: int | None = None
    column: int | None = None


class ProblemDetail(BaseModel):
    type: str = Field(
        description="`urn:credreg:problem:<slug>`, e.g. `urn:credreg:problem:invalid-credential`"
    )
    title: str
    status: int
    detail: str
    instance: str | None = Field(None, description="the request path")
    errors: list[ProblemError] = []
