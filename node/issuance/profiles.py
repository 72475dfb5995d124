"""Optional credential profiles checked at issuance (``?profile=...`` or ``CREDREG_DEFAULT_PROFILE``).

``eu-microcredential``: the 11 mandatory elements of the Council Recommendation of 16 June 2022 on a
European approach to micro-credentials (2022/C 243/02, Annex I, part I). Every missing element is
named; the accepted locations for Open Badges 3.0 and Europass ELM v3 shapes are documented in
``docs/profiles.md`` and listed in each error message.

Path syntax used below: dotted keys; arrays are walked transparently (``a.b`` matches ``a[3].b``).
``@A`` stands for every *achievement node* of the credential:
OB 3.0 ``credentialSubject.achievement``; ELM v3 ``credentialSubject.hasClaim`` /
``credentialSubject.learningAchievement`` / ``credentialSubject.achievements`` and the
``specifiedBy`` specification of each of these.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["EU_ELEMENTS", "PROFILES", "ProfileError", "UnknownProfile", "check_profile", "profile_names"]


@dataclass(frozen=True)
class ProfileError:
    element: str  # stable key, e.g. "learningOutcomes"
    label: str  # the Recommendation's wording
    pointer: str  # JSON pointer of the preferred location (OB 3.0 shape or ELM shape)
    message: str

    def as_dict(self) -> dict:
        return {
            "field": self.element,
            "pointer": self.pointer,
            "element": self.label,
            "message": self.message,
        }


class UnknownProfile(ValueError):
    pass


_MISSING = object()


def _walk(nodes: Iterable[Any], key: str) -> list[Any]:
    out: list[Any] = []
    for node in nodes:
        if isinstance(node, list):
            out.extend(_walk(node, key))
        elif isinstance(node, dict) and key in node:
            v = node[key]
            out.extend(v if isinstance(v, list) else [v])
    return out


def _resolve(roots: list[Any], path: str) -> list[Any]:
    nodes = roots
    for key in path.split("."):
        if not key:
            continue
        nodes = _walk(nodes, key)
        if not nodes:
            return []
    return nodes


def _present(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, str):
        return bool(v.strip())
    if isinstance(v, (list, dict)):
        return any(_present(x) for x in (v.values() if isinstance(v, dict) else v))
    return True  # numbers, booleans


def _achievement_nodes(cred: dict) -> list[Any]:
    subj = [cred.get("credentialSubject")]
    nodes: list[dict[str, Any]] = []
    for key in ("achievement", "hasClaim", "learningAchievement", "achievements", "learningAchievements"):
        nodes.extend(x for x in _resolve(subj, key) if isinstance(x, dict))
    specs = [x for x in _resolve(nodes, "specifiedBy") if isinstance(x, dict)]
    return nodes + specs


def _types(node: Any) -> list[str]:
    t = node.get("type") if isinstance(node, dict) else None
    return [t] if isinstance(t, str) else [x for x in t or [] if isinstance(x, str)]


_LEVEL_RE = re.compile(r"\b(EQF|QF-EHEA|NQF)\b|/snb/eqf/|/snb/qf", re.IGNORECASE)
_COMPETENCY_TYPES = {"ceasn:competency", "ceterms:competency", "cfitem", "cfrubriccriterion", "competency"}


def _alignments(ach: list[Any]) -> list[dict]:
    return [a for a in _resolve(ach, "alignment") if isinstance(a, dict)]


def _level_alignment(cred: dict, ach: list[Any]) -> bool:
    for a in _alignments(ach):
        text = " ".join(
            str(a.get(k, "")) for k in ("targetFramework", "targetName", "targetCode", "targetUrl")
        )
        if _LEVEL_RE.search(text):
            return True
    return False


def _outcome_alignment(cred: dict, ach: list[Any]) -> bool:
    for a in _alignments(ach):
        if str(a.get("targetType", "")).lower() in _COMPETENCY_TYPES:
            return True
        if "esco" in str(a.get("targetFramework", "")).lower() or "/esco/" in str(a.get("targetUrl", "")):
            return True
    return False


def _assessment_claim(cred: dict, ach: list[Any]) -> bool:
    # ELM: a LearningAchievement derived from a LearningAssessment (with its specification)
    for node in _resolve(ach, "wasDerivedFrom"):
        if isinstance(node, dict) and (
            "LearningAssessment" in _types(node) or _present(node.get("specifiedBy"))
        ):
            return True
    return False


@dataclass(frozen=True)
class Element:
    key: str
    label: str
    ob_pointer: str
    paths: tuple[str, ...]  # "@A.x" = x on any achievement node; otherwise from the credential root
    predicates: tuple[Callable[[dict, list[Any]], bool], ...] = ()


EU_ELEMENTS: tuple[Element, ...] = (
    Element(
        "learnerIdentification",
        "identification of the learner",
        "/credentialSubject/id",
        (
            "credentialSubject.id",
            "credentialSubject.identifier",
            "credentialSubject.fullName",
            "credentialSubject.name",
            "credentialSubject.givenName",
            "credentialSubject.familyName",
        ),
    ),
    Element(
        "title",
        "title of the micro-credential",
        "/credentialSubject/achievement/name",
        ("@A.name", "@A.title"),
    ),
    Element(
        "issuerCountry",
        "country(ies)/region of the issuer",
        "/issuer/address/addressCountry",
        (
            "issuer.address.addressCountry",
            "issuer.address.addressCountryCode",
            "issuer.address.addressRegion",
            "issuer.location.address.countryCode",
            "issuer.location.address.addressCountry",
            "@A.creator.address.addressCountry",
            "@A.creator.address.addressCountryCode",
            "@A.awardedBy.awardingBody.location.address.countryCode",
            "@A.awardedBy.location.address.countryCode",
            "@A.awardedBy.awardingLocation",
            "issuerCountry",
            "issuer.country",
        ),
    ),
    Element(
        "awardingBody",
        "awarding body(ies)",
        "/issuer/name",
        (
            "issuer.name",
            "issuer.legalName",
            "issuer.prefLabel",
            "@A.creator.name",
            "@A.awardedBy.awardingBody.legalName",
            "@A.awardedBy.awardingBody.name",
            "@A.awardedBy.awardingBody.prefLabel",
            "awardingBody",
        ),
    ),
    Element(
        "dateOfIssuing",
        "date of issuing",
        "/validFrom",
        (
            "validFrom",
            "issuanceDate",
            "issued",
            "awardedDate",
            "credentialSubject.awardedDate",
            "@A.awardedBy.awardingDate",
        ),
    ),
    Element(
        "learningOutcomes",
        "learning outcomes",
        "/credentialSubject/achievement/learningOutcomes",
        ("@A.learningOutcomes", "@A.learningOutcome", "@A.learningOutcomeSummary"),
        (_outcome_alignment,),
    ),
    Element(
        "workload",
        "notional workload needed to achieve the learning outcomes (in ECTS, wherever possible)",
        "/credentialSubject/achievement/creditsAvailable",
        (
            "@A.creditsAvailable",
            "@A.ects",
            "@A.ectsCredits",
            "@A.workload",
            "@A.notionalWorkload",
            "@A.creditPoint",
            "@A.creditPoints",
            "@A.volumeOfLearning",
            "credentialSubject.creditsEarned",
        ),
    ),
    Element(
        "level",
        "level (and cycle) of the learning experience (EQF, QF-EHEA), if applicable",
        "/credentialSubject/achievement/eqfLevel",
        ("@A.eqfLevel", "@A.nqfLevel", "@A.qfLevel", "@A.qfEheaLevel", "@A.level", "@A.educationLevel"),
        (_level_alignment,),
    ),
    Element(
        "assessment",
        "type of assessment",
        "/credentialSubject/achievement/assessmentType",
        (
            "@A.assessmentType",
            "@A.typeOfAssessment",
            "@A.assessment",
            "@A.assessmentMethod",
            "credentialSubject.assessmentType",
        ),
        (_assessment_claim,),
    ),
    Element(
        "participation",
        "form of participation in the learning activity",
        "/credentialSubject/achievement/participationForm",
        (
            "@A.participationForm",
            "@A.formOfParticipation",
            "@A.mode",
            "@A.learningSetting",
            "@A.modeOfStudy",
            "@A.modeOfDelivery",
            "@A.deliveryMode",
            "credentialSubject.participationForm",
        ),
    ),
    Element(
        "qualityAssurance",
        "type of quality assurance used to underpin the micro-credential",
        "/credentialSubject/achievement/qualityAssurance",
        (
            "@A.qualityAssurance",
            "@A.typeOfQualityAssurance",
            "@A.accreditation",
            "@A.hasAccreditation",
            "@A.awardedBy.awardingBody.accreditation",
            "issuer.accreditation",
            "issuer.qualityAssurance",
            "qualityAssurance",
        ),
    ),
)


def _check_eu_microcredential(cred: dict) -> list[ProfileError]:
    ach = _achievement_nodes(cred)
    root = [cred]
    errors: list[ProfileError] = []
    for el in EU_ELEMENTS:
        found = False
        for path in el.paths:
            vals = _resolve(ach, path[3:]) if path.startswith("@A.") else _resolve(root, path)
            if any(_present(v) for v in vals):
                found = True
                break
        if not found:
            found = any(pred(cred, ach) for pred in el.predicates)
        if not found:
            accepted = ", ".join(p.replace("@A.", "<achievement>.") for p in el.paths)
            errors.append(
                ProfileError(
                    element=el.key,
                    label=el.label,
                    pointer=el.ob_pointer,
                    message=f"missing mandatory EU micro-credential element: {el.label} (accepted: {accepted})",
                )
            )
    return errors


PROFILES: dict[str, Callable[[dict], list[ProfileError]]] = {
    "eu-microcredential": _check_eu_microcredential,
}


def profile_names() -> list[str]:
    return sorted(PROFILES)


def check_profile(name: str | None, credential: dict) -> list[ProfileError]:
    """Errors of ``credential`` against profile ``name`` (empty list = conforms; None = no profile)."""
    if not name:
        return []
    try:
        fn = PROFILES[name]
    except KeyError:
        raise UnknownProfile(f"unknown profile {name!r}; known: {', '.join(profile_names())}") from None
    return fn(credential)
