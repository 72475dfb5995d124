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
    "PASS",
    "VALID",
    "Check",
    "VerificationReport",
    "iso_time",
    "plural",
    "skipped",
]

PASS, FAIL, ERROR = "pass", "fail", "error"
VALID, INVALID = "valid", "invalid"

#: the checks of a bundle report, in order
CHECKS = ("format", "integrity", "inclusion", "anchored", "issuer_trusted", "not_revoked", "issuer_matches")


@lru_cache(maxsize=1024)
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

    @property
    def verdict(self) -> str:
        states = {c.status for c in self.checks}
        if states == {PASS}:
            return VALID
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
