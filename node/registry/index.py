"""Reading the registry index (the tables the indexer fills): issuers, history, status at a time, anchors, exports."""

from __future__ import annotations

import sqlalchemy as _sa

from node.registry.operations import _iso
from node.storage.registry_tables import RegistryAnchor, RegistryEvent, RegistryIssuer

INDEX_KINDS = ("root-tao", "tao", "ti")


INDEX_STATUSES = ("active", "suspended", "revoked")


def iso(ts: int | None) -> str | None:
    return None if ts is None else _iso(int(ts))


def index_issuer_dict(row: RegistryIssuer) -> dict:
    import json as _json

    try:
        scope_json = _json.loads(row.scope) if row.scope and row.scope not in ("*",) else None
    except ValueError:
        scope_json = None
    return {
        "address": row.address,
        "kind": row.kind,
        "status": row.status,
        "accreditor": row.accreditor,
        "did": row.did,
        "validFrom": row.valid_from,
        "validUntil": row.valid_until or None,
        "documentHash": row.document_hash,
        "scope": row.scope,
        "scopeJson": scope_json,
        "country": row.country,
        "accredited": {"block": row.accredited_block, "tx": row.accredited_tx, "timestamp": row.accredited_at,
                       "time": iso(row.accredited_at)},
        "updated": {"block": row.updated_block, "timestamp": row.updated_at, "time": iso(row.updated_at)},
    }


def event_dict(ev: RegistryEvent) -> dict:
    return {
        "action": ev.action,
        "status": ev.new_status,
        "previousStatus": ev.previous_status,
        "by": ev.by,
        "reasonHash": ev.reason_hash,
        "block": ev.block_number,
        "blockHash": ev.block_hash,
        "tx": ev.tx_hash,
        "logIndex": ev.log_index,
        "timestamp": ev.timestamp,
        "time": iso(ev.timestamp),
    }


def anchor_dict(a: RegistryAnchor) -> dict:
    return {"root": a.root, "issuer": a.issuer, "leafCount": a.leaf_count, "block": a.block_number,
            "blockHash": a.block_hash, "tx": a.tx_hash, "logIndex": a.log_index, "timestamp": a.timestamp,
            "time": iso(a.timestamp)}


def query_issuers(session, *, kind: str | None = None, status: str | None = None, accreditor: str | None = None,
                  country: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[RegistryIssuer], int]:
    t = RegistryIssuer
    conds = []
    if kind:
        conds.append(t.kind == kind)
    if status:
        conds.append(t.status == status)
    if accreditor:
        conds.append(t.accreditor == accreditor)
    if country:
        conds.append(t.country == country.upper())
    total = session.execute(_sa.select(_sa.func.count()).select_from(t).where(*conds)).scalar() or 0
    rows = session.execute(
        _sa.select(t).where(*conds).order_by(t.accredited_block, t.address).limit(limit).offset(offset)
    ).scalars().all()
    return list(rows), int(total)


def get_index_issuer(session, address: str) -> RegistryIssuer | None:
    return session.get(RegistryIssuer, address)


def accreditation_chain(session, row: RegistryIssuer, max_depth: int = 16) -> list[dict]:
    """The accreditors of ``row``, nearest first, up to (and including) the RootTAO."""
    chain, seen, current = [], {row.address}, row
    while current.accreditor and len(chain) < max_depth and current.accreditor not in seen:
        seen.add(current.accreditor)
        parent = session.get(RegistryIssuer, current.accreditor)
        if parent is None:
            chain.append({"address": current.accreditor, "kind": None, "status": "unknown", "did": None})
            break
        chain.append({"address": parent.address, "kind": parent.kind, "status": parent.status, "did": parent.did})
        current = parent
    return chain


def issuer_history(session, address: str) -> list[RegistryEvent]:
    t = RegistryEvent
    return list(session.execute(
        _sa.select(t).where(t.address == address).order_by(t.block_number, t.log_index)).scalars().all())


