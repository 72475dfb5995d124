"""Strict JSON parsing for untrusted input.

Duplicate object keys are refused because parsers disagree on which value wins (a verifier and an issuer
could read two different credentials from the same bytes); NaN and Infinity are refused because they are
not JSON (Python's json module accepts them by default).

Nesting is capped (:data:`MAX_DEPTH`) and, where asked, the number of values (``max_values``), both checked by one
linear scan *before* parsing and without recursion: Python's JSON parser recurses once per level, and a process
whose recursion limit was raised (``py_ecc`` sets 100,000 on import) overflows the C stack on 100,000 nested
``[`` instead of raising RecursionError. :func:`safe_recursion_limit` undoes that raise at start-up.
"""

from __future__ import annotations

import json
import re
import sys
from itertools import accumulate, count
from operator import sub
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


class TooDeep(FormatError):
    """Arrays/objects nested deeper than ``limit`` levels."""

    document = None

    def __init__(self, depth: int, limit: int) -> None:
        self.depth = depth
        self.limit = limit
        super().__init__("", f"JSON nested {depth} levels deep; at most {limit} are allowed")


class TooManyValues(FormatError):
    """More than ``limit`` JSON values (array items + object members) in one document."""

    document = None

    def __init__(self, values: int, limit: int) -> None:
        self.values = values
        self.limit = limit
        super().__init__("", f"JSON holds about {values} values; at most {limit} are allowed")


class LoneSurrogate(FormatError):
    """A ``\\uD800``-``\\uDFFF`` escape that is not half of a surrogate pair: valid JSON syntax, but no Unicode
    character (it cannot be encoded as UTF-8, so it could be neither canonicalised nor stored)."""

    document = None

    def __init__(self, escape: str) -> None:
        self.escape = escape
        super().__init__("", f"{escape} is a lone surrogate, not a Unicode character")


#: nesting levels a document may have; real credentials and bundles use well under 30
MAX_DEPTH = 256
#: the recursion limit restored at start-up (CPython's default); MAX_DEPTH levels fit in it with room to spare
SAFE_RECURSION_LIMIT = 1000

# every byte except the structural ones and the string quote, deleted first so the rest works on little
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'[]{},"')
# "[" / "{" -> "(", "]" / "}" -> ")": nesting depth does not care which kind (mismatches are the parser's to report)
_PARENS = bytes.maketrans(b"[{]}", b"(())")
# after pair removal: "(" -> 2, ")" -> 0 (see _max_depth)
_WEIGHTS = bytes.maketrans(b"()", b"\x02\x00")


def _max_depth(parens: bytes) -> int:
    """Deepest nesting of a run of ``()`` bytes. A few rounds of removing every innermost ``()`` pair (one level
    per round, in C) shrink real documents to nothing; what is left is measured with C-speed iterators (no
    Python loop per byte): with weights 2 (open) and 0 (close) the running sum after k bytes is 2 x opens, so
    the depth there is sum - k."""
    rounds = 0
    while parens and rounds < 8:
        shorter = parens.replace(b"()", b"")
        if len(shorter) == len(parens):
            break
        parens, rounds = shorter, rounds + 1
    if not parens:
        return rounds
    return rounds + max(0, int(max(map(sub, accumulate(parens.translate(_WEIGHTS)), count(1)))))


def check_shape(
    text: str | bytes | bytearray, max_depth: int = MAX_DEPTH, max_values: int | None = None
) -> None:
    """Raise :class:`TooDeep` / :class:`TooManyValues` if ``text`` nests deeper than ``max_depth`` or holds more
    than ``max_values`` values, without parsing it: a linear scan outside strings, no recursion. Malformed JSON is
    left for the parser to report (it may be refused here first)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    opens = raw.count(b"[") + raw.count(b"{")
    # counted over the whole text (strings too) these bound the nesting and the values from above: most documents
    # are within both limits by these counts alone, and skip the scan
    if opens <= max_depth and (max_values is None or raw.count(b",") + opens <= max_values):
        return
    if b"\\" in raw:
        # escapes pair up left to right: drop escaped backslashes, then escaped quotes; every '"' left delimits
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    # keep structure and quotes; two adjacent quotes now enclose nothing structural (an empty string, or the gap
    # between two strings) and go; of what is left, the even pieces between quotes lie outside strings
    quoted = raw.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    structure = b"".join(quoted.split(b'"')[::2]) if b'"' in quoted else quoted
    if max_values is not None:
        # one comma per value after the first in each container, plus one per container: an upper bound
        values = structure.count(b",") + structure.count(b"[") + structure.count(b"{")
        if values > max_values:
            raise TooManyValues(values, max_values)
    depth = _max_depth(structure.translate(_PARENS, b","))
    if depth > max_depth:
        raise TooDeep(depth, max_depth)


_PAIR = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def check_surrogates(text: str | bytes | bytearray) -> None:
    """Raise :class:`LoneSurrogate` for a ``\\uD800``-``\\uDFFF`` escape (or, in a ``str``, a surrogate code
    point) that is not part of a high+low pair. No-op (one ``in`` test) for text without ``\\u`` escapes."""
    if isinstance(text, str):
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise LoneSurrogate(f"U+{ord(text[exc.start]):04X}") from None
    else:
        raw = bytes(text)
    if b"\\u" not in raw:
        return
    # an escaped backslash followed by "u..." is not an escape: blank escaped backslashes out first
    found = _SURROGATE.search(_PAIR.sub(b"", raw.replace(b"\\\\", b"  ")))
    if found:
        raise LoneSurrogate(found.group().decode("ascii"))


def safe_recursion_limit(limit: int = SAFE_RECURSION_LIMIT) -> int:
    """Import the module that raises the recursion limit (``py_ecc``, pulled in by the eth libraries), then put the
    limit back to ``limit`` if it is above it. Call once at start-up (the node's app factory and CLI do); returns
    the limit now in force."""
    try:
        import py_ecc  # noqa: F401  (its import sets sys.setrecursionlimit(100000))
    except ImportError:  # pragma: no cover - installed with eth-account here; not everywhere
        pass
    if sys.getrecursionlimit() > limit:
        sys.setrecursionlimit(limit)
    return sys.getrecursionlimit()


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


def strict_loads(
    text: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH, max_values: int | None = None
) -> Any:
    """json.loads refusing duplicate keys (DuplicateKey), NaN / Infinity (NonJsonConstant), nesting deeper than
    ``max_depth`` (TooDeep), more than ``max_values`` values (TooManyValues) and lone surrogates
    (LoneSurrogate), all checked before parsing; other malformed input raises json.JSONDecodeError as usual."""
    check_shape(text, max_depth, max_values)
    check_surrogates(text)
    return json.loads(text, object_pairs_hook=no_duplicate_keys, parse_constant=_refuse_constant)
