"""Public proofs by digest, and the anchor record they share with the issuer's status view."""

from __future__ import annotations

from pydantic import Field

from api.schemas.base import IsoTime, WireModel

__all__ = ["AnchorInfo", "BatchInfo", "ProofView"]


class AnchorInfo(WireModel):
    chain_id: int | None = None
    contract: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    block_hash: str | None = None
    issuer: str | None = None
    anchored_at: int | None = Field(None, description="anchoring block timestamp, Unix seconds UTC")
    confirmed_at: IsoTime | None = None
    confirmations: int | None = None


class BatchInfo(WireModel):
    id: int
    size: int
    state: str = Field(description="sealed | submitted | confirmed | failed")


class ProofView(WireModel):
    digest: str
    state: str = Field(description="pending | batched | submitted | anchored | failed")
    root: str | None = None
    leaf_index: int | None = None
    proof: list[str] | None = Field(
        None, description="sibling hashes from the leaf upwards (OpenZeppelin StandardMerkleTree)"
    )
    batch: BatchInfo | None = None
    anchor: AnchorInfo | None = None
