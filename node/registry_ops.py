"""Registry operations against the chain (accredit, suspend, reinstate, revoke, show, list) and plain-English
explanations of the contract's refusals. Used by ``credreg registry``; no database needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.contracts import ZERO_ADDRESS, IssuerEntry, IssuerKind, IssuerRegistry, IssuerStatus
from anchoring.errors import ChainError, ContractRevert
from anchoring.hashing import to_hex
from anchoring.keccak import keccak256
from anchoring.transactions import TransactionSender

__all__ = [
    "KIND_NAMES",
    "STATUS_NAMES",
    "OperationResult",
    "accredit",
    "change_status",
    "explain_revert",
    "issuer_report",
    "kind_from_name",
    "kind_name",
    "list_issuers",
    "parse_time",
    "reason_hash",
    "status_from_name",
    "status_name",
]

KIND_NAMES = {IssuerKind.ROOT_TAO: "root-tao", IssuerKind.TAO: "tao", IssuerKind.TI: "ti"}
STATUS_NAMES = {IssuerStatus.NONE: "none", IssuerStatus.ACTIVE: "active", IssuerStatus.SUSPENDED: "suspended",
                IssuerStatus.REVOKED: "revoked"}
_KIND_LABEL = {IssuerKind.ROOT_TAO: "RootTAO", IssuerKind.TAO: "TAO", IssuerKind.TI: "TI", IssuerKind.NONE: "None"}


def kind_name(kind: int) -> str:
    return KIND_NAMES.get(IssuerKind(kind), "none")


def status_name(status: int) -> str:
    return STATUS_NAMES[IssuerStatus(status)]


def kind_from_name(name: str) -> IssuerKind:
    key = name.strip().lower().replace("_", "-")
    for kind, n in KIND_NAMES.items():
        if key in (n, n.replace("-", "")):
            return kind
    raise ValueError(f"unknown kind {name!r}: expected ti, tao or root-tao")


def status_from_name(name: str) -> IssuerStatus:
    key = name.strip().lower()
    for status, n in STATUS_NAMES.items():
        if key == n and status != IssuerStatus.NONE:
            return status
    raise ValueError(f"unknown status {name!r}: expected active, suspended or revoked")


def reason_hash(reason: str | None) -> bytes:
    """keccak256 of the UTF-8 reason text (zero when there is none): only the hash goes on chain."""
    return keccak256(reason.encode()) if reason else b"\0" * 32


def parse_time(value: str | int | None) -> int:
    """Unix seconds from an int, a numeric string or an ISO 8601 time (naive = UTC); 0 for empty."""
    if value is None or value == "":
        return 0
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a Unix time or ISO 8601 date/time: {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def _label(value: Any) -> str:
    try:
        return _KIND_LABEL[IssuerKind(int(value))]
    except (ValueError, TypeError):
        return str(value)


def _status_label(value: Any) -> str:
    try:
        return STATUS_NAMES[IssuerStatus(int(value))]
    except (ValueError, TypeError):
        return str(value)


def explain_revert(exc: ContractRevert, action: str | None = None) -> str:
    """One line a regulator understands for each of the registry's custom errors."""
    p = {k: (Web3.to_checksum_address(v) if isinstance(v, str) and Web3.is_address(v) else v)
         for k, v in exc.params.items()}
    name = exc.error
    if name == "NotAccreditor":
        kind = IssuerKind(int(p.get("kind", 0)))
        who = "an active TAO or RootTAO" if kind == IssuerKind.TI else "an active RootTAO"
        return f"{p.get('caller')} may not accredit a {_label(kind)}: only {who} can"
    if name == "NotAuthorized":
        return (f"{p.get('caller')} may not {action or 'change the status of'} {p.get('account')}: "
                f"only the entry's accreditor or an active RootTAO can")
    if name == "AlreadyRegistered":
        return f"{p.get('account')} is already registered (entries are never reused, even after revocation)"
    if name == "UnknownIssuer":
        return f"{p.get('account')} is not in the registry"
    if name == "InvalidKind":
        return f"invalid kind {_label(p.get('kind'))}: expected RootTAO, TAO or TI"
    if name == "InvalidAccreditation":
        return "invalid accreditation: the address is zero or the validity window is empty (valid-until must be after valid-from)"
    if name == "InvalidStatusTransition":
        current, requested = _status_label(p.get("current")), _status_label(p.get("requested"))
        hint = {"revoked": " (revocation is final)"}.get(current, "")
        if current == requested:
            hint = f" (it is {current} already)"
        elif current == "active" and requested == "active":
            hint = " (only a suspended entry can be reinstated)"
        return f"cannot move {p.get('account')} from {current} to {requested}{hint}"
    if name == "Error":
        return f"the contract refused: {p.get('message')}"
    return f"the contract refused: {exc}"


