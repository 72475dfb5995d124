"""The verification report: named checks (pass / fail / error with a reason, never a bare boolean), a verdict
(``valid`` iff every check passes, ``invalid`` if any fails, otherwise ``error``) and a summary of the facts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

__all__ = [
    "CHECKS",
    "ERROR",
    "FAIL",
    "INVALID",
    "NOT_ANCHORED",
    "PASS",
    "UNANCHORED_CHECKS",
    "VALID",
    "Check",
    "VerificationReport",
    "iso_time",
    "plural",
    "skipped",
]

PASS, FAIL, ERROR = "pass", "fail", "error"
VALID, INVALID = "valid", "invalid"
#: the verdict of a plain signed credential whose every check passed but that no anchor was found for
NOT_ANCHORED = "signed-not-anchored"

#: the checks of a bundle report, in order
CHECKS = (
    "format",
    "integrity",
    "inclusion",
    "anchored",
    "issuer_trusted",
    "not_revoked",
    "issuer_matches",
    "signature",
    "validity_period",
    "status_list",
    "scope",
    "joint",
    "stack",
)
#: the checks of a plain signed credential for which no anchor was found
UNANCHORED_CHECKS = ("format", "signature", "validity_period", "status_list")


@lru_cache(maxsize=1024)
@lru_cache(maxsize=1024)  # a run's anchors share a few timestamps; each report quotes them several times
def iso_time(ts: int | None) -> str | None:
    """Unix seconds as ISO 8601 UTC (``2026-11-23T19:40:02Z``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Check:
    name: str
    status: str  # pass | fail | error
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "reason": self.reason, "details": self.details}


@dataclass
class VerificationReport:
    checks: list[Check]
    summary: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # e.g. a file name (CLI) or the index in a batch
    #: False for a plain signed credential for which no anchor was found (verdict ``signed-not-anchored``
    #: when every check it has passes)
    anchor_found: bool = True
    #: not in the JSON: what a stack credential names (its ``stack`` check is decided from the other reports of
    #: the run, :func:`anchoring.verify.stack.resolve_stacks`) and the credential
    #: (an ``anchoring.verify.stack.StackSpec``; typed loosely so that report does not import stack, which imports
    #: report)
    stack: Any = field(default=None, repr=False)
    credential_json: Any = field(default=None, repr=False)  # the credential, for its ECTS as a component

    @property
    def verdict(self) -> str:
        """``valid`` iff every check passes (and an anchor was found), ``invalid`` if any fails, ``error``
        if any could not be decided, ``signed-not-anchored`` for a plain credential whose checks all pass
        but that no anchor was found for."""
        states = {c.status for c in self.checks}
        if states == {PASS}:
            return VALID if self.anchor_found else NOT_ANCHORED
        if FAIL in states:
            return INVALID
        return ERROR

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def __getitem__(self, name: str) -> Check:
        return self.check(name)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.status == FAIL]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict}
        if self.source is not None:
            out["source"] = self.source
        out["summary"] = self.summary
        out["checks"] = [c.to_dict() for c in self.checks]
        return out

    def to_json_bytes(self) -> bytes:
        """:meth:`to_dict` as compact UTF-8 JSON: orjson writes the checks as the dataclasses they are (no dict per
        check); the standard library writes what orjson refuses (integers beyond 64 bits quoted from a document)."""
        import orjson

        doc: dict[str, Any] = {"verdict": self.verdict}
        if self.source is not None:
            doc["source"] = self.source
        doc["summary"] = self.summary
        doc["checks"] = self.checks
        try:
            return orjson.dumps(doc)
        except TypeError:
            return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def skipped(name: str, because: Sequence[str]) -> Check:
    return Check(
        name,
        ERROR,
        f"not checked: depends on {', '.join(because)}, which did not pass",
        {"skipped": True, "depends_on": list(because)},
    )
