"""The human content of a credential (title, holder, issuer, ECTS, EQF, outcomes, assessment, dates) from the
three shapes the node accepts: ELM v3 / EDC, Open Badges 3.0 and a plain W3C VC.

The paths are the ones the EU micro-credential profile (``node.issuance.profiles``) accepts for the same Annex I
elements, read here for display: ELM ``credentialSubject.hasClaim`` (``title``, ``specifiedBy.creditPoint``,
``specifiedBy.eqfLevel``, ``specifiedBy.learningOutcome``, ``provenBy``), OB 3.0 ``credentialSubject.achievement``
(``name``, ``creditsAvailable``, ``alignment``, ``resultDescription``). Language maps (``{"en": ...}``) give their
English text, else the first one. Nothing here is trusted: it is what the credential says, shown beside the checks.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from anchoring.verify.paths import walk_path
from node.issuance.envelopes import EnvelopeError, open_envelope
from node.issuance.profiles import detect_vocabulary

__all__ = ["HumanView", "human_view"]

_EQF_URL = re.compile(r"data\.europa\.eu/snb/eqf/(\d)\b")
_TEXT_KEYS = ("prefLabel", "noteLiteral", "title", "name", "legalName", "targetName", "value")


@dataclass(frozen=True)
class HumanView:
    vocabulary: str  # elm | ob3 | vc
    title: str | None = None
    description: str | None = None
    holder: str | None = None
    issuer_name: str | None = None
    ects: str | None = None
    eqf: str | None = None
    outcomes: tuple[str, ...] = field(default_factory=tuple)
    assessment: str | None = None
    issued: str | None = None
    valid_until: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["outcomes"] = list(self.outcomes)
        return out


def _text(v: Any) -> str | None:
    """Display text of a value: a string, a language map (English first), or a node's label."""
    if isinstance(v, str):
        return v.strip() or None
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return f"{v:g}"
    if isinstance(v, list):
        for item in v:
            t = _text(item)
            if t:
                return t
        return None
    if isinstance(v, dict):
        for key in _TEXT_KEYS:
            if key in v:
                t = _text(v[key])
                if t:
                    return t
        if "@value" in v:
            return _text(v["@value"])
        if all(isinstance(k, str) and len(k) <= 8 and "@" not in k for k in v) and v:
            # a language map: {"en": "...", "de": "..."}
            if "en" in v and isinstance(v["en"], str):
                return _text(v["en"])
            strings = [x for x in v.values() if isinstance(x, str)]
            return _text(strings[0]) if strings else None
    return None


def _first(cred: dict, *paths: str) -> str | None:
    for path in paths:
        for v in walk_path(cred, path):
            t = _text(v)
            if t:
                return t
    return None


def _all(cred: dict, *paths: str) -> tuple[str, ...]:
    seen: list[str] = []
    for path in paths:
        for v in walk_path(cred, path):
            t = _text(v)
            if t and t not in seen:
                seen.append(t)
    return tuple(seen)


def _person(cred: dict, base: str) -> str | None:
    full = _first(cred, f"{base}.fullName", f"{base}.name")
    if full:
        return full
    parts = [_first(cred, f"{base}.givenName"), _first(cred, f"{base}.familyName")]
    return " ".join(p for p in parts if p) or None


def _eqf_of(v: Any) -> str | None:
    if isinstance(v, dict):
        for key in ("id", "targetUrl", "targetCode"):
            m = _EQF_URL.search(str(v.get(key, "")))
            if m:
                return m.group(1)
        framework = _text(v.get("targetFramework"))
        if (framework and "eqf" in framework.lower().replace(" ", "")) or (
            framework and "european qualifications" in framework.lower()
        ):
            digits = re.findall(r"\d", _text(v.get("targetName")) or _text(v.get("targetCode")) or "")
            if digits:
                return digits[0]
    if isinstance(v, str):
        m = _EQF_URL.search(v)
        if m:
            return m.group(1)
    return None


def _ects_elm(cred: dict) -> str | None:
    for path in (
        "credentialSubject.hasClaim.specifiedBy.creditPoint",
        "credentialSubject.hasClaim.creditReceived",
    ):
        for cp in walk_path(cred, path):
            if isinstance(cp, dict) and cp.get("point") is not None:
                framework = _text(cp.get("framework")) or ""
                if not framework or "ects" in framework.lower() or "european credit" in framework.lower():
                    return _text(cp["point"])
    return None


