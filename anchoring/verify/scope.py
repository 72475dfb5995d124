"""The accreditation scope of a trusted issuer against what a credential claims (Europass's "Accredited" check).

A TI's registry entry carries its scope: canonical JSON of the accreditation document's ``scope`` (the document
itself is hashed into ``documentHash``), e.g.::

    {"credentialTypes": ["MicroCredential"], "eqfLevels": [6, 7], "iscedFields": ["0613", "05"], "jurisdiction": "NL"}

Three dimensions are checked; each one the scope names restricts, each one it omits does not:

``credentialTypes``  at least one of the credential's types beyond the base types (``VerifiableCredential``,
                     ``VerifiableAttestation``...) is listed. A credential naming no such type is not restricted.
``eqfLevels``        every EQF level the credential states is listed (``eqfLevel`` / ``EQFLevel`` anywhere in the
                     credential, as an integer, a numeric string, or an ``.../snb/eqf/N`` URI, alone or as ``id``).
``iscedFields``      every ISCED-F field the credential states falls under a listed code (``"06"`` covers ``"0613"``):
                     ``ISCEDFCode``, ``iscedfCode``, ``thematicArea`` (ELM) values, codes or ``.../isced-f/CODE``
                     URIs.

A scope of ``*`` or ``""`` (unrestricted), or one that is not a JSON object, restricts nothing (the report says
which). Pure functions, no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = ["BASE_TYPES", "ScopeResult", "claims_of", "compare", "parse_scope"]

BASE_TYPES = frozenset(
    {"VerifiableCredential", "VerifiableAttestation", "VerifiablePresentation", "EuropeanDigitalCredential"}
)
_EQF_KEYS = frozenset({"eqflevel", "eqf"})
_ISCED_KEYS = frozenset({"iscedfcode", "iscedf", "iscedfield", "thematicarea"})
_EQF_URI = re.compile(r"/eqf/(\d)$")
_ISCED_URI = re.compile(r"/isced-f/(\d{2,4})$")
_ISCED_CODE = re.compile(r"^\d{2,4}$")
_MAX_NODES = 20_000  # a walk bound: credentials are size-limited already, this keeps the check cheap


@dataclass
class Claims:
    """What a credential claims about itself, for the scope comparison."""

    types: list[str] = field(default_factory=list)
    eqf_levels: list[int] = field(default_factory=list)
    isced_fields: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScopeResult:
    within: bool
    reason: str
    details: dict[str, Any]


def parse_scope(scope: str) -> dict[str, Any] | None:
    """The scope as a JSON object, or None when it restricts nothing (``*``, empty, not a JSON object)."""
    text = (scope or "").strip()
    if text in ("", "*"):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


#: compare() only reads the scope: one parse per issuer's scope string, not one per credential verified
_parsed_scope = lru_cache(maxsize=256)(parse_scope)


def _eqf(value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("id", value.get("@id"))
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        match = _EQF_URI.search(text)
        if match:
            return int(match.group(1))
    return None


def _isced(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id", value.get("@id", value.get("code")))
    if isinstance(value, str):
        text = value.strip()
        if _ISCED_CODE.match(text):
            return text
        match = _ISCED_URI.search(text)
        if match:
            return match.group(1)
    return None


_EQF, _ISCED, _OTHER = "eqf", "isced", ""
_KEY_KINDS: dict[str, str] = {}  # key -> kind: a document's keys are mostly the same few hundred names


def _key_kind(key: str) -> str:
    kind = _KEY_KINDS.get(key)
    if kind is None:
        lowered = key.lower().replace("_", "")
        kind = _EQF if lowered in _EQF_KEYS else _ISCED if lowered in _ISCED_KEYS else _OTHER
        if len(_KEY_KINDS) < 10_000:  # bounded: keys come from untrusted documents
            _KEY_KINDS[key] = kind
    return kind


#: an EQF or ISCED-F key in JCS text that was lower-cased and had its underscores removed
_KEY_IN_TEXT = re.compile(b'"(?:' + b"|".join(sorted(k.encode() for k in _EQF_KEYS | _ISCED_KEYS)) + b')":')


def may_state_levels(canonical: bytes) -> bool:
    """Whether the credential whose canonical JSON (JCS) this is has an EQF or ISCED-F key at all. Such a key is
    ASCII letters and underscores only (no other character lower-cases into ASCII letters but the Kelvin sign,
    into "k"), which JCS writes unescaped between quotes and before a colon, as no string value ends."""
    return _KEY_IN_TEXT.search(canonical.lower().replace(b"_", b"")) is not None


def claims_of(credential: dict[str, Any], canonical: bytes | None = None) -> Claims:
    """The credential's types, stated EQF levels and ISCED-F fields (walking the whole document, unless its
    canonical JSON, when given, shows that it cannot state any: most credentials, and a walk of every key)."""
    claims = Claims()
    types = credential.get("type", [])
    claims.types = [t for t in ([types] if isinstance(types, str) else types) if isinstance(t, str)]
    if canonical is not None and not may_state_levels(canonical):
        return claims
    stack: list[Any] = [credential]
    seen = 0
    known = _KEY_KINDS.get  # the walk visits every key of every document verified: lookups kept local
    while stack and seen < _MAX_NODES:
        node = stack.pop()
        seen += 1
        if isinstance(node, dict):
            for key, value in node.items():
                kind = known(key)
                if kind is None:
                    kind = _key_kind(key)
                if kind:  # _OTHER is ""
                    values = value if isinstance(value, list) else [value]
                    if kind == _EQF:
                        claims.eqf_levels += [lvl for v in values if (lvl := _eqf(v)) is not None]
                    else:
                        claims.isced_fields += [code for v in values if (code := _isced(v)) is not None]
                if isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    claims.eqf_levels = sorted(set(claims.eqf_levels))
    claims.isced_fields = sorted(set(claims.isced_fields))
    return claims


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items if isinstance(v, (str, int)) and not isinstance(v, bool)]


def compare(scope_text: str, credential: dict[str, Any], canonical: bytes | None = None) -> ScopeResult:
    """Is `credential` within the scope string of its issuer's registry entry? (`canonical`: its JCS bytes, when
    at hand, spare most credentials the walk of :func:`claims_of`.)"""
    scope = _parsed_scope(scope_text)
    if scope is None:
        return ScopeResult(True, "the issuer's accreditation scope is unrestricted", {"restricted": False})
    claims = claims_of(credential, canonical)
    details: dict[str, Any] = {
        "restricted": True,
        "credential": {
            "types": claims.types,
            "eqfLevels": claims.eqf_levels,
            "iscedFields": claims.isced_fields,
        },
    }
    outside: list[str] = []
    checked: list[str] = []
    if "credentialTypes" in scope:
        allowed = _strings(scope["credentialTypes"])
        specific = [t for t in claims.types if t not in BASE_TYPES]
        if specific:
            checked.append("types")
            if not set(specific) & set(allowed):
                outside.append(f"type {', '.join(specific)} (accredited for {', '.join(allowed) or 'none'})")
    if "eqfLevels" in scope and claims.eqf_levels:
        allowed_levels = {int(v) for v in _strings(scope["eqfLevels"]) if str(v).isdigit()}
        checked.append("EQF levels")
        beyond = [lvl for lvl in claims.eqf_levels if lvl not in allowed_levels]
        if beyond:
            outside.append(
                f"EQF level {', '.join(map(str, beyond))} (accredited for {', '.join(map(str, sorted(allowed_levels)))})"
            )
    if "iscedFields" in scope and claims.isced_fields:
        allowed_fields = _strings(scope["iscedFields"])
        checked.append("ISCED-F fields")
        beyond_fields = [f for f in claims.isced_fields if not any(f.startswith(a) for a in allowed_fields)]
        if beyond_fields:
            outside.append(
                f"ISCED-F field {', '.join(beyond_fields)} (accredited for {', '.join(allowed_fields) or 'none'})"
            )
    details["checked"] = checked
    if outside:
        details["outside"] = outside
        return ScopeResult(False, "outside the issuer's accreditation scope: " + "; ".join(outside), details)
    if not checked:
        return ScopeResult(True, "the credential states nothing the accreditation scope restricts", details)
    return ScopeResult(True, f"within the issuer's accreditation scope ({', '.join(checked)})", details)
