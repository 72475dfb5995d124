"""Issuing credentials, the issuer's view of one, and the learner's proof bundle."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.base import IsoTime, WireModel
from api.schemas.learners import ShareLinkCreated
from api.schemas.proofs import AnchorInfo

__all__ = [
    "Accepted",
    "BulkAccepted",
    "BulkItem",
    "BundleAnchor",
    "CredentialStatusView",
    "PlainCredential",
    "ProfileResult",
    "ProofBundle",
    "Seal",
]


class ProfileResult(BaseModel):
    """The profile's report on the accepted credential (node/issuance/profiles.py, docs/profiles.md)."""

    profile: str
    vocabulary: Literal["elm", "ob3", "vc"] = Field(description="the vocabulary the credential was read in")
    vocabularyLabel: str
    passed: bool
    elements: dict[str, str] = Field(
        description="element key -> JSON Pointer (into the credential) of the value that satisfied it"
    )
    missing: list[str] = []


class SealCertificate(BaseModel):
    """The signing certificate of a seal (``x5c[0]``)."""

    subject: str
    issuer: str
    serialNumber: str
    notBefore: str
    notAfter: str
    sha256: str = Field(description="base64url SHA-256 of the certificate (what x5t#S256 carries)")
    expired: bool = Field(
        description="at the time of the check; an expired certificate is reported, not refused"
    )
    notYetValid: bool
    validAtSigningTime: bool | None = Field(description="was it valid at sigT; null without a sigT")
    chainLength: int
    chainLinked: bool | None = Field(
        description="each x5c certificate issued by the next; null: only the leaf"
    )


class SealSignature(BaseModel):
    index: int
    alg: str
    status: Literal["valid", "unverified"]
    reason: str
    kid: str | None
    signingTime: str | None = Field(description="JAdES sigT, as written")
    keySource: Literal["x5c", "jwk"] | None
    certificate: SealCertificate | None
    timestamps: list[str] = Field(description="time-stamp tokens present (not verified)")
    notes: list[str]


class Seal(BaseModel):
    """A sealed input (JAdES / JWS JSON envelope): the payload is the credential, the envelope is stored."""

    format: Literal["JAdES", "JWS"]
    serialization: Literal["general", "flattened"]
    payloadEncoding: Literal["unencoded", "base64url"]
    status: Literal["valid", "unverified"] = Field(
        description="valid: every signature with key material verified; unverified: no key material"
    )
    trust: str
    signatures: list[SealSignature]


class Accepted(WireModel):
    digest: str = Field(
        description="0x keccak256(salt || JCS(credential)): the credential's public identifier"
    )
    status: str = Field(description="pending | batched | anchored")
    status_url: str
    created: bool = Field(description="false when this was an idempotent replay of an earlier request")
    profile: ProfileResult | None = Field(None, description="present when a profile was applied")
    seal: Seal | None = Field(None, description="present for a sealed (JAdES / JWS JSON) input")
    share_link: ShareLinkCreated | None = Field(
        None, description="with ?share_link=true: a new share link for the learner (each such call makes one)"
    )


class BulkItem(WireModel):
    index: int
    digest: str
    status: str
    status_url: str
    created: bool
    seal: Seal | None = Field(None, description="present for a sealed (JAdES / JWS JSON) input")


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


class PlainCredential(BaseModel):
    """A W3C Verifiable Credential as issued (VC Data Model 2.0 members; any others pass through)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    context: list[Any] | str = Field(alias="@context")
    type: list[str] | str
    id: str | None = None
