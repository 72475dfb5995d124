"""Reason codes for revocation and suspension (RFC 5280 plus academic reasons) and request parsing."""

from __future__ import annotations

from node.errors import Invalid
from node.storage.revocation_tables import StatusAction

#: RFC 5280 CRLReason codes (7 is unused there, 8 removeFromCRL is only meaningful for reinstate)
RFC5280_REASONS = {
    "unspecified": 0,
    "keyCompromise": 1,
    "affiliationChanged": 3,
    "superseded": 4,
    "cessationOfOperation": 5,
    "certificateHold": 6,
    "removeFromCRL": 8,
    "privilegeWithdrawn": 9,
}


#: academic reasons, codes 100-199 (uint8 on chain)
ACADEMIC_REASONS = {
    "fraud": 100,  # credential obtained by fraud (forged documents, impersonation)
    "administrativeError": 101,  # issued in error (wrong learner, wrong course, wrong grade)
    "academicMisconduct": 102,  # plagiarism, cheating, found after award
    "programmeWithdrawn": 103,  # the course / programme lost its accreditation
    "learnerRequest": 104,  # withdrawn at the learner's request
    "underInvestigation": 105,  # suspension while a case is examined
    "disciplinaryAction": 106,  # suspension or revocation after a disciplinary decision
}


REASONS = {**RFC5280_REASONS, **ACADEMIC_REASONS}


REASON_NAMES = {v: k for k, v in REASONS.items()}


DEFAULT_REASON = {"revoke": "unspecified", "suspend": "certificateHold", "reinstate": "removeFromCRL"}


def invalid_field(field: str, message: str) -> Invalid:
    """An :class:`Invalid` naming one request field (``reason``, ``digests``)."""
    pointer = "/" + field.replace(".", "/") if field else ""
    return Invalid(message, [{"pointer": pointer, "field": field, "message": message}])


def parse_action(value) -> str:
    try:
        return StatusAction(value).value
    except ValueError:
        raise invalid_field("action", "action must be one of revoke, suspend, reinstate") from None


def parse_reason(value, action: str, field: str = "reason") -> int:
    """A reason name (``keyCompromise``, ``fraud``, ...) or its code -> the uint8 code stored on chain."""
    if value is None:
        value = DEFAULT_REASON[action]
    if isinstance(value, bool):
        raise invalid_field(field, "reason must be a reason code name")
    if isinstance(value, int):
        if value not in REASON_NAMES:
            raise invalid_field(field, f"unknown reason code {value}")
        name = REASON_NAMES[value]
    elif isinstance(value, str) and value in REASONS:
        name = value
    else:
        raise invalid_field(field, f"unknown reason {str(value)[:60]!r}; one of {', '.join(REASONS)}")
    if action == "reinstate":
        if name not in ("removeFromCRL", "unspecified"):
            raise invalid_field(field, "reinstate takes no reason (or removeFromCRL)")
        return 0
    if name == "removeFromCRL":
        raise invalid_field(field, "removeFromCRL is only for reinstate")
    if action == "revoke" and name == "certificateHold":
        raise invalid_field(field, "certificateHold is a suspension; use suspend")
    return REASONS[name]
