"""Optional credential profiles checked at issuance (``?profile=...`` or ``CREDREG_DEFAULT_PROFILE``).

``eu-microcredential``: the 11 mandatory elements of the Council Recommendation of 16 June 2022 on a European
approach to micro-credentials for lifelong learning and employability (2022/C 243/02, Annex I, part I), looked
for where each vocabulary really puts them (docs/profiles.md has the table and the sources):

* **ELM v3 / Europass EDC** (``EuropeanDigitalCredential``, the edc-ap context): the claim is
  ``credentialSubject.hasClaim`` (a ``LearningAchievement``), its specification ``specifiedBy`` (a
  ``LearningAchievementSpecification`` or ``Qualification``), the assessment ``provenBy``, the awarding
  ``awardedBy``, quality assurance an ``Accreditation`` (``accreditation``), as the European Commission's
  European Learning Model v3 (ontology ELM.ttl, EDC application profile SHACL) defines them;
* **Open Badges 3.0** (``OpenBadgeCredential`` / ``AchievementCredential``): the 1EdTech terms (achievement,
  alignment, results, endorsement, creator, address) and, where OB 3.0 has no term, an ELM term used as a 1EdTech
  data-model extension (declared in ``@context`` with its ELM IRI, e.g. ``mode`` -> elm:mode);
* **plain W3C VC** (neither): the VC data model's own terms, then either of the two above.

Each element of a passing credential reports the JSON Pointer of the value that satisfied it; a missing one names
the element, one short hint and the two or three paths that would satisfy it in the credential's vocabulary.

The check is structural: a value counts when it is not ``null``, not blank, not an empty list/object and not a
language map whose values are all blank. It does not judge content (that a country code exists, that a level is
1-8). VC data-model rules (contexts, types, issuer URL, date formats) are not repeated here.

Path syntax below: dotted keys; arrays are walked transparently (``a.b`` matches ``a[3].b``). Hand-written: a
JSONPath library would add a dependency for the dozen dotted lookups this needs and would not report the
concrete pointer of each match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EU_ELEMENTS",
    "PROFILES",
    "VOCABULARIES",
    "Element",
    "ProfileError",
    "ProfileReport",
    "UnknownProfile",
    "check_profile",
    "detect_vocabulary",
    "evaluate_profile",
    "profile_names",
]

#: vocabulary key -> how messages name it
VOCABULARIES: dict[str, str] = {
    "elm": "ELM v3 / Europass EDC",
    "ob3": "Open Badges 3.0",
    "vc": "W3C VC without a learning vocabulary",
}


@dataclass(frozen=True)
class ProfileError:
    element: str  # stable key, e.g. "learningOutcomes"
    label: str  # the Recommendation's wording
    pointer: str  # JSON Pointer of the first suggested location
    message: str
    hint: str = ""
    paths: tuple[str, ...] = ()  # the two or three suggested paths (dotted), in the credential's vocabulary
    vocabulary: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.element,
            "pointer": self.pointer,
            "element": self.label,
            "message": self.message,
            "hint": self.hint,
            "paths": list(self.paths),
            "vocabulary": self.vocabulary,
        }


@dataclass(frozen=True)
class ProfileReport:
    """The result of one profile on one credential."""

    profile: str
    vocabulary: str  # a VOCABULARIES key
    found: dict[str, str]  # element key -> JSON Pointer of the value that satisfied it (in element order)
    errors: list[ProfileError] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "vocabulary": self.vocabulary,
            "vocabularyLabel": VOCABULARIES[self.vocabulary],
            "passed": self.passed,
            "elements": dict(self.found),
            "missing": [e.element for e in self.errors],
        }


class UnknownProfile(ValueError):
    pass


# ------------------------------------------------------------------------------------------- lookups
def _escape(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def _find(node: Any, keys: tuple[str, ...], ptr: str) -> Iterator[tuple[str, Any]]:
    """Every (pointer, value) reached by the dotted ``keys``; arrays on the way and at the end are walked."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _find(item, keys, f"{ptr}/{i}")
        return
    if not keys:
        yield ptr, node
        return
    if isinstance(node, dict) and keys[0] in node:
        yield from _find(node[keys[0]], keys[1:], f"{ptr}/{_escape(keys[0])}")


