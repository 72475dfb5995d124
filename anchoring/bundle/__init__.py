"""Proof bundles: what a learner holds. :func:`load` reads any published format version (dispatching on the
document's ``"format"``); one module per version, each with its JSON Schema beside it. Every older version
keeps loading and verifying: formats are never changed, only added.
"""

from __future__ import annotations

from typing import Any

from anchoring.bundle import v1, v2
from anchoring.bundle.model import Inclusion
from anchoring.bundle.v1 import BundleFormatError
from anchoring.scheme.strict_json import DuplicateKey, NonJsonConstant, strict_loads

__all__ = ["CURRENT_FORMAT", "FORMATS", "AnyBundle", "BundleFormatError", "Inclusion", "load", "loads"]

#: a bundle of any published format (each exposes credential, digest_rule, salt, digest, inclusions)
AnyBundle = v1.ProofBundle | v2.ProofBundle
#: every published format and the class that reads it
FORMATS: dict[str, type[v1.ProofBundle] | type[v2.ProofBundle]] = {
    v1.BUNDLE_FORMAT: v1.ProofBundle,
    v2.BUNDLE_FORMAT: v2.ProofBundle,
}
#: what nodes issue now
CURRENT_FORMAT = v2.BUNDLE_FORMAT


def load(obj: Any, *, check_integrity: bool = True) -> AnyBundle:
    """A parsed bundle of any published format, validated; :class:`BundleFormatError` names the bad field."""
    if not isinstance(obj, dict):
        raise BundleFormatError("", f"a bundle must be a JSON object, got {type(obj).__name__}")
    fmt = obj.get("format")
    reader = FORMATS.get(fmt) if isinstance(fmt, str) else None
    if reader is None:
        raise BundleFormatError(
            "format", f"unknown bundle format {fmt!r:.60}; this verifier reads {', '.join(sorted(FORMATS))}"
        )
    return reader.load(obj, check_integrity=check_integrity)


def loads(text: str | bytes, *, check_integrity: bool = True) -> AnyBundle:
    """Parse JSON text strictly (no duplicate keys, no NaN/Infinity) and :func:`load` it."""
    try:
        obj = strict_loads(text)
    except DuplicateKey as exc:
        raise BundleFormatError(exc.key, f"duplicate key {exc.key!r}") from None
    except NonJsonConstant as exc:
        raise BundleFormatError("", str(exc)) from None
    except (ValueError, TypeError) as exc:
        raise BundleFormatError("", f"not valid JSON: {exc}") from None
    return load(obj, check_integrity=check_integrity)
