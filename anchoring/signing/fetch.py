"""Fetching the few documents a verifier needs from the web (did:web DID documents, status list credentials, a
node's public proof): one small interface, so tests point it at a local server and an offline run passes none.

:class:`HttpFetcher` is the default, on ``httpx``: short timeout, no redirects, bounded body. Every failure
(unreachable, timeout, an HTTP error status, a body too large) is a :class:`~anchoring.errors.ResolutionError`,
which the verifier reports as ``error``, never as ``fail``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from anchoring.errors import FormatError, ResolutionError
from anchoring.scheme.strict_json import strict_loads

__all__ = ["Fetched", "Fetcher", "HttpFetcher", "NotFound", "OfflineFetcher", "parse_json_body"]

DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = 4 * 1024 * 1024


class NotFound(ResolutionError):
    """The server answered 404: it does not know the document (for a node's proof: not anchored there)."""


@dataclass(frozen=True)
class Fetched:
    url: str
    content_type: str  # media type without parameters, lower case ("" when none)
    body: bytes


class Fetcher(Protocol):
    """``fetch(url)`` -> :class:`Fetched`; raises :class:`ResolutionError` when it cannot."""

    def __call__(self, url: str) -> Fetched: ...


class HttpFetcher:
    """GET over HTTPS (and HTTP unless ``https_only``) with ``httpx``: a short timeout, no redirects, at most
    ``max_bytes`` of body."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        https_only: bool = False,
        accept: str = "application/json, application/ld+json, application/vc+jwt, application/vc, */*;q=0.1",
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.https_only = https_only
        self.accept = accept

    def __call__(self, url: str) -> Fetched:
        import httpx  # on first fetch: a verifier that fetches nothing never loads it

        scheme = urlsplit(url).scheme.lower()
        allowed = ("https",) if self.https_only else ("https", "http")
        if scheme not in allowed:
            raise ResolutionError(url, f"only {' or '.join(allowed)} URLs are fetched")
        try:
            with (
                httpx.Client(timeout=self.timeout, follow_redirects=False) as client,
                client.stream("GET", url, headers={"Accept": self.accept}) as response,
            ):
                if response.status_code == 404:
                    raise NotFound(url, "HTTP 404")
                if response.status_code != 200:
                    raise ResolutionError(url, f"HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise ResolutionError(url, f"response larger than {self.max_bytes} bytes")
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        except httpx.HTTPError as exc:
            raise ResolutionError(url, f"cannot fetch ({type(exc).__name__})") from exc
        return Fetched(url, content_type, bytes(body))


class OfflineFetcher:
    """Fetches nothing: every URL is a :class:`ResolutionError` (``credreg verify --offline``)."""

    def __call__(self, url: str) -> Fetched:
        raise ResolutionError(url, "not fetched: the verifier runs offline")


def parse_json_body(fetched: Fetched) -> Any:
    """The JSON of a fetched body (strict: no duplicate keys, no NaN); :class:`FormatError` naming the URL."""
    try:
        return strict_loads(fetched.body)
    except FormatError as exc:
        raise FormatError(fetched.url, f"the response is not strict JSON: {exc}") from None
    except (UnicodeDecodeError, ValueError):
        raise FormatError(fetched.url, "the response is not JSON") from None
