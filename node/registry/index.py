"""Reading the registry index (the tables the indexer fills): issuers, history, status at a time, anchors, exports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as _sa
from sqlalchemy.orm import Session
from sqlmodel import col

from anchoring.verify.report import iso_time
from node.storage.registry_tables import IndexerCursor, RegistryAnchor, RegistryEvent, RegistryIssuer

INDEX_KINDS = ("root-tao", "tao", "ti")


INDEX_STATUSES = ("active", "suspended", "revoked")


def iso(ts: int | None) -> str | None:
    """Unix seconds -> ``2026-01-31T12:00:00Z`` (the registry's time format)."""
    return None if ts is None else iso_time(int(ts))


@dataclass(frozen=True)
class Accredited:
    block: int
    tx: str
    timestamp: int  # Unix seconds (chain time)


@dataclass(frozen=True)
class Updated:
    block: int
    timestamp: int


@dataclass(frozen=True)
class IssuerEntry:
    """The current state of one registry entry, as indexed."""

    address: str
    kind: str  # root-tao | tao | ti
    status: str  # active | suspended | revoked
    accreditor: str | None
    did: str
    valid_from: int
    valid_until: int | None  # None = open-ended
    document_hash: str
    scope: str
    scope_json: Any  # the scope parsed, when it is JSON (not "*" or free text)
    country: str | None
    accredited: Accredited
    updated: Updated


@dataclass(frozen=True)
class HistoryEvent:
    """One change of an entry (IssuerAccredited or IssuerStatusChanged)."""

    action: str  # accredited | suspended | reinstated | revoked
    status: str
    previous_status: str | None
    by: str | None
    reason_hash: str | None
    reason: str | None  # the reason text (IssuerRegistry 2); None for accreditations
    block: int
    block_hash: str
    tx: str
    log_index: int
    timestamp: int


@dataclass(frozen=True)
class AnchorEvent:
    """One Anchored event (any issuer, any node)."""

    root: str
    issuer: str
    leaf_count: int
    block: int
    block_hash: str
    tx: str
    log_index: int
    timestamp: int


@dataclass(frozen=True)
class ChainLink:
    """One accreditor up an entry's accreditation chain (``status`` unknown when not indexed)."""

    address: str
    kind: str | None
    status: str
    did: str | None


@dataclass(frozen=True)
class TimePoint:
    timestamp: int | None


@dataclass(frozen=True)
class StatusAt:
    """An entry's status at a time or a block, from the indexed history."""

    address: str
    kind: str
    status: str  # none | active | suspended | revoked
    within_validity: bool | None  # None when asked by block
    active_ti: bool
    at: TimePoint | None  # the time asked about; None when asked by block
    block: int | None
    set_by: HistoryEvent | None  # the change in force then
    as_of: int | None  # the time the answer holds for (Unix seconds)


@dataclass(frozen=True)
class AnchorPage:
    address: str
    count: int
    leaves: int
    first: AnchorEvent | None
    last: AnchorEvent | None
    items: list[AnchorEvent]
    limit: int
    offset: int


@dataclass
class TreeNode:
    address: str
    kind: str
    status: str
    did: str
    country: str | None
    accreditor: str | None
    children: list[TreeNode] = field(default_factory=list)


@dataclass(frozen=True)
class IndexPosition:
    """How far the indexer has followed the chain."""

    last_block: int
    last_block_hash: str | None
    reorgs: int


def issuer_entry(row: RegistryIssuer) -> IssuerEntry:
    try:
        scope_json = json.loads(row.scope) if row.scope and row.scope not in ("*",) else None
    except ValueError:
        scope_json = None
    return IssuerEntry(
        address=row.address,
        kind=row.kind,
        status=row.status,
        accreditor=row.accreditor,
        did=row.did,
        valid_from=row.valid_from,
        valid_until=row.valid_until or None,
        document_hash=row.document_hash,
        scope=row.scope,
        scope_json=scope_json,
        country=row.country,
        accredited=Accredited(row.accredited_block, row.accredited_tx, row.accredited_at),
        updated=Updated(row.updated_block, row.updated_at),
    )


def history_event(ev: RegistryEvent) -> HistoryEvent:
    return HistoryEvent(
        action=ev.action,
        status=ev.new_status,
        previous_status=ev.previous_status,
        by=ev.by,
        reason_hash=ev.reason_hash,
        reason=ev.reason,
        block=ev.block_number,
        block_hash=ev.block_hash,
        tx=ev.tx_hash,
        log_index=ev.log_index,
        timestamp=ev.timestamp,
    )


def anchor_event(a: RegistryAnchor) -> AnchorEvent:
    return AnchorEvent(
        root=a.root,
        issuer=a.issuer,
        leaf_count=a.leaf_count,
        block=a.block_number,
        block_hash=a.block_hash,
        tx=a.tx_hash,
        log_index=a.log_index,
        timestamp=a.timestamp,
    )


def index_position(session: Session) -> IndexPosition | None:
    """The most recently updated indexer cursor; None before the indexer ran."""
    cur = (
        session.execute(_sa.select(IndexerCursor).order_by(col(IndexerCursor.updated_at).desc()).limit(1))
        .scalars()
        .first()
    )
    if cur is None:
        return None
    return IndexPosition(last_block=cur.last_block, last_block_hash=cur.last_block_hash, reorgs=cur.reorgs)


def query_issuers(
    session: Session,
    *,
    kind: str | None = None,
    status: str | None = None,
    accreditor: str | None = None,
    country: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[RegistryIssuer], int]:
    t = RegistryIssuer
    conds: list[_sa.ColumnElement[bool]] = []
    if kind:
        conds.append(col(t.kind) == kind)
    if status:
        conds.append(col(t.status) == status)
    if accreditor:
        conds.append(col(t.accreditor) == accreditor)
    if country:
        conds.append(col(t.country) == country.upper())
    total = session.execute(_sa.select(_sa.func.count()).select_from(t).where(*conds)).scalar() or 0
    rows = (
        session.execute(
            _sa.select(t)
            .where(*conds)
            .order_by(col(t.accredited_block), col(t.address))
            .limit(limit)
            .offset(offset)
        )
        .scalars()
        .all()
    )
    return list(rows), int(total)


def get_index_issuer(session: Session, address: str) -> RegistryIssuer | None:
    return session.get(RegistryIssuer, address)


def accreditation_chain(session: Session, row: RegistryIssuer, max_depth: int = 16) -> list[ChainLink]:
    """The accreditors of ``row``, nearest first, up to (and including) the RootTAO."""
    chain: list[ChainLink] = []
    seen, current = {row.address}, row
    while current.accreditor and len(chain) < max_depth and current.accreditor not in seen:
        seen.add(current.accreditor)
        parent = session.get(RegistryIssuer, current.accreditor)
        if parent is None:
            chain.append(ChainLink(address=current.accreditor, kind=None, status="unknown", did=None))
            break
        chain.append(
            ChainLink(address=parent.address, kind=parent.kind, status=parent.status, did=parent.did)
        )
        current = parent
    return chain


def issuer_history(session: Session, address: str) -> list[RegistryEvent]:
    t = RegistryEvent
    return list(
        session.execute(
            _sa.select(t).where(col(t.address) == address).order_by(col(t.block_number), col(t.log_index))
        )
        .scalars()
        .all()
    )


def status_at(
    session: Session, row: RegistryIssuer, *, timestamp: int | None = None, block: int | None = None
) -> StatusAt:
    """Status of ``row`` at a Unix time or a block, from the indexed history (same rule as the contract's
    ``statusAt``: the last change at or before that point; ``none`` before accreditation)."""
    t = RegistryEvent
    q = _sa.select(t).where(col(t.address) == row.address)
    q = q.where(col(t.block_number) <= block) if block is not None else q.where(col(t.timestamp) <= timestamp)
    last = (
        session.execute(q.order_by(col(t.block_number).desc(), col(t.log_index).desc()).limit(1))
        .scalars()
        .first()
    )
    status = last.new_status if last else "none"
    when = timestamp if block is None else (last.timestamp if last else None)
    within = None
    if timestamp is not None:
        within = row.valid_from <= timestamp and (row.valid_until == 0 or timestamp < row.valid_until)
    return StatusAt(
        address=row.address,
        kind=row.kind,
        status=status,
        within_validity=within,
        active_ti=bool(row.kind == "ti" and status == "active" and (within is None or within)),
        at=TimePoint(timestamp) if block is None else None,
        block=block,
        set_by=history_event(last) if last else None,
        as_of=when,
    )


def issuer_anchors(session: Session, address: str, limit: int = 50, offset: int = 0) -> AnchorPage:
    t = RegistryAnchor
    count, leaves = session.execute(
        _sa.select(_sa.func.count(), _sa.func.coalesce(_sa.func.sum(col(t.leaf_count)), 0)).where(
            col(t.issuer) == address
        )
    ).one()
    order = (col(t.block_number), col(t.log_index))
    first = (
        session.execute(_sa.select(t).where(col(t.issuer) == address).order_by(*order).limit(1))
        .scalars()
        .first()
    )
    last = (
        session.execute(
            _sa.select(t)
            .where(col(t.issuer) == address)
            .order_by(col(t.block_number).desc(), col(t.log_index).desc())
            .limit(1)
        )
        .scalars()
        .first()
    )
    items = (
        session.execute(
            _sa.select(t).where(col(t.issuer) == address).order_by(*order).limit(limit).offset(offset)
        )
        .scalars()
        .all()
    )
    return AnchorPage(
        address=address,
        count=int(count),
        leaves=int(leaves),
        first=anchor_event(first) if first else None,
        last=anchor_event(last) if last else None,
        items=[anchor_event(a) for a in items],
        limit=limit,
        offset=offset,
    )


def accreditation_tree(session: Session) -> list[TreeNode]:
    """Every indexed entry as a forest rooted at the RootTAOs (children in accreditation order)."""
    rows = (
        session.execute(
            _sa.select(RegistryIssuer).order_by(
                col(RegistryIssuer.accredited_block), col(RegistryIssuer.address)
            )
        )
        .scalars()
        .all()
    )
    nodes = {
        r.address: TreeNode(
            address=r.address,
            kind=r.kind,
            status=r.status,
            did=r.did,
            country=r.country,
            accreditor=r.accreditor,
        )
        for r in rows
    }
    roots: list[TreeNode] = []
    for r in rows:
        parent = nodes.get(r.accreditor) if r.accreditor else None
        (parent.children if parent is not None and parent is not nodes[r.address] else roots).append(
            nodes[r.address]
        )
    return roots


EXPORT_COLUMNS = [
    "address",
    "kind",
    "current_status",
    "accreditor",
    "did",
    "country",
    "valid_from",
    "valid_until",
    "document_hash",
    "scope",
    "action",
    "status",
    "previous_status",
    "by",
    "reason",
    "reason_hash",
    "block_number",
    "block_hash",
    "tx_hash",
    "log_index",
    "timestamp",
    "time",
]


def export_rows(session: Session) -> list[dict]:
    """One row per registry event, with the issuer's current entry alongside (the CSV export)."""
    issuers = {r.address: r for r in session.execute(_sa.select(RegistryIssuer)).scalars()}
    t = RegistryEvent
    out = []
    for ev in session.execute(_sa.select(t).order_by(col(t.block_number), col(t.log_index))).scalars():
        r = issuers.get(ev.address)
        out.append(
            {
                "address": ev.address,
                "kind": r.kind if r else "",
                "current_status": r.status if r else "",
                "accreditor": (r.accreditor or "") if r else "",
                "did": r.did if r else "",
                "country": (r.country or "") if r else "",
                "valid_from": r.valid_from if r else "",
                "valid_until": r.valid_until if r else "",
                "document_hash": r.document_hash if r else "",
                "scope": r.scope if r else "",
                "action": ev.action,
                "status": ev.new_status,
                "previous_status": ev.previous_status or "",
                "by": ev.by or "",
                "reason": ev.reason or "",
                "reason_hash": ev.reason_hash or "",
                "block_number": ev.block_number,
                "block_hash": ev.block_hash,
                "tx_hash": ev.tx_hash,
                "log_index": ev.log_index,
                "timestamp": ev.timestamp,
                "time": iso(ev.timestamp),
            }
        )
    return out


def export_document(session: Session) -> dict:
    """The whole index as one JSON document (``credreg-registry-export/1``): every entry with its full history,
    and how far the indexer had followed the chain."""
    rows = (
        session.execute(
            _sa.select(RegistryIssuer).order_by(
                col(RegistryIssuer.accredited_block), col(RegistryIssuer.address)
            )
        )
        .scalars()
        .all()
    )
    history: dict[str, list] = {}
    t = RegistryEvent
    for ev in session.execute(_sa.select(t).order_by(col(t.block_number), col(t.log_index))).scalars():
        history.setdefault(ev.address, []).append(_export_event(history_event(ev)))
    position = index_position(session)
    return {
        "format": "credreg-registry-export/1",
        "issuers": [{**_export_entry(issuer_entry(r)), "history": history.get(r.address, [])} for r in rows],
        "index": None
        if position is None
        else {
            "lastBlock": position.last_block,
            "lastBlockHash": position.last_block_hash,
            "reorgs": position.reorgs,
        },
    }


# The export document is a file format of its own (``credreg-registry-export/1``): its members are spelled out
# here rather than borrowed from the API's response models, so that neither changes when the other does.
def _export_entry(e: IssuerEntry) -> dict:
    return {
        "address": e.address,
        "kind": e.kind,
        "status": e.status,
        "accreditor": e.accreditor,
        "did": e.did,
        "validFrom": e.valid_from,
        "validUntil": e.valid_until,
        "documentHash": e.document_hash,
        "scope": e.scope,
        "scopeJson": e.scope_json,
        "country": e.country,
        "accredited": {
            "block": e.accredited.block,
            "tx": e.accredited.tx,
            "timestamp": e.accredited.timestamp,
            "time": iso(e.accredited.timestamp),
        },
        "updated": {
            "block": e.updated.block,
            "timestamp": e.updated.timestamp,
            "time": iso(e.updated.timestamp),
        },
    }


def _export_event(ev: HistoryEvent) -> dict:
    return {
        "action": ev.action,
        "status": ev.status,
        "previousStatus": ev.previous_status,
        "by": ev.by,
        "reason": ev.reason,
        "reasonHash": ev.reason_hash,
        "block": ev.block,
        "blockHash": ev.block_hash,
        "tx": ev.tx,
        "logIndex": ev.log_index,
        "timestamp": ev.timestamp,
        "time": iso(ev.timestamp),
    }
