"""Registry operations against the chain (accredit, suspend, reinstate, revoke, show, list) and plain-English explanations of the contract's refusals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.chain.contracts import IssuerEntry, IssuerKind, IssuerRegistry, IssuerStatus
from anchoring.chain.transactions import TransactionSender
from anchoring.errors import ContractRevert
from anchoring.scheme.encoding import to_hex


def kind_from_name(name: str) -> IssuerKind:
    """ti | tao | root-tao (also roottao, root_tao) -> IssuerKind."""
    kind = IssuerKind.from_label(name)
    if kind == IssuerKind.NONE:
        raise ValueError(f"unknown kind {name!r}: expected ti, tao or root-tao")
    return kind


def status_from_name(name: str) -> IssuerStatus:
    """active | suspended | revoked -> IssuerStatus."""
    status = IssuerStatus.from_label(name)
    if status == IssuerStatus.NONE:
        raise ValueError(f"unknown status {name!r}: expected active, suspended or revoked")
    return status


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


def _kind(value: Any) -> str:
    try:
        return IssuerKind(int(value)).title
    except (ValueError, TypeError):
        return str(value)


def _status(value: Any) -> str:
    try:
        return IssuerStatus(int(value)).label
    except (ValueError, TypeError):
        return str(value)


def explain_revert(exc: ContractRevert, action: str | None = None) -> str:
    """One line a regulator understands for each of the registry's custom errors."""
    p = {
        k: (Web3.to_checksum_address(v) if isinstance(v, str) and Web3.is_address(v) else v)
        for k, v in exc.params.items()
    }
    name = exc.error
    if name == "NotAccreditor":
        requested_kind = IssuerKind(int(p.get("requestedKind", 0)))
        who = "an active TAO or RootTAO" if requested_kind == IssuerKind.TI else "an active RootTAO"
        return (
            f"{p.get('caller')} ({_kind(p.get('callerKind'))}) may not accredit a {requested_kind.title}: "
            f"only {who} can"
        )
    if name == "NotAuthorized":
        return (
            f"{p.get('caller')} may not {action or 'change'} {p.get('account')}: only the entry's accreditor "
            "(while in good standing), the account itself for its own keys, or an active RootTAO can"
        )
    if name == "InactiveCaller":
        return (
            f"{p.get('caller')} is {_status(p.get('status'))}: an accreditor that is not active has lost its "
            "powers (a RootTAO can act instead)"
        )
    if name == "CallerOutsideValidity":
        return f"{p.get('caller')} is outside its accreditation validity window: it cannot act"
    if name == "LastRootTAO":
        return (
            f"{p.get('account')} is the last active RootTAO: the registry must keep one (accredit another "
            "RootTAO first; see docs/security.md, recovery)"
        )
    if name == "AlreadyRegistered":
        return f"{p.get('account')} is already registered (entries are never reused, even after revocation)"
    if name == "UnknownIssuer":
        return f"{p.get('account')} is not in the registry"
    if name == "InvalidKind":
        return f"invalid kind {_kind(p.get('kind'))}: expected RootTAO, TAO or TI"
    if name == "ZeroAccount":
        return "the zero address cannot be accredited"
    if name == "InvalidValidityWindow":
        return "invalid validity window: valid-until must be after valid-from"
    if name == "InvalidRootTAOValidity":
        return "a RootTAO's accreditation must start now and be open-ended (no valid-from in the future, no valid-until)"
    if name == "InvalidStatusTransition":
        current, requested = _status(p.get("current")), _status(p.get("requested"))
        hint = {"revoked": " (revocation is final)"}.get(current, "")
        if current == requested:
            hint = f" (it is {current} already)"
        elif current == "active" and requested == "active":
            hint = " (only a suspended entry can be reinstated)"
        return f"cannot move {p.get('account')} from {current} to {requested}{hint}"
    if name in ("KeyAlreadyAdded", "KeyAlreadyRevoked", "UnknownKey"):
        what = {
            "KeyAlreadyAdded": "was added before (keys are never re-added)",
            "KeyAlreadyRevoked": "is revoked already",
            "UnknownKey": "was never added",
        }[name]
        return f"verification key {_show(p.get('keyHash'))} of {p.get('account')} {what}"
    if name == "Error":
        return f"the contract refused: {p.get('message')}"
    return f"the contract refused: {exc}"


def _show(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


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
        names = {
            "tx_hash": "txHash",
            "block_number": "blockNumber",
            "gas_used": "gasUsed",
            "document_hash": "documentHash",
        }
        return {names.get(k, k): v for k, v in self.__dict__.items() if v is not None}


def accredit(
    w3: Web3,
    registry: IssuerRegistry,
    signer: LocalAccount,
    account: str,
    kind: IssuerKind,
    did: str,
    document_hash: bytes,
    scope: str,
    valid_from: int = 0,
    valid_until: int = 0,
    confirmations: int = 1,
) -> OperationResult:
    """Send ``accredit`` signed by ``signer``; ContractRevert (decoded) when the contract refuses."""
    account = Web3.to_checksum_address(account)
    sender = TransactionSender(w3, signer)
    conf = sender.transact(
        registry.accredit(account, kind, did, document_hash, scope, valid_from, valid_until),
        confirmations=max(1, confirmations),
    )
    return OperationResult(
        "accredit",
        account,
        to_hex(bytes(conf.receipt["transactionHash"])),
        conf.block_number,
        conf.gas_used,
        to_hex(document_hash),
        scope,
    )


def change_status(
    w3: Web3,
    registry: IssuerRegistry,
    signer: LocalAccount,
    action: str,
    account: str,
    reason: str | None = None,
    confirmations: int = 1,
) -> OperationResult:
    """``suspend`` | ``reinstate`` | ``revoke`` ``account``; the reason text goes into the on-chain event."""
    account = Web3.to_checksum_address(account)
    fn = {"suspend": registry.suspend, "reinstate": registry.reinstate, "revoke": registry.revoke}[action]
    sender = TransactionSender(w3, signer)
    conf = sender.transact(fn(account, reason or ""), confirmations=max(1, confirmations))
    return OperationResult(
        action, account, to_hex(bytes(conf.receipt["transactionHash"])), conf.block_number, conf.gas_used
    )


def entry_dict(entry: IssuerEntry) -> dict:
    return {
        "address": entry.account,
        "kind": entry.kind.label,
        "status": entry.status.label,
        "accreditor": entry.accreditor,
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
    history = [
        {
            "timestamp": h.timestamp,
            "time": _iso(h.timestamp),
            "block": h.block_number,
            "status": h.status.label,
            "by": h.by,
        }
        for h in registry.history(account)
    ]
    chain: list[dict[str, Any]] = []
    seen: set[str] = {account}
    current = entry
    while current.accreditor is not None and len(chain) < max_depth:
        if current.accreditor in seen:
            break
        seen.add(current.accreditor)
        try:
            current = registry.get_issuer(current.accreditor)
        except ContractRevert:
            chain.append({"address": current.accreditor, "kind": "unknown", "status": "unknown"})
            break
        chain.append(
            {
                "address": current.account,
                "kind": current.kind.label,
                "status": current.status.label,
                "did": current.did,
            }
        )
    return {
        "issuer": entry_dict(entry),
        "history": history,
        "accreditationChain": chain,
        "activeTINow": registry.is_active_ti(account),
    }


def list_issuers(
    registry: IssuerRegistry, kind: IssuerKind | None = None, status: IssuerStatus | None = None
) -> list[dict]:
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