def _present(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, str):
        return bool(v.strip())
    if isinstance(v, dict):
        return any(_present(x) for x in v.values())
    if isinstance(v, list):
        return any(_present(x) for x in v)
    return True  # numbers, booleans


def _types(node: Any) -> list[str]:
    t = node.get("type") if isinstance(node, dict) else None
    if isinstance(t, str):
        return [t]
    return [x for x in t if isinstance(x, str)] if isinstance(t, list) else []


def _contexts(cred: dict) -> list[str]:
    ctx = cred.get("@context")
    items = ctx if isinstance(ctx, list) else [ctx]
    return [c for c in items if isinstance(c, str)]


# ------------------------------------------------------------------------------------------- vocabulary
_ELM_CONTEXT = "data.europa.eu/snb/model/context"
_OB3_CONTEXT = "purl.imsglobal.org/spec/ob/v3p0"


def detect_vocabulary(cred: dict) -> str:
    """``elm`` (ELM v3 / EDC), ``ob3`` (Open Badges 3.0) or ``vc`` (a plain W3C VC), from type and @context."""
    types = set(_types(cred))
    contexts = _contexts(cred)
    if "EuropeanDigitalCredential" in types or any(_ELM_CONTEXT in c for c in contexts):
        return "elm"
    if types & {"OpenBadgeCredential", "AchievementCredential"} or any(_OB3_CONTEXT in c for c in contexts):
        return "ob3"
    return "vc"


# ------------------------------------------------------------------------------------------- value tests
_LEVEL_TEXT = re.compile(r"\b(EQF|QF-EHEA|NQF|European Qualifications? Framework)\b", re.IGNORECASE)
_LEVEL_URL = ("data.europa.eu/snb/eqf/", "data.europa.eu/snb/qdr/")
_MODE_URL = "data.europa.eu/snb/learning-assessment/"  # EDC controlled list: modes of learning and assessment


def _iri_or_node(v: Any) -> bool:
    """An ELM term used as an OB 3.0 extension holds what ELM puts there: a concept IRI or a node (an object)."""
    return isinstance(v, dict) or (isinstance(v, str) and ":" in v and " " not in v.strip())


def _eqf_concept(v: Any) -> bool:
    """An EQF level as ELM writes it: the concept ``http://data.europa.eu/snb/eqf/<n>`` (as IRI or node id)."""
    iri = v.get("id") if isinstance(v, dict) else v
    return isinstance(iri, str) and "data.europa.eu/snb/eqf/" in iri


def _alignment_text(a: dict) -> str:
    return " ".join(str(a.get(k, "")) for k in ("targetFramework", "targetName", "targetCode"))


def _is_level_alignment(a: Any) -> bool:
    if not isinstance(a, dict):
        return False
    url = str(a.get("targetUrl", ""))
    return bool(_LEVEL_TEXT.search(_alignment_text(a))) or any(u in url for u in _LEVEL_URL)


def _is_mode_alignment(a: Any) -> bool:
    return isinstance(a, dict) and _MODE_URL in str(a.get("targetUrl", ""))


def _is_outcome_alignment(a: Any) -> bool:
    """An alignment to a skill, competency or objective: anything named but a level or a learning mode."""
    return (
        isinstance(a, dict)
        and (_present(a.get("targetName")) or _present(a.get("targetUrl")))
        and not _is_level_alignment(a)
        and not _is_mode_alignment(a)
    )


# ------------------------------------------------------------------------------------------- elements
@dataclass(frozen=True)
class Path:
    path: str  # dotted, from the credential root
    test: Callable[[Any], bool] | None = None  # extra condition on each value found
    show: bool = True  # suggested in the message of a missing element (the first two or three shown ones)
    note: str = ""  # said with the path when suggested, e.g. "(an alignment to an ESCO skill)"

    def matches(self, cred: dict) -> str | None:
        """The pointer of the first value at this path that counts, or None."""
        for ptr, value in _find(cred, tuple(self.path.split(".")), ""):
            if _present(value) and (self.test is None or self.test(value)):
                return ptr
        return None

    @property
    def pointer(self) -> str:
        return "/" + "/".join(_escape(k) for k in self.path.split("."))

    def shown(self) -> str:
        return f"{self.path} {self.note}".strip()


