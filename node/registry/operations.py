"""Registry operations against the chain (accredit, suspend, reinstate, revoke, show, list) and plain-English explanations of the contract's refusals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.chain.contracts import ZERO_ADDRESS, IssuerEntry, IssuerKind, IssuerRegistry, IssuerStatus
from anchoring.chain.transactions import TransactionSender
from anchoring.errors import ContractRevert
from anchoring.scheme.encoding import to_hex
from anchoring.scheme.keccak import keccak256

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
