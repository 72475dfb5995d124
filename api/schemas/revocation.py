"""Credential status changes (revoke, suspend, reinstate): the accepted request, its progress, a credential's
confirmed and requested status."""

from __future__ import annotations

from pydantic import Field, computed_field

from anchoring.reasons import REASON_TEXTS
from api.schemas.base import WireModel
from node.revocation.requests import RequestResult

__all__ = [
    "ChangeProgressView",
    "ChangeRecordView",
    "CredentialRevocationView",
    "RequestItemView",
    "RequestProgressView",
    "RevocationAccepted",
]


class RequestItemView(WireModel):
    digest: str
    result: str = Field(description="queued | unchanged")
    status: str = Field(description="the credential's status once the request is done")


class RevocationAccepted(WireModel):
    request_id: str
    action: str = Field(description="revoke | suspend | reinstate")
    reason_code: int = Field(description="the uint8 reason code sent on chain")
    reason: str | None = Field(description="the reason's name; null for reinstate")
    reason_text: str | None = Field(None, description="the reason in words; null for reinstate")
    count: int
    queued: int
    unchanged: int
    status_url: str = Field(description="where to follow the request")
    items: list[RequestItemView]

    @classmethod
    def of(cls, result: RequestResult, base_url: str) -> RevocationAccepted:
        return cls(
            request_id=result.request_id,
            action=result.action,
            reason_code=result.reason,
            reason=result.reason_name,
            reason_text=None if result.reason_name is None else REASON_TEXTS.get(result.reason),
            count=len(result.items),
            queued=result.queued,
            unchanged=result.unchanged,
            status_url=f"{base_url.rstrip('/')}/v1/revocations/{result.request_id}",
            items=[RequestItemView.model_validate(i) for i in result.items],
        )


class ChangeProgressView(WireModel):
    digest: str
    state: str = Field(description="queued | submitted | confirmed | failed")
    tx_hash: str | None
    block_number: int | None
    error: str | None


class RequestProgressView(WireModel):
    request_id: str
    action: str
    count: int
    queued: int
    submitted: int
    confirmed: int
    failed: int
    done: bool = Field(description="no change is queued or in flight any more")
    items: list[ChangeProgressView]


class ChangeRecordView(WireModel):
    request_id: str
    action: str
    reason_code: int
    state: str
    error: str | None


class CredentialRevocationView(WireModel):
    digest: str
    status: str = Field(description="confirmed on chain: valid | suspended | revoked")
    reason_code: int
    reason: str | None

    @computed_field(description="the confirmed reason in words; null while valid")  # type: ignore[prop-decorator]
    @property
    def reason_text(self) -> str | None:
        return None if self.reason is None else REASON_TEXTS.get(self.reason_code)

    target_status: str = Field(description="what the issuer asked for last")
    changes: list[ChangeRecordView]
