"""OpenID4VCI 1.0 wire models (the protocol's own snake_case names) and the issuer's offer response."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.base import IsoTime, WireModel

__all__ = [
    "AuthorizationServerMetadata",
    "CredentialIssuerMetadata",
    "CredentialResponse",
    "NonceResponse",
    "OfferCreated",
    "OfferRequest",
    "TokenResponse",
]


class CredentialIssuerMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")
    credential_issuer: str
    credential_endpoint: str
    nonce_endpoint: str
    deferred_credential_endpoint: str
    credential_configurations_supported: dict[str, dict[str, Any]]


class AuthorizationServerMetadata(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    issuer: str
    token_endpoint: str
    grant_types_supported: list[str]
    pre_authorized_grant_anonymous_access_supported: bool = Field(
        alias="pre-authorized_grant_anonymous_access_supported"
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the RFC 6750 token type, not a secret)
    expires_in: int


class NonceResponse(BaseModel):
    c_nonce: str


class CredentialResponse(BaseModel):
    """``credentials`` (200) or ``transaction_id`` + ``interval`` (202, deferred)."""

    credentials: list[dict[str, Any]] | None = None
    transaction_id: str | None = None
    interval: int | None = None


class OfferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tx_code: bool = Field(False, description="require a 6-digit transaction code, returned once here")
    formats: list[str] | None = Field(
        None, description="credential configuration ids to offer (default: all)"
    )


class OfferCreated(WireModel):
    offer_uri: str = Field(description="openid-credential-offer://?credential_offer=…, for the wallet")
    offer: dict[str, Any]
    configurations: list[str]
    tx_code: str | None = Field(None, description="send to the learner by another channel; shown only once")
    expires_at: IsoTime
    qr_svg: str = Field(description="the offer URI as a QR code (SVG)")
