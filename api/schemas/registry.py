"""The public registry (read from the chain index): entries, their history, status at a time, anchors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, computed_field, model_validator

from api.schemas.base import WireModel
from node.registry.index import iso

__all__ = [
    "AccreditedAt",
    "AnchorEventView",
    "AnchorPageView",
    "ChainCheck",
    "ChainLinkView",
    "DocumentCheckView",
    "HistoryEventView",
    "HistoryView",
    "IndexPositionView",
    "IssuerDetail",
    "IssuerEntryView",
    "IssuerPage",
    "RegistryExport",
    "StatusAtView",
    "TimePointView",
    "TreeNodeView",
    "TreeView",
    "UpdatedAt",
]


class _Timed(WireModel):
    """Adds ``time``: the model's ``timestamp`` (chain time, Unix seconds) as ISO 8601 UTC, last on the wire."""

    if TYPE_CHECKING:  # every subclass declares it (a field here would come first on the wire)
        timestamp: int | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def time(self) -> str | None:
        return iso(self.timestamp)


class AccreditedAt(_Timed):
    block: int
    tx: str
    timestamp: int


class UpdatedAt(_Timed):
    block: int
    timestamp: int


class IndexPositionView(WireModel):
    last_block: int
    last_block_hash: str | None
    reorgs: int


class IssuerEntryView(WireModel):
    address: str
    kind: str = Field(description="root-tao | tao | ti")
    status: str = Field(description="active | suspended | revoked")
    accreditor: str | None
    did: str
    valid_from: int
    valid_until: int | None = Field(description="Unix seconds; null = open-ended")
    document_hash: str
    scope: str
    scope_json: Any = Field(description="the scope parsed, when it is JSON")
    scope_text: str | None = Field(None, description="the scope in words")
    name: str | None = Field(None, description="the organisation's name, from its accreditation document")
    country: str | None
    accredited: AccreditedAt
    updated: UpdatedAt


class IssuerPage(WireModel):
    items: list[IssuerEntryView]
    total: int
    limit: int
    offset: int
    next: str | None = Field(description="the next page, if any")
    index: IndexPositionView | None


class ChainLinkView(WireModel):
    address: str
    kind: str | None
    status: str
    did: str | None


class DocumentCheckView(WireModel):
    result: str = Field(description="pass | fail | missing")
    reason: str
    onchain_hash: str
    stored_hash: str | None
    recomputed_hash: str | None


class IssuerDetail(IssuerEntryView):
    accreditation_chain: list[ChainLinkView] = Field(
        description="the accreditors, nearest first, up to the RootTAO"
    )
    document: DocumentCheckView
    index: IndexPositionView | None


class HistoryEventView(_Timed):
    action: str = Field(description="accredited | suspended | reinstated | revoked")
    status: str
    previous_status: str | None
    by: str | None
    reason: str | None = Field(description="the reason text of a status change (IssuerRegistry 2)")
    reason_hash: str | None = Field(description="keccak256 of the reason text, as emitted on chain")
    block: int
    block_hash: str
    tx: str
    log_index: int
    timestamp: int


class HistoryView(WireModel):
    address: str
    items: list[HistoryEventView]


class TimePointView(_Timed):
    timestamp: int | None


class ChainCheck(WireModel):
    """The chain's answer beside the index's (``verify=true``); an unreachable chain is ``error``."""

    result: str = Field(description="pass | fail | error")
    status: str | None = Field(None, exclude_if=lambda v: v is None)
    reason: str


class StatusAtView(WireModel):
    address: str
    kind: str
    status: str = Field(description="none | active | suspended | revoked")
    within_validity: bool | None
    active_ti: bool = Field(serialization_alias="activeTI", validation_alias="active_ti")
    at: TimePointView | None
    block: int | None
    set_by: HistoryEventView | None
    as_of: int | None = Field(exclude=True)
    as_of_time: str | None = Field(None, description="the time the answer holds for (ISO 8601 UTC)")
    chain: ChainCheck | None = Field(None, exclude_if=lambda v: v is None)

    @model_validator(mode="after")
    def _as_of_time(self) -> StatusAtView:
        self.as_of_time = iso(self.as_of) if self.as_of is not None else None
        return self


class AnchorEventView(_Timed):
    root: str
    issuer: str
    leaf_count: int
    block: int
    block_hash: str
    tx: str
    log_index: int
    timestamp: int


class AnchorPageView(WireModel):
    address: str
    count: int
    leaves: int
    first: AnchorEventView | None
    last: AnchorEventView | None
    items: list[AnchorEventView]
    limit: int
    offset: int


class TreeNodeView(WireModel):
    address: str
    kind: str
    status: str
    did: str
    name: str | None = Field(None, description="the organisation's name, from its accreditation document")
    country: str | None
    accreditor: str | None
    children: list[TreeNodeView]


class TreeView(WireModel):
    roots: list[TreeNodeView]
    index: IndexPositionView | None


class RegistryExport(BaseModel):
    """``credreg-registry-export/1``: every entry with its full history (a file format of its own)."""

    format: str
    issuers: list[dict[str, Any]]
    index: dict[str, Any] | None
