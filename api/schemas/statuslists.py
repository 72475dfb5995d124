"""W3C Bitstring Status Lists: allocated ``credentialStatus`` entries and the list credential (W3C formats:
members spelled as the specification spells them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Allocated", "StatusEntry", "StatusList", "StatusListCredential"]


class StatusEntry(BaseModel):
    """A ``BitstringStatusListEntry`` to embed in the credential's ``credentialStatus``."""

    id: str
    type: Literal["BitstringStatusListEntry"]
    statusPurpose: str = Field(description="revocation | suspension")
    statusListIndex: str
    statusListCredential: str


class Allocated(BaseModel):
    credentialStatus: list[StatusEntry]


class StatusList(BaseModel):
    id: str
    type: Literal["BitstringStatusList"]
    statusPurpose: str
    encodedList: str = Field(description="GZIP-compressed, base64url-encoded (multibase `u`) bitstring")
    ttl: int = Field(description="milliseconds")


class StatusListCredential(BaseModel):
    """A ``BitstringStatusListCredential``, signed (Data Integrity eddsa-jcs-2022) by the issuer's key when the
    issuer signs; its encodedList's hash is published on chain either way."""

    model_config = ConfigDict(populate_by_name=True)

    context: list[str] = Field(alias="@context")
    id: str
    type: list[str]
    issuer: str
    validFrom: str
    credentialSubject: StatusList
    proof: dict[str, Any] | None = Field(None, description="the issuer's DataIntegrityProof")
