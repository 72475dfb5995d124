"""Strict, bounded readers of request bodies (JSON and NDJSON)."""

from __future__ import annotations

import json
from typing import Any

from anchoring.scheme.strict_json import strict_loads
from node.issuance.accept import MAX_REPORTED_ERRORS, Problem


# ----------------------------------------------------------------------------------------- parsing
def parse_json(body: bytes) -> Any:
    """Strict JSON (no NaN/Infinity, no duplicate keys, UTF-8). Raises a 400 Problem."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, "malformed-json", "Malformed JSON", f"body is not UTF-8 (byte {exc.start})",
                      [{"pointer": "", "field": "", "message": "body is not valid UTF-8"}]) from None
    if not text.strip():
        raise Problem(400, "malformed-json", "Malformed JSON", "request body is empty",
                      [{"pointer": "", "field": "", "message": "empty body"}])
    try:
        return strict_loads(text)
    except json.JSONDecodeError as exc:
        raise Problem(400, "malformed-json", "Malformed JSON",
                      f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                      [{"pointer": "", "field": "", "line": exc.lineno, "column": exc.colno,
                        "message": exc.msg}]) from None
    except (ValueError, RecursionError) as exc:
        raise Problem(400, "malformed-json", "Malformed JSON", str(exc),
                      [{"pointer": "", "field": "", "message": str(exc)}]) from None


def parse_ndjson(body: bytes) -> list[Any]:
    """One JSON value per non-empty line. Raises a 400 Problem naming the line (and item index)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, "malformed-json", "Malformed JSON", f"body is not UTF-8 (byte {exc.start})",
                      [{"pointer": "", "field": "", "message": "body is not valid UTF-8"}]) from None
    items: list[Any] = []
    errors: list[dict] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(strict_loads(line))
        except (ValueError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            errors.append({"index": len(items), "line": lineno, "pointer": f"/{len(items)}",
                           "field": f"[{len(items)}]", "message": msg})
            items.append(None)
            if len(errors) >= MAX_REPORTED_ERRORS:
                break
    if errors:
        raise Problem(400, "malformed-json", "Malformed JSON",
                      f"{len(errors)} NDJSON line(s) are not valid JSON; nothing was stored", errors)
    if not items:
        raise Problem(400, "malformed-json", "Malformed JSON", "request body holds no credentials",
                      [{"pointer": "", "field": "", "message": "empty body"}])
    return items
