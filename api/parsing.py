"""Strict, bounded readers of request bodies: the size-limited body, strict JSON and NDJSON.

Syntax errors are :class:`node.errors.Malformed` (``malformed-json``, 400) naming the line; a body over its
limit or a bad ``Content-Length`` is an HTTP problem (413 / 400) raised before the body is read in full.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from anchoring.scheme.strict_json import LoneSurrogate, TooDeep, TooManyValues, strict_loads
from api.errors import HTTPProblem, problem
from node.errors import Invalid, Malformed, NodeError, TooLarge
from node.issuance.accept import MAX_REPORTED_ERRORS

__all__ = ["parse_json", "parse_ndjson", "read_body", "shape_error"]


def _malformed(detail: str, errors: list[dict[str, Any]]) -> Malformed:
    return Malformed(detail, errors, slug="malformed-json", title="Malformed JSON")


async def read_body(request: Request, limit: int, setting: str | None = None) -> bytes:
    """The body, refusing (413 problem) anything over ``limit`` bytes without reading it all.

    ``setting`` names the environment variable that sets ``limit``; the 413 says it, so an operator knows what to
    raise."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _too_large(limit, setting)
        except ValueError:
            raise problem(
                400,
                "invalid Content-Length header",
                errors=[{"pointer": "", "field": "header.Content-Length", "message": "not an integer"}],
            ) from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, setting)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int, setting: str | None = None) -> HTTPProblem:
    named = f" (setting {setting})" if setting else ""
    error: dict[str, Any] = {
        "pointer": "",
        "field": "body",
        "message": f"at most {limit} bytes{named}",
        "limit": limit,
    }
    if setting:
        error["setting"] = setting
    return problem(
        413,
        f"request body exceeds the limit of {limit} bytes{named}",
        slug="too-large",
        title="Content too large",
        errors=[error],
    )


def shape_error(exc: ValueError, setting: str | None = None) -> NodeError | None:
    """The domain error for a body refused before parsing (too deep, too many values, a lone surrogate), or None
    for any other error. ``setting`` names what sets the value cap."""
    if isinstance(exc, TooDeep):
        return Malformed(
            str(exc),
            [{"pointer": "", "field": "body", "message": str(exc), "limit": exc.limit}],
            slug="too-deep",
            title="JSON nested too deeply",
        )
    if isinstance(exc, TooManyValues):
        named = f" (setting {setting})" if setting else ""
        error: dict[str, Any] = {
            "pointer": "",
            "field": "body",
            "message": f"{exc}{named}",
            "limit": exc.limit,
        }
        if setting:
            error["setting"] = setting
        return TooLarge(f"{exc}{named}", [error], slug="too-many-values", title="Too many JSON values")
    if isinstance(exc, LoneSurrogate):
        return Invalid(
            str(exc),
            [{"pointer": "", "field": "body", "message": str(exc)}],
            slug="lone-surrogate",
            title="Not a Unicode string",
        )
    return None


def parse_json(body: bytes, *, max_values: int | None = None, setting: str | None = None) -> Any:
    """Strict JSON (no NaN/Infinity, no duplicate keys, UTF-8, at most MAX_DEPTH levels and ``max_values`` values,
    no lone surrogates). Raises :class:`Malformed`, :class:`TooLarge` or :class:`Invalid`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(
            f"body is not UTF-8 (byte {exc.start})",
            [{"pointer": "", "field": "", "message": "body is not valid UTF-8"}],
        ) from None
    if not text.strip():
        raise _malformed("request body is empty", [{"pointer": "", "field": "", "message": "empty body"}])
    try:
        return strict_loads(text, max_values=max_values)
    except json.JSONDecodeError as exc:
        raise _malformed(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            [{"pointer": "", "field": "", "line": exc.lineno, "column": exc.colno, "message": exc.msg}],
        ) from None
    except (ValueError, RecursionError) as exc:
        shaped = shape_error(exc, setting) if isinstance(exc, ValueError) else None
        if shaped is not None:
            raise shaped from None
        raise _malformed(str(exc), [{"pointer": "", "field": "", "message": str(exc)}]) from None


def parse_ndjson(body: bytes) -> list[Any]:
    """One JSON value per non-empty line (lines end at ``\\n``, optionally ``\\r\\n``; U+2028 / U+2029 inside a
    string are characters, not line ends). Raises :class:`Malformed` naming the line (and item index)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(
            f"body is not UTF-8 (byte {exc.start})",
            [{"pointer": "", "field": "", "message": "body is not valid UTF-8"}],
        ) from None
    items: list[Any] = []
    errors: list[dict] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append(strict_loads(line))
        except (ValueError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            errors.append(
                {
                    "index": len(items),
                    "line": lineno,
                    "pointer": f"/{len(items)}",
                    "field": f"[{len(items)}]",
                    "message": msg,
                }
            )
            items.append(None)
            if len(errors) >= MAX_REPORTED_ERRORS:
                break
    if errors:
        raise _malformed(f"{len(errors)} NDJSON line(s) are not valid JSON; nothing was stored", errors)
    if not items:
        raise _malformed(
            "request body holds no credentials", [{"pointer": "", "field": "", "message": "empty body"}]
        )
    return items