def _elm(cred: dict) -> HumanView:
    c = "credentialSubject.hasClaim"
    s = f"{c}.specifiedBy"
    eqf = next((e for v in walk_path(cred, f"{s}.eqfLevel") if (e := _eqf_of(v))), None)
    outcomes = _all(cred, f"{s}.learningOutcome.title", f"{s}.learningOutcome.relatedESCOSkill")
    grade = _first(cred, f"{c}.provenBy.grade")
    method = _first(
        cred, f"{c}.provenBy.title", f"{c}.provenBy.specifiedBy.title", f"{c}.provenBy.specifiedBy.dcType"
    )
    assessment = ", ".join(x for x in (method, f"grade: {grade}" if grade else None) if x) or None
    return HumanView(
        vocabulary="elm",
        title=_first(cred, f"{c}.title", f"{s}.title", "displayParameter.title", "title", "name"),
        description=_first(cred, f"{c}.description", f"{s}.description", "displayParameter.description"),
        holder=_person(cred, "credentialSubject"),
        issuer_name=_first(cred, f"{c}.awardedBy.awardingBody.legalName", "issuer.legalName", "issuer.name"),
        ects=_ects_elm(cred),
        eqf=eqf,
        outcomes=outcomes,
        assessment=assessment,
        issued=_first(cred, "issued", "issuanceDate", "validFrom", f"{c}.awardedBy.awardingDate"),
        valid_until=_first(cred, "validUntil", "expirationDate"),
    )


def _ob3(cred: dict) -> HumanView:
    a = "credentialSubject.achievement"
    eqf = next(
        (
            e
            for path in (f"{a}.alignment", f"{a}.eqfLevel")
            for v in walk_path(cred, path)
            if (e := _eqf_of(v))
        ),
        None,
    )
    outcomes = tuple(
        t
        for v in walk_path(cred, f"{a}.alignment")
        if isinstance(v, dict) and not _eqf_of(v) and (t := _text(v.get("targetName")))
    ) + _all(cred, f"{a}.learningOutcome.title")
    result = _all(cred, "credentialSubject.result.value")
    method = _first(cred, f"{a}.resultDescription.name", f"{a}.criteria.narrative")
    assessment = (
        ", ".join(x for x in (method, f"result: {', '.join(result)}" if result else None) if x) or None
    )
    return HumanView(
        vocabulary="ob3",
        title=_first(cred, f"{a}.name", "name"),
        description=_first(cred, f"{a}.description", "description"),
        holder=_person(cred, "credentialSubject"),
        issuer_name=_first(cred, "issuer.name", f"{a}.creator.name"),
        ects=_first(cred, f"{a}.creditsAvailable", "credentialSubject.creditsEarned"),
        eqf=eqf,
        outcomes=tuple(dict.fromkeys(outcomes)),
        assessment=assessment,
        issued=_first(cred, "validFrom", "awardedDate", "issuanceDate"),
        valid_until=_first(cred, "validUntil", "expirationDate"),
    )


def _vc(cred: dict) -> HumanView:
    return HumanView(
        vocabulary="vc",
        title=_first(cred, "name", "credentialSubject.achievement.name", "credentialSubject.hasClaim.title"),
        description=_first(cred, "description"),
        holder=_person(cred, "credentialSubject"),
        issuer_name=_first(cred, "issuer.name"),
        issued=_first(cred, "validFrom", "issuanceDate"),
        valid_until=_first(cred, "validUntil", "expirationDate"),
    )


def _payload(cred: Any) -> Any:
    """The credential inside a sealed EDC (JAdES / JWS JSON envelope), else ``cred`` itself."""
    if isinstance(cred, dict) and "payload" in cred and ("signatures" in cred or "signature" in cred):
        try:
            opened = open_envelope(cred)
        except (EnvelopeError, ValueError):
            return cred
        if opened is not None:
            return opened.credential
    return cred


def human_view(cred: Any) -> HumanView:
    """The human content of ``cred`` (None fields where the credential says nothing); a sealed EDC is read from its
    payload."""
    cred = _payload(cred)
    if not isinstance(cred, dict):
        return HumanView(vocabulary="vc")
    vocabulary = detect_vocabulary(cred)
    if vocabulary == "elm":
        return _elm(cred)
    if vocabulary == "ob3":
        return _ob3(cred)
    return _vc(cred)
