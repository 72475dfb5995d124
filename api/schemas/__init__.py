"""API response schemas (separate from the database tables in node.models)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Accepted(BaseModel):
    digest: str = Field(description="0x keccak256(salt || JCS(credential)): the credential's public identifier")
    status: str = Field(description="pending | batched | anchored")
    statusUrl: str
    created: bool = Field(description="false when this was an idempotent replay of an earlier request")


class BulkItem(Accepted):
    index: int


class BulkAccepted(BaseModel):
    count: int
    created: int
    digests: list[str] = Field(description="digests in request order")
    items: list[BulkItem]


class AnchorInfo(BaseModel):
    chainId: int | None = None
    contract: str | None = None
    txHash: str | None = None
    blockNumber: int | None = None
    blockHash: str | None = None
    issuer: str | None = None
    anchoredAt: int | None = Field(None, description="anchoring block timestamp, Unix seconds UTC")
    confirmedAt: str | None = None
    confirmations: int | None = None


class ProofView(BaseModel):
    digest: str
    state: str = Field(description="pending | batched | submitted | anchored | failed")
    root: str | None = None
    leafIndex: int | None = None
    proof: list[str] | None = None
    batch: dict[str, Any] | None = None
    anchor: AnchorInfo | None = None


class CredentialStatusView(BaseModel):
    digest: str
    status: str
    state: str
    id: str | None = None
    profile: str | None = None
    createdAt: str | None = None
    batchId: int | None = None
    leafIndex: int | None = None
    root: str | None = None
    anchoredAt: str | None = None
    anchor: AnchorInfo | None = None
    lastError: str | None = None


class ProblemDetail(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] = []
