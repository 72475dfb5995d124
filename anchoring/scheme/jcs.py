"""RFC 8785 (JCS) canonical bytes of a credential, with a C-encoder fast path for the common case."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import orjson
import rfc8785

from anchoring.errors import FormatError

#: I-JSON (RFC 7493) / RFC 8785 safe integer range: integers must be exactly representable as doubles.
MAX_SAFE_INTEGER = 2**53 - 1


#: Nesting deeper than this is rejected (protects the recursive serialiser; real credentials are ~10 deep).
MAX_DEPTH = 64


_IDENT = re.compile(r"^[A-Za-z_$@][A-Za-z0-9_$@:\-]*$")


class CanonicalizationError(FormatError):
    """The credential cannot be canonicalised with RFC 8785.

    ``path`` (also ``field``) names the offending field (``credentialSubject.score``, ``evidence[2].name``,
    ``""`` for the document itself); the message starts with it too.
    """

    document = "<credential>"

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(path, reason)


def _child_path(path: str, key: str) -> str:
    if _IDENT.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{_quote(key)}]"


def _quote(key: str) -> str:
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _check(value: Any, path: str, depth: int) -> None:
    """Reject anything RFC 8785 / I-JSON cannot represent, naming the field."""
    if depth > MAX_DEPTH:
        raise CanonicalizationError(path, f"nesting deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalizationError(
                path, f"integer {value} is outside the I-JSON range \u00b1(2**53-1); send it as a string"
            )
        return
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise CanonicalizationError(
                path, f"{value!r} is not a JSON number (NaN/Infinity are not allowed)"
            )
        if value.is_integer() and MAX_SAFE_INTEGER < abs(value) < 1e21:
            # JCS writes these as plain integer digits, which parse back as an out-of-range integer:
            # rejecting them keeps "canonicalise -> parse -> canonicalise" working for every accepted input.
            raise CanonicalizationError(
                path,
                f"number {value!r} is an integer outside the I-JSON range \u00b1(2**53-1); send it as a string",
            )
        return
    if isinstance(value, str):
        _check_str(value, path)
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]", depth + 1)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalizationError(
                    path, f"object key {key!r} is a {type(key).__name__}, JSON object keys must be strings"
                )
            child = _child_path(path, key)
            _check_str(key, child)
            _check(item, child, depth + 1)
        return
    raise CanonicalizationError(path, f"unsupported type {type(value).__name__}")


def _check_str(s: str, path: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalizationError(
            path, f"string contains a lone surrogate at position {exc.start}"
        ) from None


def canonicalize(credential: dict[str, Any]) -> bytes:
    """RFC 8785 (JCS) canonical UTF-8 bytes of a credential JSON object.

    Raises :class:`CanonicalizationError` (a ``ValueError``) naming the field for: a top level that is
    not an object, NaN/Infinity, non-string keys, integers outside +-(2**53-1), lone surrogates,
    unsupported Python types, and nesting deeper than :data:`MAX_DEPTH`.
    """
    if not isinstance(credential, dict):
        raise CanonicalizationError(
            "", f"a credential must be a JSON object, got {type(credential).__name__}"
        )
    fast = fast_canonicalize(credential)
    if fast is not None:
        return fast
    _check(credential, "", 0)
    try:
        return rfc8785.dumps(credential)
    except rfc8785.CanonicalizationError as exc:  # pragma: no cover - _check is stricter than rfc8785
        raise CanonicalizationError("", str(exc)) from exc


def _jcs_simple(value: Any, depth: int, max_depth: int = MAX_DEPTH) -> bool:
    """True when `value` holds only what RFC 8785 and orjson with sorted keys write identically:
    ASCII keys (code-point order is then UTF-16 order), strings, booleans, null and I-JSON-safe integers.
    Floats are excluded (ECMAScript number formatting differs from Python's repr)."""
    kind = type(value)
    if kind is dict:
        if depth >= max_depth:
            return False
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            if type(item) is not str and not _jcs_simple(item, depth + 1, max_depth):
                return False
        return True
    if kind is list:
        if depth >= max_depth:
            return False
        for item in value:
            if type(item) is not str and not _jcs_simple(item, depth + 1, max_depth):
                return False
        return True
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    return False


def fast_canonicalize(credential: Any, max_depth: int = MAX_DEPTH) -> bytes | None:
    """RFC 8785 bytes through orjson (sorted keys, compact) for the common case, many times faster than the pure-Python
    `rfc8785` package, or None when the credential needs the full implementation (floats, non-ASCII keys,
    lone surrogates, other types). For the values `_jcs_simple` admits the two encoders agree byte for byte:
    same escapes (lower-case \\u00xx for control characters, no escaping of non-ASCII or "/"), same key order,
    integers as plain digits; tests/test_hashing_fast.py checks that against `rfc8785` on random documents."""
    if type(credential) is not dict or not _jcs_simple(credential, 0, max_depth):
        return None
    try:
        return orjson.dumps(credential, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # lone surrogates
        return None
