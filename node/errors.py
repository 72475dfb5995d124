"""Domain errors of the node: what went wrong, in terms of the node's own concepts, never HTTP.

Every error carries a human ``detail`` and, where the input is at fault, ``errors``: one entry per offending
field with a JSON ``pointer``, a ``field`` path and a ``message`` (bulk items add ``index``). ``api/errors.py``
alone turns these into RFC 9457 problem+json responses with their status codes; the CLI prints them.
"""

from __future__ import annotations

from typing import Any


class NodeError(Exception):
    """Base of the node's domain errors. ``slug`` names the problem type; ``title`` is a short summary."""

    slug = "error"
    title = "Error"

    def __init__(
        self,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        *,
        slug: str | None = None,
        title: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: list[dict[str, Any]] = list(errors or [])
        if slug is not None:
            self.slug = slug
        if title is not None:
            self.title = title
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.detail


class Malformed(NodeError):
    """The input could not be parsed at all (not JSON, not UTF-8, empty)."""

    slug, title = "malformed", "Malformed input"


class Invalid(NodeError):
    """The input parsed but breaks a rule; ``errors`` names each field."""

    slug, title = "invalid-request", "Invalid request"


class NotFound(NodeError):
    """No such thing, or not this caller's (existence is not disclosed)."""

    slug, title = "not-found", "Not found"


class Conflict(NodeError):
    """The request contradicts the current state (already used, not yet anchored, revoked for good)."""

    slug, title = "conflict", "Conflict"


class TooLarge(NodeError):
    """The input exceeds a configured limit; the message names the setting."""

    slug, title = "too-large", "Content too large"


class Forbidden(NodeError):
    """The caller is known but may not do this."""

    slug, title = "forbidden", "Forbidden"


class Unavailable(NodeError):
    """A dependency (chain, status list, database) cannot answer now; try again later."""

    slug, title = "unavailable", "Unavailable"


class ConfigurationError(NodeError):
    """The settings do not describe a node that can run (the message says which setting)."""

    slug, title = "configuration", "Configuration error"


class OAuthError(NodeError):
    """An OAuth 2.0 / OpenID4VCI protocol error (RFC 6749 section 5.2, OID4VCI 1.0 sections 8.3.1 and 7.3.1):
    ``code`` is the registered error code (``invalid_grant``, ``invalid_proof``, ``invalid_nonce``,
    ``invalid_token``, ...); ``field`` names the offending request field."""

    slug, title = "oauth-error", "OAuth error"

    def __init__(self, code: str, detail: str | None = None, field: str = "") -> None:
        detail = detail or code.replace("_", " ")
        super().__init__(
            detail,
            [field_error(field, detail)],
            slug=code.replace("_", "-"),
            title=code.replace("_", " ").capitalize(),
        )
        self.code = code


def field_error(field: str, message: str, pointer: str | None = None, **extra: Any) -> dict[str, Any]:
    """One entry of ``errors``: ``field`` as a dotted path (``query.profile``), ``pointer`` as a JSON Pointer."""
    if pointer is None:
        pointer = (
            ""
            if not field or ("." in field and field.split(".", 1)[0] in _LOCATIONS)
            else "/" + field.replace(".", "/")
        )
    return {"pointer": pointer, "field": field, "message": message, **extra}


_LOCATIONS = ("path", "query", "header", "body")


class Gone(NodeError):
    """It existed and has ended for good (a revoked or expired share link)."""

    slug, title = "gone", "Gone"
