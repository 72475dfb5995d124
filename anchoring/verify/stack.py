"""Stackable credentials: a larger credential made of anchored smaller ones (micro-credentials stacked into a
certificate, never into a full degree), docs/scheme.md section 11.

A stack credential names its components by their anchored digests::

    {"type": ["VerifiableCredential", "OpenBadgeCredential"], ...,
     "stackOf": [{"digest": "0x5f1c...", "ects": 5}, {"digest": "0x9a07..."}]}

* ``stackOf``: 1 to :data:`MAX_COMPONENTS` objects, each with ``digest`` (the component's anchored digest, the
  ``digest`` of its bundle) and, optionally, ``ects`` (the credit the stack counts for it; when stated it must equal
  what the component credential itself states). No digest twice, never the stack's own digest.

The verifier is given the components in the same run (the other bundles of one ``POST /v1/verify`` body, the
other files of one ``credreg verify``): each component's own report decides it. The ``stack`` check passes when
every named component was given and its report is ``valid`` (integrity, anchored, issuer trusted at anchoring, not
revoked, signature and dates when it has them); a component missing or ``invalid`` is a ``fail`` naming its digest,
one whose report is ``error`` makes the check ``error``. ``details.ects_total`` is the sum of the components' ECTS
(read from each component credential with :func:`ects_of`); a stack that states its own ECTS must state that total.

Everything here is pure: no chain, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from anchoring.errors import FormatError
from anchoring.verify.paths import walk_path

if TYPE_CHECKING:
    from anchoring.verify.report import Check, VerificationReport

__all__ = [
    "MAX_COMPONENTS",
    "Component",
    "StackSpec",
    "StatedEcts",
    "detach",
    "ects_json",
    "ects_of",
    "resolve_stacks",
    "stack_check",
    "stack_spec",
]

MAX_COMPONENTS = 50
_DIGEST = re.compile(r"0x[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Component:
    digest: str  # 0x + 64 lower-case hex
    ects: Decimal | None = None  # what the stack states for it (None: not stated)


@dataclass(frozen=True)
class StackSpec:
    components: tuple[Component, ...]


def _ects_value(v: Any) -> Decimal | None:
    """A non-negative finite number (or numeric text, as ELM's ``point`` often is); None otherwise."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        v = str(v)
    if not isinstance(v, str):
        return None
    try:
        d = Decimal(v.strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() and d >= 0 else None


def stack_spec(credential: Any) -> StackSpec | None:
    """The components a credential names (None: not a stack credential). FormatError names a malformed entry."""
    if not isinstance(credential, dict) or "stackOf" not in credential:
        return None
    raw = credential["stackOf"]
    if not isinstance(raw, list) or not raw:
        raise FormatError("stackOf", "expected a non-empty list of {digest, ects?} objects")
    if len(raw) > MAX_COMPONENTS:
        raise FormatError("stackOf", f"a stack has at most {MAX_COMPONENTS} components, not {len(raw)}")
    seen: set[str] = set()
    out = []
    for i, item in enumerate(raw):
        where = f"stackOf[{i}]"
        if not isinstance(item, dict) or not set(item) <= {"digest", "ects"}:
            raise FormatError(where, "expected an object with `digest` and optionally `ects`")
        digest = item.get("digest")
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise FormatError(f"{where}.digest", "expected 0x and 64 hex digits")
        digest = digest.lower()
        if digest in seen:
            raise FormatError(f"{where}.digest", f"component {digest} is named twice")
        seen.add(digest)
        ects = None
        if "ects" in item:
            ects = _ects_value(item["ects"]) if not isinstance(item["ects"], str) else None
            if ects is None:
                raise FormatError(f"{where}.ects", "expected a non-negative number")
        out.append(Component(digest, ects))
    return StackSpec(tuple(out))


# ------------------------------------------------------------------------------------------------ ECTS
# The same paths node.learners.human reads for display (anchoring may not import node): ELM v3
# ``credentialSubject.hasClaim.specifiedBy.creditPoint`` / ``hasClaim.creditReceived`` (``point``, framework ECTS or
# unnamed), Open Badges 3.0 ``credentialSubject.achievement.creditsAvailable`` / ``credentialSubject.creditsEarned``.
_ELM_PATHS = (
    "credentialSubject.hasClaim.specifiedBy.creditPoint",
    "credentialSubject.hasClaim.creditReceived",
)
_OB3_PATHS = ("credentialSubject.achievement.creditsAvailable", "credentialSubject.creditsEarned")


def _framework_text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        for key in ("prefLabel", "title", "name", "id"):
            if key in v:
                return _framework_text(v[key])
        return " ".join(x for x in v.values() if isinstance(x, str))
    if isinstance(v, list):
        return " ".join(_framework_text(x) for x in v)
    return ""


@dataclass(frozen=True)
class StatedEcts:
    """All a stack needs of a component's credential, in place of it in a report that crosses to another process
    (:func:`detach`): the ECTS it states."""

    value: Decimal | None


def detach(report: VerificationReport) -> VerificationReport:
    """`report` with its credential replaced by the ECTS the credential states: what another process needs to
    decide stacks with it, without pickling the whole credential."""
    if isinstance(report.credential_json, StatedEcts):
        return report
    return replace(report, credential_json=StatedEcts(ects_of(report.credential_json)))


def ects_of(credential: Any) -> Decimal | None:
    """The ECTS credit a credential states (ELM v3 or Open Badges 3.0), None when it states none."""
    if isinstance(credential, StatedEcts):
        return credential.value
    if not isinstance(credential, dict):
        return None
    for path in _ELM_PATHS:
        for cp in walk_path(credential, path):
            if isinstance(cp, dict) and cp.get("point") is not None:
                framework = _framework_text(cp.get("framework")).lower()
                if not framework or "ects" in framework or "european credit" in framework:
                    value = _ects_value(cp["point"])
                    if value is not None:
                        return value
    for path in _OB3_PATHS:
        for v in walk_path(credential, path):
            value = _ects_value(v)
            if value is not None:
                return value
    return None


def ects_json(value: Decimal | None) -> int | float | None:
    """ECTS for a report: an integer when whole (5, not 5.0), else a float (2.5)."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


# ------------------------------------------------------------------------------------------------ check
def _best(reports: Sequence[VerificationReport]) -> dict[str, VerificationReport]:
    """Each digest's report (a valid one when the same digest was given more than once)."""
    from anchoring.verify.report import VALID

    by_digest: dict[str, VerificationReport] = {}
    for r in reports:
        digest = r.summary.get("digest")
        if isinstance(digest, str):
            key = digest.lower()
            if key not in by_digest or (r.verdict == VALID and by_digest[key].verdict != VALID):
                by_digest[key] = r
    return by_digest


def _stacked_total(report: VerificationReport) -> Decimal | None:
    """A component that is itself a stack and states no ECTS counts for its components' total."""
    if report.stack is None:
        return None
    for c in report.checks:
        if c.name == "stack" and c.details.get("ects_total") is not None:
            return Decimal(str(c.details["ects_total"]))
    return None


def stack_check(
    spec: StackSpec,
    own_digest: str | None,
    own_ects: Decimal | None,
    given: dict[str, VerificationReport],
    cyclic: frozenset[str] = frozenset(),
) -> Check:
    """The ``stack`` check of a stack credential, from its components' reports (``given``: digest -> report)."""
    from anchoring.verify.report import ERROR, FAIL, PASS, VALID, Check

    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    undecided: list[str] = []
    total = Decimal(0)
    for comp in spec.components:
        row: dict[str, Any] = {"digest": comp.digest, "stated_ects": ects_json(comp.ects)}
        rows.append(row)
        if own_digest is not None and comp.digest == own_digest.lower():
            row.update(given=True, verdict=None)
            problems.append(f"component {comp.digest} is the stack itself")
            continue
        report = given.get(comp.digest)
        if report is None:
            row.update(given=False, verdict=None)
            problems.append(f"component {comp.digest} missing: not given to the verifier")
            continue
        stated = ects_of(report.credential_json)
        ects = stated if stated is not None else _stacked_total(report)
        row.update(
            given=True,
            verdict=report.verdict,
            ects=ects_json(ects),
            issuer=report.summary.get("credential", {}).get("issuer"),
            failed=report.failed,
        )
        if comp.digest in cyclic:
            problems.append(f"component {comp.digest} contains this stack (a cycle)")
            continue
        if ects is not None:
            total += ects
        if report.verdict == ERROR:
            undecided.append(f"component {comp.digest} could not be verified")
        elif not report.anchor_found:
            problems.append(f"component {comp.digest} is not anchored (no anchor found for it)")
        elif report.verdict != VALID:
            failed = [c for c in report.checks if c.status == FAIL]
            why = "; ".join(f"{c.name}: {c.reason}" for c in failed)
            problems.append(f"component {comp.digest} {report.verdict} ({why})")
        if comp.ects is not None and comp.ects != ects:
            have = "none" if ects is None else f"{ects_json(ects)}"
            problems.append(
                f"component {comp.digest}: the stack counts {ects_json(comp.ects)} ECTS, the component states {have}"
            )
    details: dict[str, Any] = {
        "applicable": True,
        "components": rows,
        "ects_total": ects_json(total),
        "stated_ects": ects_json(own_ects),
    }
    if own_ects is not None and own_ects != total and not problems:
        problems.append(
            f"the stack states {ects_json(own_ects)} ECTS, its components add up to {ects_json(total)}"
        )
    n = len(spec.components)
    if problems:
        missing = [r["digest"] for r in rows if not r["given"]]
        return Check("stack", FAIL, "; ".join(problems), {**details, "missing": missing})
    if undecided:
        return Check("stack", ERROR, "; ".join(undecided), details)
    return Check(
        "stack",
        PASS,
        f"a stack of {n} component{'s' if n != 1 else ''}, each anchored, trusted and not revoked: "
        f"{ects_json(total)} ECTS in all",
        details,
    )


def resolve_stacks(reports: Sequence[VerificationReport]) -> None:
    """Decide the ``stack`` check of every stack credential among ``reports`` from the others' reports (the
    components given in the same run); a component that is itself a stack is decided first."""
    if all(r.stack is None for r in reports):
        return
    given = _best(reports)
    done: set[int] = set()

    def resolve(report: VerificationReport, path: tuple[str, ...]) -> None:
        spec = report.stack
        if spec is None or id(report) in done:
            return
        own = report.summary.get("digest")
        own = own.lower() if isinstance(own, str) else None
        chain = (*path, own) if own else path
        cyclic = set()
        for comp in spec.components:
            sub = given.get(comp.digest)
            if sub is None or sub is report:
                continue
            if comp.digest in chain:
                cyclic.add(comp.digest)
            else:
                resolve(sub, chain)
        check = stack_check(spec, own, ects_of(report.credential_json), given, frozenset(cyclic))
        done.add(id(report))
        for i, c in enumerate(report.checks):
            if c.name == "stack":
                report.checks[i] = check

    for report in reports:
        resolve(report, ())
