"""RFC 9457 problem details for every error the API returns (``application/problem+json``), in one place.

Body: ``{type, title, status, detail, instance, errors: [{pointer, field, message, ...}]}``.
``type`` is ``urn:credreg:problem:<slug>``; ``instance`` is the request path.

Two sources of problems:

* the node's domain errors (``node.errors.NodeError`` and its subclasses): their class decides the status
  code (:data:`STATUS_OF`), their ``slug``, ``title``, ``detail`` and ``errors`` fill the body;
* errors only HTTP knows (401 without a token, 415 for a media type, a body over the size limit, an unknown
  route): :func:`problem` builds an :class:`HTTPProblem` to raise.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from api.schemas.problems import ProblemDetail
from node.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    Malformed,
    NodeError,
    NotFound,
    OAuthError,
    TooLarge,
    Unavailable,
)

__all__ = [
    "PROBLEM_JSON",
    "STATUS_OF",
    "HTTPProblem",
    "document_problems",
    "install_error_handlers",
    "problem",
    "problem_responses",
    "status_of",
]

log = logging.getLogger("credreg.api")
PROBLEM_JSON = "application/problem+json"

#: the HTTP status of each domain error (a subclass not listed takes its nearest listed base)
STATUS_OF: dict[type[NodeError], int] = {
    Malformed: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    TooLarge: 413,
    Invalid: 422,
    OAuthError: 400,  # the OAuth code decides: OAUTH_STATUS (invalid_token 401, ...), else 400
    Unavailable: 503,
    ConfigurationError: 503,  # the node cannot serve this until its operator fixes a setting
}

#: OAuth / OpenID4VCI error codes that are not 400 (RFC 6750 section 3.1; OID4VCI 1.0 section 8.3.1)
OAUTH_STATUS = {"invalid_token": 401, "insufficient_scope": 403, "invalid_client": 401}


_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    410: "gone",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-request",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


class HTTPProblem(Exception):
    """An error only HTTP knows about, rendered as problem+json with ``status`` (and ``headers``)."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.errors: list[dict[str, Any]] = list(errors or [])
        self.headers: dict[str, str] = dict(headers or {})

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPProblem:
    """An :class:`HTTPProblem`; ``slug`` and ``title`` default from the status code."""
    return HTTPProblem(
        status, slug or _SLUGS.get(status, "error"), title or _phrase(status), detail, errors, headers
    )


def status_of(exc: NodeError) -> int:
    """The status code of a domain error: its class or its nearest base in :data:`STATUS_OF`; else 500."""
    if isinstance(exc, OAuthError):
        return OAUTH_STATUS.get(exc.code, 400)
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each code documented as problem+json with the :class:`ProblemDetail` body."""
    return {
        code: {
            "model": ProblemDetail,
            "description": _phrase(code),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
        }
        for code in codes
    }


_PROBLEM_REF = "#/components/schemas/ProblemDetail"
_FASTAPI_422_REF = "#/components/schemas/HTTPValidationError"


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Make an OpenAPI document say what the error responses are: application/problem+json only.

    FastAPI files a response ``model`` under the route's own media type (application/json) as well, and gives
    every route with parameters a 422 ``HTTPValidationError`` body that this API never sends (request validation
    errors are problems too, see ``_on_validation``). Both are rewritten here, in place; returns ``openapi``."""
    for path in openapi.get("paths", {}).values():
        for operation in path.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if content.get("application/json", {}).get("schema", {}).get("$ref") == _FASTAPI_422_REF:
                    response["description"] = _phrase(int(code))
                    response["content"] = {PROBLEM_JSON: {"schema": {"$ref": _PROBLEM_REF}}}
                elif PROBLEM_JSON in content:
                    content.pop("application/json", None)
            # a body that is not JSON at all is a 400 on every route that reads one (before any model sees it)
            if "requestBody" in operation and "400" not in operation.get("responses", {}):
                operation.setdefault("responses", {})["400"] = {
                    "description": _phrase(400),
                    "content": {PROBLEM_JSON: {"schema": {"$ref": _PROBLEM_REF}}},
                }
    schemas = openapi.get("components", {}).get("schemas", {})
    if _FASTAPI_422_REF.rsplit("/", 1)[1] in schemas and _FASTAPI_422_REF not in repr(openapi.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return openapi


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _render(
    request: Request | None,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:credreg:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path if request is not None else None,
        "errors": errors or [],
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers or None)


def _loc_to_field(loc: tuple) -> tuple[str, str]:
    parts = [str(x) for x in loc]
    where = parts[0] if parts else ""
    rest = parts[1:] if where in ("body", "query", "path", "header", "cookie") else parts
    pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in rest) if rest else ""
    if where in ("query", "path", "header", "cookie"):
        return f"{where}.{'.'.join(rest)}", pointer
    return ".".join(rest), pointer


def _on_oauth_error(request: Request, exc: OAuthError) -> JSONResponse:
    """RFC 6749 requires ``application/json`` with ``error`` / ``error_description`` on these endpoints (wallets
    parse nothing else); the body also carries the RFC 9457 members, so it is a problem document too."""
    status = status_of(exc)
    response = _render(
        request, status=status, slug=exc.slug, title=exc.title, detail=exc.detail, errors=exc.errors
    )
    body = json.loads(bytes(response.body))
    body.update({"error": exc.code, "error_description": exc.detail})
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
    return JSONResponse(body, status_code=status, headers=headers)


async def _on_node_error(request: Request, exc: NodeError) -> JSONResponse:
    if isinstance(exc, OAuthError):
        return _on_oauth_error(request, exc)
    headers = {"Retry-After": str(max(1, round(exc.retry_after)))} if exc.retry_after is not None else None
    return _render(
        request,
        status=status_of(exc),
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=headers,
    )


async def _on_http_problem(request: Request, exc: HTTPProblem) -> JSONResponse:
    return _render(
        request,
        status=exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
    )


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for e in exc.errors():
        field, pointer = _loc_to_field(tuple(e.get("loc", ())))
        errors.append({"pointer": pointer, "field": field, "message": e.get("msg", "invalid")})
    return _render(
        request,
        status=422,
        slug="invalid-request",
        title="Invalid request",
        detail="the request is invalid",
        errors=errors,
    )


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
    field = "path" if exc.status_code in (404, 405) else ""
    return _render(
        request,
        status=exc.status_code,
        slug=_SLUGS.get(exc.status_code, "error"),
        title=_phrase(exc.status_code),
        detail=detail,
        headers=dict(exc.headers or {}),
        errors=[{"pointer": "", "field": field, "message": detail}],
    )


async def _on_disconnect(request: Request, exc: ClientDisconnect) -> Response:
    """The client went away while sending its body (a load generator stopping, a browser tab closed): nobody
    reads an answer and nothing went wrong here, so no traceback is logged (formatting one costs more than the
    request did, and a client could otherwise flood the log by hanging up)."""
    log.debug("client disconnected during %s %s", request.method, request.url.path)
    return Response(status_code=400)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _render(
        request,
        status=500,
        slug="internal-error",
        title=_phrase(500),
        detail="an unexpected error occurred; it has been logged",
        errors=[],
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NodeError, _on_node_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPProblem, _on_http_problem)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http)  # type: ignore[arg-type]
    app.add_exception_handler(ClientDisconnect, _on_disconnect)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected)
