"""The one rule that decides whether an issuer was trusted when it anchored, used by the verifier and by the
regulator's audit alike.

Decided by *block order*, never by second. The registry's ``wasActiveTIAt(account, time)`` looks up the last
status change at or before a timestamp, so a suspension mined in the same second as (but after) an anchoring
would read as "not active at anchoring time". Here the status in force at an anchoring is the last change in
an earlier block; a change *in* the anchoring block counts as active if any change in that block is to Active
or the status before the block was Active. (The order of transactions inside one block is not recorded in the
history; the anchor contract accepts only active TIs, so an anchor in that block proves the TI was active when
its transaction ran.)

Accreditors: suspending or revoking a TAO takes away its powers (it can no longer accredit or change anyone's
status) but does not un-trust the TIs it accredited while it was in good standing; a RootTAO acts on those TIs
directly (see docs/security.md). The accreditation chain's status at anchoring time is reported alongside, for
the reader to weigh, by :func:`accreditors_at`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from anchoring.chain.records import AnchorRecord, IssuerEntry, IssuerKind, IssuerStatus, StatusChange
from anchoring.verify.report import iso_time

__all__ = [
    "AccreditorAtAnchoring",
    "TrustAtAnchoring",
    "accreditors_at",
    "status_at_block",
    "trusted_at_anchoring",
]


@dataclass(frozen=True)
class TrustAtAnchoring:
    trusted: bool
    status: IssuerStatus  # the status in force when the anchoring block was mined
    reason: str


def status_at_block(history: Sequence[StatusChange], block: int) -> IssuerStatus:
    """The status in force for a transaction mined in `block`, by block order (see the module docstring)."""
    before = [c.status for c in history if c.block_number < block]
    same = [c.status for c in history if c.block_number == block]
    status_before = before[-1] if before else IssuerStatus.NONE
    if status_before == IssuerStatus.ACTIVE or IssuerStatus.ACTIVE in same:
        return IssuerStatus.ACTIVE
    return status_before


def trusted_at_anchoring(
    entry: IssuerEntry | None, history: Sequence[StatusChange], anchor: AnchorRecord
) -> TrustAtAnchoring:
    """Was `entry` an active TI, within its accreditation validity window, when `anchor`'s block was mined?"""
    if entry is None:
        return TrustAtAnchoring(False, IssuerStatus.NONE, f"{anchor.issuer} is not in the IssuerRegistry")
    if entry.kind != IssuerKind.TI:
        return TrustAtAnchoring(
            False, entry.status, f"registered as {entry.kind.title}, not as a trusted issuer (TI)"
        )
    at = anchor.anchored_at
    if not entry.within_validity(at):
        until = _iso(entry.valid_until) if entry.valid_until else "open"
        return TrustAtAnchoring(
            False,
            entry.status,
            f"outside its accreditation validity window ({_iso(entry.valid_from)} to {until})",
        )
    status = status_at_block(history, anchor.block_number)
    if status == IssuerStatus.ACTIVE:
        return TrustAtAnchoring(True, status, "active")
    return TrustAtAnchoring(False, status, f"its status was {status.label}")


@dataclass(frozen=True)
class AccreditorAtAnchoring:
    account: str
    kind: IssuerKind
    did: str
    status_then: IssuerStatus
    status_now: IssuerStatus


def accreditors_at(
    entry: IssuerEntry,
    block: int,
    lookup: Callable[[str], IssuerEntry | None],
    history: Callable[[str], Sequence[StatusChange]],
    max_depth: int = 8,
) -> list[AccreditorAtAnchoring]:
    """The accreditation chain of `entry` up to a RootTAO, each with its status at `block` and now."""
    out: list[AccreditorAtAnchoring] = []
    seen = {entry.account.lower()}
    current = entry
    while current.accreditor and len(out) < max_depth and current.accreditor.lower() not in seen:
        seen.add(current.accreditor.lower())
        parent = lookup(current.accreditor)
        if parent is None:
            break
        out.append(
            AccreditorAtAnchoring(
                parent.account,
                parent.kind,
                parent.did,
                status_at_block(history(parent.account), block),
                parent.status,
            )
        )
        current = parent
    return out


def _iso(ts: int) -> str:
    return iso_time(ts) or ""
