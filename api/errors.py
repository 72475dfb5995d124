"""RFC 9457 problem details for every error the API returns (``application/problem+json``).

Body: ``{type, title, status, detail, instance, errors: [{pointer, field, message, ...}]}``.
``type`` is ``urn:credreg:problem:<slug>``; ``instance`` is the request path.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from node.issuance.accept import Problem

__all__ = ["PROBLEM_JSON", "Problem", "install_error_handlers", "problem", "problem_response"]

log = logging.getLogger("credreg.api")
PROBLEM_JSON = "application/problem+json"

_SLUGS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
          406: "not-acceptable", 409: "conflict", 413: "too-large", 415: "unsupported-media-type",
          422: "invalid-request", 429: "too-many-requests", 500: "internal-error", 503: "unavailable"}


def problem(status: int, detail: str, *, slug: str | None = None, title: str | None = None,
            errors: list[dict] | None = None, headers: dict[str, str] | None = None) -> Problem:
    return Problem(status=status, slug=slug or _SLUGS.get(status, "error"), title=title or _phrase(status),
                   detail=detail, errors=errors or [], headers=headers or {})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(request: Request | None, p: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:credreg:problem:{p.slug}",
        "title": p.title,
        "status": p.status,
        "detail": p.detail,
        "instance": request.url.path if request is not None else None,
        "errors": p.errors or [],
    }
    return JSONResponse(body, status_code=p.status, media_type=PROBLEM_JSON, headers=p.headers or None)


def _loc_to_field(loc: tuple) -> tuple[str, str]:
    parts = [str(x) for x in loc]
    where = parts[0] if parts else ""
    rest = parts[1:] if where in ("body", "query", "path", "header", "cookie") else parts
    pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in rest) if rest else ""
    if where in ("query", "path", "header", "cookie"):
        return f"{where}.{'.'.join(rest)}", pointer
    return ".".join(rest), pointer


async def _on_problem(request: Request, exc: Problem) -> JSONResponse:
    return problem_response(request, exc)


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for e in exc.errors():
        field, pointer = _loc_to_field(tuple(e.get("loc", ())))
        errors.append({"pointer": pointer, "field": field, "message": e.get("msg", "invalid")})
    return problem_response(request, problem(422, "the request is invalid", slug="invalid-request",
                                             title="Invalid request", errors=errors))


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
    field = "path" if exc.status_code in (404, 405) else ""
    p = problem(exc.status_code, detail, headers=dict(exc.headers or {}),
                errors=[{"pointer": "", "field": field, "message": detail}])
    return problem_response(request, p)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, problem(500, "an unexpected error occurred; it has been logged",
                                             slug="internal-error", errors=[]))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
