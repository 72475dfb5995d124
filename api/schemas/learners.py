"""Share links for learners, and their e-mail deliveries."""

from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr, Field

from api.schemas.base import IsoTime, WireModel

__all__ = ["DeliveryView", "NewShareLinkRequest", "ShareLinkCreated", "ShareLinkView"]


class NewShareLinkRequest(WireModel):
    """All optional: ``{}`` makes a link that never expires."""

    model_config = WireModel.model_config | {"extra": "forbid"}

    expires_in_days: int | None = Field(None, ge=1, le=3650, description="lifetime in days")
    expires_at: datetime | None = Field(None, description="expiry time (ISO 8601); not with expiresInDays")
    label: str | None = Field(None, max_length=200, description="the issuer's note about the link")
    send_to: EmailStr | None = Field(None, description="e-mail the link to this address (queued, sent once)")


class DeliveryView(WireModel):
    id: int
    state: str = Field(description="pending | sending | sent | failed")
    attempts: int
    message_id: str = Field(description="the RFC 5322 Message-ID of the e-mail")


class ShareLinkView(WireModel):
    id: int
    label: str | None
    created_at: IsoTime
    expires_at: IsoTime | None
    revoked_at: IsoTime | None


class ShareLinkCreated(ShareLinkView):
    url: str = Field(description="the capability URL: whoever has it sees the credential (shown once)")
    delivery: DeliveryView | None = None
