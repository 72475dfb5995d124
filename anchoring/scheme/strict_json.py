"""Strict JSON parsing for untrusted input.

Duplicate object keys are refused because parsers disagree on which value wins (a verifier and an issuer
could read two different credentials from the same bytes); NaN and Infinity are refused because they are
not JSON (Python's json module accepts them by default).
"""

from __future__ import annotations

import json
from typing import Any

from anchoring.errors import FormatError


class DuplicateKey(FormatError):
    """An object names the same key twice; `key` is that key."""

    document = None

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__("", f"duplicate object key {key!r}")


class NonJsonConstant(FormatError):
    """NaN, Infinity or -Infinity; `name` is the constant as written."""

    document = None

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__("", f"{name} is not valid JSON")


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An `object_pairs_hook` for json.loads that raises DuplicateKey."""
    out = dict(pairs)  # built in C; the Python scan runs only when a key repeated
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


def _refuse_constant(name: str) -> Any:
    raise NonJsonConstant(name)


def strict_loads(text: str | bytes | bytearray) -> Any:
    """json.loads refusing duplicate keys (DuplicateKey) and NaN / Infinity (NonJsonConstant); other
    malformed input raises json.JSONDecodeError as usual."""
    return json.loads(text, object_pairs_hook=no_duplicate_keys, parse_constant=_refuse_constant)