def status_at(session, row: RegistryIssuer, *, timestamp: int | None = None, block: int | None = None) -> dict:
    """Status of ``row`` at a Unix time or a block, from the indexed history (same rule as the contract's
    ``statusAt``: the last change at or before that point; ``none`` before accreditation)."""
    t = RegistryEvent
    q = _sa.select(t).where(t.address == row.address)
    if block is not None:
        q = q.where(t.block_number <= block)
    else:
        q = q.where(t.timestamp <= timestamp)
    last = session.execute(q.order_by(t.block_number.desc(), t.log_index.desc()).limit(1)).scalars().first()
    status = last.new_status if last else "none"
    when = timestamp if block is None else (last.timestamp if last else None)
    within = None
    if timestamp is not None:
        within = row.valid_from <= timestamp and (row.valid_until == 0 or timestamp < row.valid_until)
    return {
        "address": row.address,
        "kind": row.kind,
        "status": status,
        "withinValidity": within,
        "activeTI": bool(row.kind == "ti" and status == "active" and (within is None or within)),
        "at": {"timestamp": timestamp, "time": iso(timestamp)} if block is None else None,
        "block": block,
        "setBy": event_dict(last) if last else None,
        "asOfTime": iso(when) if when is not None else None,
    }


def issuer_anchors(session, address: str, limit: int = 50, offset: int = 0) -> dict:
    t = RegistryAnchor
    count, leaves = session.execute(
        _sa.select(_sa.func.count(), _sa.func.coalesce(_sa.func.sum(t.leaf_count), 0)).where(t.issuer == address)).one()
    order = (t.block_number, t.log_index)
    first = session.execute(_sa.select(t).where(t.issuer == address).order_by(*order).limit(1)).scalars().first()
    last = session.execute(_sa.select(t).where(t.issuer == address)
                           .order_by(t.block_number.desc(), t.log_index.desc()).limit(1)).scalars().first()
    items = session.execute(_sa.select(t).where(t.issuer == address).order_by(*order).limit(limit)
                            .offset(offset)).scalars().all()
    return {"address": address, "count": int(count), "leaves": int(leaves),
            "first": anchor_dict(first) if first else None, "last": anchor_dict(last) if last else None,
            "items": [anchor_dict(a) for a in items], "limit": limit, "offset": offset}


def accreditation_tree(session) -> list[dict]:
    """Every indexed entry as a forest rooted at the RootTAOs (children in accreditation order)."""
    rows = session.execute(_sa.select(RegistryIssuer).order_by(RegistryIssuer.accredited_block,
                                                               RegistryIssuer.address)).scalars().all()
    nodes = {r.address: {"address": r.address, "kind": r.kind, "status": r.status, "did": r.did,
                         "country": r.country, "accreditor": r.accreditor, "children": []} for r in rows}
    roots = []
    for r in rows:
        parent = nodes.get(r.accreditor) if r.accreditor else None
        (parent["children"] if parent is not None and parent is not nodes[r.address] else roots).append(nodes[r.address])
    return roots


EXPORT_COLUMNS = ["address", "kind", "current_status", "accreditor", "did", "country", "valid_from", "valid_until",
                  "document_hash", "scope", "action", "status", "previous_status", "by", "reason_hash",
                  "block_number", "block_hash", "tx_hash", "log_index", "timestamp", "time"]


def export_rows(session) -> list[dict]:
    """One row per registry event, with the issuer's current entry alongside (the CSV export)."""
    issuers = {r.address: r for r in session.execute(_sa.select(RegistryIssuer)).scalars()}
    t = RegistryEvent
    out = []
    for ev in session.execute(_sa.select(t).order_by(t.block_number, t.log_index)).scalars():
        r = issuers.get(ev.address)
        out.append({
            "address": ev.address, "kind": r.kind if r else "", "current_status": r.status if r else "",
            "accreditor": (r.accreditor or "") if r else "", "did": r.did if r else "",
            "country": (r.country or "") if r else "", "valid_from": r.valid_from if r else "",
            "valid_until": r.valid_until if r else "", "document_hash": r.document_hash if r else "",
            "scope": r.scope if r else "", "action": ev.action, "status": ev.new_status,
            "previous_status": ev.previous_status or "", "by": ev.by or "", "reason_hash": ev.reason_hash or "",
            "block_number": ev.block_number, "block_hash": ev.block_hash, "tx_hash": ev.tx_hash,
            "log_index": ev.log_index, "timestamp": ev.timestamp, "time": iso(ev.timestamp),
        })
    return out


def export_document(session) -> dict:
    """The whole index as one JSON document: every entry with its full history."""
    rows = session.execute(_sa.select(RegistryIssuer).order_by(RegistryIssuer.accredited_block,
                                                               RegistryIssuer.address)).scalars().all()
    history: dict[str, list] = {}
    t = RegistryEvent
    for ev in session.execute(_sa.select(t).order_by(t.block_number, t.log_index)).scalars():
        history.setdefault(ev.address, []).append(event_dict(ev))
    return {"format": "credreg-registry-export/1",
            "issuers": [{**index_issuer_dict(r), "history": history.get(r.address, [])} for r in rows]}