@dataclass(frozen=True)
class Element:
    key: str
    label: str  # the Recommendation's wording
    paths: dict[str, tuple[Path, ...]]  # vocabulary -> accepted paths, most specific first
    hints: dict[str, str]  # vocabulary -> one short hint


def P(path: str, test: Callable[[Any], bool] | None = None, *, show: bool = True, note: str = "") -> Path:
    return Path(path, test, show, note)


# ELM v3: the claim, and its specification (directly, or through the learning opportunity taken)
C = "credentialSubject.hasClaim"
S = f"{C}.specifiedBy"
S2 = f"{C}.learningOpportunity.learningAchievementSpecification"
# Open Badges 3.0: the achievement
A = "credentialSubject.achievement"
ELM_EXT = "(ELM term as an OB 3.0 extension)"


def _spec(tail: str, *, show: bool = True) -> tuple[Path, Path]:
    """An ELM specification property, on ``specifiedBy`` or on the learning opportunity's specification."""
    return P(f"{S}.{tail}", show=show), P(f"{S2}.{tail}", show=False)


_ELEMENT_TABLE: tuple[tuple[str, str, dict[str, tuple[Path, ...]], dict[str, str]], ...] = (
    (
        "learnerIdentification",
        "identification of the learner",
        {
            "elm": (
                P("credentialSubject.fullName"),
                P("credentialSubject.nationalID"),
                P("credentialSubject.identifier"),
                P("credentialSubject.givenName", show=False),
                P("credentialSubject.familyName", show=False),
                P("credentialSubject.eIDASIdentifier", show=False),
            ),
            "ob3": (
                P("credentialSubject.id"),
                P("credentialSubject.identifier.identityHash", note="(an IdentityObject)"),
                P("credentialSubject.familyName", show=False),
                P("credentialSubject.givenName", show=False),
            ),
            "vc": (P("credentialSubject.id"),),
        },
        {
            "elm": "the Person's name or an identifier",
            "ob3": "the recipient's id (a DID) or an IdentityObject",
            "vc": "the subject's id",
        },
    ),
    (
        "title",
        "title of the micro-credential",
        {
            "elm": (P(f"{C}.title"), *_spec("title")),
            "ob3": (P(f"{A}.name"),),
            "vc": (P("name"),),
        },
        {
            "elm": "the title of the LearningAchievement or of its specification",
            "ob3": "the achievement's name",
            "vc": "the credential's name",
        },
    ),
    (
        "issuerCountry",
        "country(ies)/region of the issuer",
        {
            "elm": (
                P("issuer.location.address.countryCode"),
                P(f"{C}.awardedBy.awardingBody.location.address.countryCode"),
                P("issuer.location.spatialCode"),
                P(f"{C}.awardedBy.location", show=False),
            ),
            "ob3": (
                P("issuer.address.addressCountryCode"),
                P("issuer.address.addressCountry"),
                P(f"{A}.creator.address.addressCountryCode"),
                P("issuer.address.addressRegion", show=False),
                P(f"{A}.creator.address.addressCountry", show=False),
                P(f"{A}.creator.address.addressRegion", show=False),
            ),
            "vc": (),
        },
        {
            "elm": "the countryCode of the issuer's or awarding body's address",
            "ob3": "the issuer's Address (addressCountryCode)",
            "vc": "no VC term: an issuer address",
        },
    ),
    (
        "awardingBody",
        "awarding body(ies)",
        {
            "elm": (P(f"{C}.awardedBy.awardingBody.legalName"), P("issuer.legalName")),
            "ob3": (P("issuer.name"), P(f"{A}.creator.name")),
            "vc": (P("issuer.name"),),
        },
        {
            "elm": "the awarding body's legalName",
            "ob3": "the issuer's (or the achievement creator's) name",
            "vc": "the issuer's name",
        },
    ),
    (
        "dateOfIssuing",
        "date of issuing",
        {
            "elm": (
                P("issued"),
                P("issuanceDate"),
                P(f"{C}.awardedBy.awardingDate"),
                P("validFrom", show=False),
            ),
            "ob3": (P("validFrom"), P("awardedDate"), P("issuanceDate")),
            "vc": (P("validFrom"), P("issuanceDate")),
        },
        {
            "elm": "the issuing date or the awarding date",
            "ob3": "validFrom (or awardedDate)",
            "vc": "validFrom",
        },
    ),
    (
        "learningOutcomes",
        "learning outcomes",
        {
            "elm": (*_spec("learningOutcome"), *_spec("learningOutcomeSummary")),
            "ob3": (
                P(
                    f"{A}.alignment",
                    _is_outcome_alignment,
                    note="(a skill or competency, e.g. an ESCO skill URL)",
                ),
                P(f"{A}.learningOutcome", lambda v: isinstance(v, dict), note=ELM_EXT),
                P(f"{A}.resultDescription.alignment", _is_outcome_alignment, show=False),
            ),
            "vc": (),
        },
        {
            "elm": "the LearningOutcome list of the specification",
            "ob3": "an alignment of the achievement to the skills it certifies",
            "vc": "no VC term: learning outcomes",
        },
    ),
    (
        "workload",
        "notional workload needed to achieve the learning outcomes (in ECTS, wherever possible)",
        {
            "elm": (
                *_spec("creditPoint"),
                *_spec("volumeOfLearning"),
                P(f"{C}.creditReceived"),
                P(f"{C}.influencedBy.workload", show=False),
            ),
            "ob3": (
                P(f"{A}.creditsAvailable"),
                P("credentialSubject.creditsEarned"),
                P(f"{A}.creditPoint", lambda v: isinstance(v, dict), show=False),
                P(f"{A}.volumeOfLearning", show=False),
            ),
            "vc": (),
        },
        {
            "elm": "a CreditPoint (ECTS framework) or the volumeOfLearning",
            "ob3": "creditsAvailable (ECTS wherever possible)",
            "vc": "no VC term: credits or hours",
        },
    ),
    (
        "level",
        "level (and cycle) of the learning experience (EQF, QF-EHEA), if applicable",
        {
            "elm": (*_spec("eqfLevel"), *_spec("nqfLevel"), *_spec("educationLevel")),
            "ob3": (
                P(
                    f"{A}.alignment",
                    _is_level_alignment,
                    note="(targetUrl http://data.europa.eu/snb/eqf/<n>, targetFramework EQF)",
                ),
                P(f"{A}.eqfLevel", _eqf_concept, note=ELM_EXT),
                P(f"{A}.nqfLevel", _iri_or_node, show=False),
            ),
            "vc": (),
        },
        {
            "elm": "the eqfLevel (or nqfLevel) of the specification",
            "ob3": "an alignment to the EQF level",
            "vc": "no VC term: the EQF level",
        },
    ),
    (
        "assessment",
        "type of assessment",
        {
            "elm": (
                P(f"{C}.provenBy.specifiedBy.dcType"),
                P(f"{C}.provenBy.title"),
                P(f"{C}.provenBy.specifiedBy.title"),
            ),
            "ob3": (P(f"{A}.resultDescription"), P("credentialSubject.result")),
            "vc": (),
        },
        {
            "elm": "the LearningAssessment that proves the claim (provenBy), with its type",
            "ob3": "the achievement's resultDescription (what is assessed, how it is graded)",
            "vc": "no VC term: the assessment",
        },
    ),
    (
        "participation",
        "form of participation in the learning activity",
        {
            "elm": (*_spec("mode"), P(f"{C}.influencedBy.specifiedBy.mode")),
            "ob3": (
                P(f"{A}.mode", _iri_or_node, note=ELM_EXT),
                P(
                    f"{A}.alignment",
                    _is_mode_alignment,
                    note="(targetUrl in http://data.europa.eu/snb/learning-assessment/)",
                ),
            ),
            "vc": (),
        },
        {
            "elm": "the mode (online, blended, in person) of the specification or learning activity",
            "ob3": "OB 3.0 has no term: the ELM mode as an extension of the achievement",
            "vc": "no VC term: the mode of participation",
        },
    ),
    (
        "qualityAssurance",
        "type of quality assurance used to underpin the micro-credential",
        {
            "elm": (
                *_spec("accreditation"),
                P("issuer.accreditation"),
                P(f"{C}.awardedBy.awardingBody.accreditation"),
                P("evidence.accreditation", show=False),
            ),
            "ob3": (
                P(f"{A}.endorsement", note="(an EndorsementCredential by the QA body)"),
                P("issuer.endorsement"),
                P(f"{A}.accreditation", _iri_or_node, note=ELM_EXT),
                P("endorsement", show=False),
                P(f"{A}.endorsementJwt", show=False),
                P("issuer.endorsementJwt", show=False),
                P(f"{A}.creator.endorsement", show=False),
                P("issuer.accreditation", _iri_or_node, show=False),
            ),
            "vc": (),
        },
        {
            "elm": "an Accreditation of the qualification or of the awarding organisation",
            "ob3": "an endorsement by the quality-assurance body (or an ELM accreditation)",
            "vc": "no VC term: quality assurance",
        },
    ),
)