@dataclass(frozen=True)
class OperationResult:
    action: str
    account: str
    tx_hash: str
    block_number: int
    gas_used: int
    document_hash: str | None = None
    scope: str | None = None

    def to_dict(self) -> dict:
        names = {"tx_hash": "txHash", "block_number": "blockNumber", "gas_used": "gasUsed",
                 "document_hash": "documentHash"}
        return {names.get(k, k): v for k, v in self.__dict__.items() if v is not None}


def accredit(w3: Web3, registry: IssuerRegistry, signer: LocalAccount, account: str, kind: IssuerKind, did: str,
             document_hash: bytes, scope: str, valid_from: int = 0, valid_until: int = 0,
             confirmations: int = 1) -> OperationResult:
    """Send ``accredit`` signed by ``signer``; ContractRevert (decoded) when the contract refuses."""
    account = Web3.to_checksum_address(account)
    sender = TransactionSender(w3, signer)
    conf = sender.transact(registry.accredit(account, kind, did, document_hash, scope, valid_from, valid_until),
                           confirmations=max(1, confirmations))
    return OperationResult("accredit", account, to_hex(bytes(conf.receipt["transactionHash"])), conf.block_number,
                           conf.gas_used, to_hex(document_hash), scope)


def change_status(w3: Web3, registry: IssuerRegistry, signer: LocalAccount, action: str, account: str,
                  reason: str | None = None, confirmations: int = 1) -> OperationResult:
    """``suspend`` | ``reinstate`` | ``revoke`` ``account``, with keccak256(reason) on chain."""
    account = Web3.to_checksum_address(account)
    fn = {"suspend": registry.suspend, "reinstate": registry.reinstate, "revoke": registry.revoke}[action]
    sender = TransactionSender(w3, signer)
    conf = sender.transact(fn(account, reason_hash(reason)), confirmations=max(1, confirmations))
    return OperationResult(action, account, to_hex(bytes(conf.receipt["transactionHash"])), conf.block_number,
                           conf.gas_used)


def entry_dict(entry: IssuerEntry) -> dict:
    return {
        "address": entry.account,
        "kind": kind_name(entry.kind),
        "status": status_name(entry.status),
        "accreditor": None if entry.accreditor == ZERO_ADDRESS else entry.accreditor,
        "did": entry.did,
        "validFrom": entry.valid_from,
        "validUntil": entry.valid_until or None,
        "documentHash": to_hex(entry.document_hash),
        "scope": entry.scope,
        "historyLength": entry.history_length,
    }


def issuer_report(registry: IssuerRegistry, account: str, max_depth: int = 16) -> dict:
    """Entry + status history + chain of accreditors up to the RootTAO, read from the chain."""
    account = Web3.to_checksum_address(account)
    entry = registry.get_issuer(account)
    history = [{"timestamp": h.timestamp, "time": _iso(h.timestamp), "block": h.block_number,
                "status": status_name(h.status), "by": None if h.by == ZERO_ADDRESS else h.by}
               for h in registry.history(account)]
    chain = []
    seen = {account}
    current = entry
    while current.accreditor != ZERO_ADDRESS and len(chain) < max_depth:
        if current.accreditor in seen:
            break
        seen.add(current.accreditor)
        try:
            current = registry.get_issuer(current.accreditor)
        except ContractRevert:
            chain.append({"address": current.accreditor, "kind": "unknown", "status": "unknown"})
            break
        chain.append({"address": current.account, "kind": kind_name(current.kind),
                      "status": status_name(current.status), "did": current.did})
    return {"issuer": entry_dict(entry), "history": history, "accreditationChain": chain,
            "activeTINow": registry.is_active_ti(account)}


def list_issuers(registry: IssuerRegistry, kind: IssuerKind | None = None,
                 status: IssuerStatus | None = None) -> list[dict]:
    out = []
    for address in registry.accounts():
        entry = registry.get_issuer(address)
        if kind is not None and entry.kind != kind:
            continue
        if status is not None and entry.status != status:
            continue
        out.append(entry_dict(entry))
    return out


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ += ["ChainError", "entry_dict"]


# =========================================================================================================
# Reading the index (the database the indexer fills): used by the registry API and exports.
# =========================================================================================================
import sqlalchemy as _sa

from node.registry_models import (
    RegistryAnchor,
    RegistryEvent,
    RegistryIssuer,
)

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
