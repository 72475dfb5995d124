"""Assertions on RFC 9457 problem+json responses."""

from __future__ import annotations

PROBLEM = "application/problem+json"


def assert_problem(r, status: int, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    if field is not None:
        assert field in [e.get("field") for e in body["errors"]], body["errors"]
    return body