def _with_fallback(own: dict[str, tuple[Path, ...]]) -> dict[str, tuple[Path, ...]]:
    """A plain VC accepts its own terms, then the OB 3.0 and the ELM ones (suggesting the first of each)."""
    vc_own = own["vc"]
    taken = {p.path for p in vc_own}
    first: list[Path] = []
    for vocabulary in ("ob3", "elm"):
        shown = [p for p in own[vocabulary] if p.show and p.path not in taken][:1]
        first += shown
        taken.update(p.path for p in shown)
    rest = [Path(p.path, p.test, False, p.note) for p in (*own["ob3"], *own["elm"]) if p.path not in taken]
    return {**own, "vc": (*vc_own, *first, *rest)}


EU_ELEMENTS: tuple[Element, ...] = tuple(
    Element(key, label, _with_fallback(paths), hints) for key, label, paths, hints in _ELEMENT_TABLE
)


def _suggested(el: Element, vocabulary: str) -> list[Path]:
    shown = [p for p in el.paths[vocabulary] if p.show]
    return shown[:3]


def _check_eu_microcredential(cred: dict) -> ProfileReport:
    vocabulary = detect_vocabulary(cred)
    found: dict[str, str] = {}
    errors: list[ProfileError] = []
    for el in EU_ELEMENTS:
        hit = next((ptr for p in el.paths[vocabulary] if (ptr := p.matches(cred)) is not None), None)
        if hit is not None:
            found[el.key] = hit
            continue
        suggested = _suggested(el, vocabulary)
        hint = el.hints[vocabulary]
        shown = " or ".join(p.shown() for p in suggested)
        errors.append(
            ProfileError(
                element=el.key,
                label=el.label,
                pointer=suggested[0].pointer if suggested else "",
                message=f"missing EU micro-credential element '{el.label}' ({VOCABULARIES[vocabulary]}): "
                f"{hint}; add {shown}",
                hint=hint,
                paths=tuple(p.path for p in suggested),
                vocabulary=vocabulary,
            )
        )
    return ProfileReport("eu-microcredential", vocabulary, found, errors)


PROFILES: dict[str, Callable[[dict], ProfileReport]] = {
    "eu-microcredential": _check_eu_microcredential,
}


def profile_names() -> list[str]:
    return sorted(PROFILES)


def _profile(name: str) -> Callable[[dict], ProfileReport]:
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfile(f"unknown profile {name!r}; known: {', '.join(profile_names())}") from None


def evaluate_profile(name: str | None, credential: dict) -> ProfileReport | None:
    """The report of profile ``name`` on ``credential`` (None = no profile). Raises UnknownProfile."""
    if not name:
        return None
    return _profile(name)(credential)


def check_profile(name: str | None, credential: dict) -> list[ProfileError]:
    """Errors of ``credential`` against profile ``name`` (empty list = conforms; None = no profile)."""
    report = evaluate_profile(name, credential)
    return report.errors if report is not None else []
