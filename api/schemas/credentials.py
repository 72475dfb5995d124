"""Issuing credentials, the issuer's view of one, and the learner's proof bundle."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.base import IsoTime, WireModel
from api.schemas.proofs import AnchorInfo

__all__ = ["Accepted", "BulkAccepted", "BulkItem", "BundleAnchor", "CredentialStatusView", "ProofBundle"]


class Accepted(WireModel):
    digest: str = Field(
        description="0x keccak256(salt || JCS(credential)): the credential's public identifier"
    )
    status: str = Field(description="pending | batched | anchored")
    status_url: str
    created: bool = Field(description="false when this was an idempotent replay of an earlier request")


class BulkItem(WireModel):
    index: int
    digest: str
    status: str
    status_url: str
    created: bool


class BulkAccepted(WireModel):
    count: int
    created: int
    digests: list[str] = Field(description="digests in request order")
    items: list[BulkItem]


class CredentialStatusView(WireModel):
    digest: str
    status: str
    state: str = Field(
        description="pending | batched | submitted | anchored | failed (failed: see last_error and error; an "
        "operator takes it on with `credreg batches retry`)"
    )
    id: str | None = Field(None, validation_alias="external_id", description="the credential's own `id`")
    profile: str | None = None
    created_at: IsoTime | None = None
    batch_id: int | None = None
    leaf_index: int | None = None
    root: str | None = None
    anchored_at: IsoTime | None = None
    anchor: AnchorInfo | None = None
    last_error: str | None = Field(
        None, description="why the batch is not anchored yet; for state failed, why it failed for good"
    )
    error: str | None = Field(
        None,
        description="the contract's custom error behind last_error (e.g. NotActiveIssuer), when a revert",
    )


class BundleAnchor(BaseModel):
    chainId: int
    contract: str = Field(description="CredentialAnchor contract address (EIP-55)")
    txHash: str
    blockNumber: int
    issuer: str = Field(description="the address that anchored the root (EIP-55)")
    anchoredAt: int = Field(description="Unix time in seconds (UTC) of the anchoring block")


class ProofBundleV1(BaseModel):
    """A ``credreg-bundle/1`` document (``anchoring/bundle/schema-v1.json``), for credentials anchored under a
    version-1 CredentialAnchor. A published format: members are spelled as in the format, not by a naming rule."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["credreg-bundle/1"]
    credential: dict[str, Any] = Field(description="the credential; its RFC 8785 canonical form is hashed")
    salt: str = Field(description="32 random bytes, 0x hex; digest = keccak256(salt || JCS(credential))")
    digest: str
    proof: list[str] = Field(description="OpenZeppelin StandardMerkleTree proof, leaf upwards")
    root: str
    anchor: BundleAnchor


class BundleInclusion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str
    proof: list[str] = Field(description="OpenZeppelin StandardMerkleTree proof, leaf upwards")
    chainId: int
    contract: str = Field(description="CredentialAnchor contract address (EIP-55)")
    contractVersion: str = Field(description="CredentialAnchor version (2.0.0)")
    txHash: str
    blockNumber: int
    issuer: str = Field(
        description="the address that anchored the root: the namespace of its on-chain record"
    )
    anchoredAt: int = Field(description="Unix time in seconds (UTC) of the anchoring block")


class ProofBundleV2(BaseModel):
    """A ``credreg-bundle/2`` document (``anchoring/bundle/schema-v2.json``): the credential as issued, how its
    digest is computed, and one inclusion per anchoring issuer. A published format, spelled as in the format."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["credreg-bundle/2"]
    credential: dict[str, Any] | str = Field(
        description="the credential as issued (JSON, or a VC-JWT / SD-JWT)"
    )
    digestRule: Literal["salted-jcs", "jcs", "compact"]
    salt: str | None = Field(None, description="only with salted-jcs: 32 random bytes, 0x hex")
    digest: str
    anchors: list[BundleInclusion]
    verificationMethods: list[dict[str, Any]] | None = None


ProofBundle = Annotated[ProofBundleV1 | ProofBundleV2, Field(discriminator="format")]
