"""W3C VC data model rules checked at issuance, before anything is signed or stored.

VC 2.0 (and, for Europass ELM inputs, VC 1.1) as the W3C VC Data Model says a conforming document must be:

* ``@context``: an array (or a string) whose first item is the base context (VC 2.0
  ``https://www.w3.org/ns/credentials/v2``; VC 1.1 ``https://www.w3.org/2018/credentials/v1``);
* ``type`` includes ``VerifiableCredential``;
* ``issuer`` is a URL or an object whose ``id`` is one (absent: the node fills in the issuer's DID);
* ``credentialSubject`` is present: an object or a non-empty array of objects;
* ``validFrom`` / ``validUntil`` (VC 1.1: ``issuanceDate`` / ``expirationDate``) are XML Schema
  ``dateTimeStamp`` values (a time zone is required), and the end is not before the start;
* ``credentialStatus``, ``credentialSchema``, ``evidence``, ``termsOfUse``, ``refreshService`` objects have a
  ``type``;
* every ``id`` (outside ``@context``) is a URL.

Each violation is one error naming its JSON Pointer (RFC 6901); :func:`check_credential` returns them all,
never raises. The issuer must be the token's issuer DID (:func:`bind_issuer`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

__all__ = ["VC1_BASE", "VC2_BASE", "bind_issuer", "check_credential", "issuer_of"]

VC2_BASE = "https://www.w3.org/ns/credentials/v2"
VC1_BASE = "https://www.w3.org/2018/credentials/v1"
_TYPED = ("credentialStatus", "credentialSchema", "evidence", "termsOfUse", "refreshService")
# XML Schema dateTimeStamp: dateTime with a mandatory time zone
_DATETIME_STAMP = re.compile(
    r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)
# an absolute URL (RFC 3986 scheme ":" then something): did:, urn:, https: ...
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+")


def _err(pointer: str, message: str) -> dict[str, Any]:
    field = ".".join(p for p in pointer.split("/")[1:]) if pointer else ""
    return {"pointer": pointer, "field": field, "message": message}


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and _URL.fullmatch(value) is not None


def _parse_stamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or _DATETIME_STAMP.fullmatch(value) is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def issuer_of(credential: dict[str, Any]) -> str | None:
    """The credential's issuer id (the string, or the object's ``id``), None when absent or malformed."""
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _ids(node: Any, pointer: str, errors: list[dict[str, Any]]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                continue  # term definitions ("id": "@id") are not identifiers
            here = f"{pointer}/{_escape(key)}"
            if key == "id" and not _is_url(value):
                errors.append(_err(here, f"id must be a URL, got {str(value)[:80]!r}"))
            elif isinstance(value, (dict, list)):
                _ids(value, here, errors)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _ids(item, f"{pointer}/{i}", errors)


def check_credential(credential: dict[str, Any]) -> list[dict[str, Any]]:
    """Every VC data model violation of `credential` (see the module docstring); [] when it conforms."""
    errors: list[dict[str, Any]] = []
    context = credential.get("@context")
    first = context[0] if isinstance(context, list) and context else context
    if context is None:
        errors.append(_err("/@context", f"@context is missing; its first item must be {VC2_BASE}"))
    elif first not in (VC2_BASE, VC1_BASE):
        at = "/@context/0" if isinstance(context, list) else "/@context"
        errors.append(_err(at, f"the first @context item must be the base context {VC2_BASE}"))
    v1 = first == VC1_BASE
    types = credential.get("type")
    listed = [types] if isinstance(types, str) else types if isinstance(types, list) else None
    if listed is None or "VerifiableCredential" not in listed:
        errors.append(_err("/type", "type must include VerifiableCredential"))
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        if not _is_url(issuer.get("id")):
            errors.append(_err("/issuer/id", "an issuer object needs an id that is a URL"))
    elif issuer is not None and not _is_url(issuer):
        errors.append(_err("/issuer", "issuer must be a URL or an object with an id"))
    subject = credential.get("credentialSubject")
    if subject is None:
        errors.append(_err("/credentialSubject", "credentialSubject is missing"))
    elif isinstance(subject, list):
        if not subject:
            errors.append(_err("/credentialSubject", "credentialSubject must not be empty"))
        errors.extend(
            _err(f"/credentialSubject/{i}", "each credentialSubject must be an object")
            for i, s in enumerate(subject)
            if not isinstance(s, dict)
        )
    elif not isinstance(subject, dict):
        errors.append(
            _err("/credentialSubject", "credentialSubject must be an object or an array of objects")
        )
    start_key, end_key = ("issuanceDate", "expirationDate") if v1 else ("validFrom", "validUntil")
    stamps: dict[str, datetime] = {}
    for key in ("validFrom", "validUntil", "issuanceDate", "expirationDate"):
        if key in credential:
            parsed = _parse_stamp(credential[key])
            if parsed is None:
                errors.append(
                    _err(
                        f"/{key}",
                        f"{key} must be a dateTimeStamp (e.g. 2026-06-30T00:00:00Z), a time zone included",
                    )
                )
            else:
                stamps[key] = parsed
    for start, end in ((start_key, end_key), ("validFrom", "validUntil")):
        if start in stamps and end in stamps and stamps[end] < stamps[start]:
            errors.append(_err(f"/{end}", f"{end} {credential[end]} is before {start} {credential[start]}"))
            break
    for key in _TYPED:
        if key not in credential:
            continue
        value = credential[key]
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            at = f"/{key}/{i}" if isinstance(value, list) else f"/{key}"
            if not isinstance(item, dict):
                errors.append(_err(at, f"{key} must be an object (or an array of objects)"))
            elif "type" not in item:
                errors.append(_err(f"{at}/type", f"{key} objects must have a type"))
    _ids(credential, "", errors)
    return errors


def bind_issuer(credential: dict[str, Any], issuer_did: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The credential with its issuer filled in when absent, and an error naming both DIDs when it names
    another issuer than the token's."""
    if "issuer" not in credential:
        return {**credential, "issuer": issuer_did}, []
    stated = issuer_of(credential)
    if stated is None or stated == issuer_did:
        return credential, []  # malformed issuers are check_credential's
    at = "/issuer/id" if isinstance(credential.get("issuer"), dict) else "/issuer"
    return credential, [
        _err(
            at,
            f"the credential's issuer {stated} is not this token's issuer {issuer_did}: a node issues only "
            "for the issuer the token belongs to",
        )
    ]
