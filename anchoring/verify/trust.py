"""The one rule that decides whether an issuer was trusted when it anchored."""

from __future__ import annotations

from collections.abc import Sequence

from anchoring.verify.context import AnchorInfo, IssuerInfo
from anchoring.verify.report import iso_time


def active_at_block(entry: IssuerInfo, history: Sequence[tuple[int, int, str]],
                    record: AnchorInfo) -> tuple[bool, str]:
    """Was `entry` an active TI, within its validity window, when `record`'s block was mined?

    Decided by *block*, not by second: the registry's ``wasActiveTIAt(account, time)`` looks up the last
    status change at or before a timestamp, so a suspension mined in the same second as (but after) the
    anchoring reads as "not active at anchoring time".  Here the status in force is the last change in an
    earlier block; a change *in* the anchoring block counts as active if any change in that block is to
    ACTIVE or the status before the block was ACTIVE (the order inside one block is not recorded in the
    history, and the anchor contract only accepts active TIs).
    """
    if entry.kind != "TI":
        return False, f"registered as {entry.kind}, not as a trusted issuer (TI)"
    at = record.anchored_at
    if not (entry.valid_from <= at and (entry.valid_until == 0 or at < entry.valid_until)):
        return False, (f"outside its accreditation validity window ({iso_time(entry.valid_from)} to "
                       f"{iso_time(entry.valid_until) if entry.valid_until else 'open'})")
    before = [st for _t, blk, st in history if blk < record.block]
    same = [st for _t, blk, st in history if blk == record.block]
    status_before = before[-1] if before else "NONE"
    if status_before == "ACTIVE" or "ACTIVE" in same:
        return True, "ACTIVE"
    return False, f"its status was {status_before}"
