"""Revocation and suspension reasons in words: the uint8 code the chain stores -> its name and a sentence.

RFC 5280 CRLReason codes (0-10) and credreg's academic reasons (100-199, docs/revocation.md). The node's request
parser (``node.revocation.reasons``) takes the same names; a unit test keeps the two tables equal.
"""

from __future__ import annotations

__all__ = ["REASON_NAMES", "REASON_TEXTS", "reason_name", "reason_words"]

#: code -> name (the names the API and `credreg revoke --reason` take)
REASON_NAMES: dict[int, str] = {
    0: "unspecified",
    1: "keyCompromise",
    3: "affiliationChanged",
    4: "superseded",
    5: "cessationOfOperation",
    6: "certificateHold",
    8: "removeFromCRL",
    9: "privilegeWithdrawn",
    100: "fraud",
    101: "administrativeError",
    102: "academicMisconduct",
    103: "programmeWithdrawn",
    104: "learnerRequest",
    105: "underInvestigation",
    106: "disciplinaryAction",
}

#: code -> what it means, in words
REASON_TEXTS: dict[int, str] = {
    0: "no reason given",
    1: "the issuer's signing key was compromised",
    3: "the holder's affiliation changed",
    4: "replaced by a newer credential",
    5: "the issuer ceased operation",
    6: "on hold",
    8: "taken off hold",
    9: "the privilege it grants was withdrawn",
    100: "obtained by fraud",
    101: "issued in error",
    102: "academic misconduct found after the award",
    103: "the programme was withdrawn",
    104: "withdrawn at the learner's request",
    105: "under investigation",
    106: "disciplinary action",
}


def reason_name(code: int | None) -> str | None:
    """The reason's name (``academicMisconduct``); ``reason <n>`` for a code outside the table; None for None."""
    if code is None:
        return None
    return REASON_NAMES.get(code, f"reason {code}")


def reason_words(code: int | None) -> str | None:
    """``academic misconduct found after the award (academicMisconduct)``; None for None."""
    if code is None:
        return None
    text = REASON_TEXTS.get(code)
    return f"{text} ({REASON_NAMES[code]})" if text else f"an unlisted reason (code {code})"
