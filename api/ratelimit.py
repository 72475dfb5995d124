"""Rate limits per client IP, per bearer token and for failed authentications (429 + ``Retry-After``), with the
``limits`` library (the engine behind slowapi) as a plain ASGI middleware.

* every request except the probes (``/healthz``, ``/readyz``, ``/metrics``) counts against its client IP
  (``rate_limit_per_ip``); behind a reverse proxy run uvicorn with ``--proxy-headers --forwarded-allow-ips`` so
  the client IP is the caller's, not the proxy's;
* a request with a bearer token also counts against the token (``rate_limit_per_token``), keyed by a hash of it
  (the token itself is never kept);
* each 401 counts against the client IP (``rate_limit_auth_failures``); once used up, every request from that IP
  that carries an ``Authorization`` header is refused until the window ends (token guessing).

Counters live in ``rate_limit_storage``: ``memory://`` is per process (each of N workers allows the full rate);
``redis://...`` shares them between workers and hosts. Fixed windows: cheap, at most twice the rate across a window
edge.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string

from api.errors import PROBLEM_JSON
from node.settings import Settings

__all__ = ["EXEMPT_PATHS", "RateLimitMiddleware"]

#: probes and scrapes: a monitor must never be locked out by its own polling
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class RateLimitMiddleware:
    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        uri = settings.rate_limit_storage
        self.limiter = FixedWindowRateLimiter(storage_from_string(uri if "+" in uri else f"async+{uri}"))
        self.per_ip = parse_many(settings.rate_limit_per_ip)
        self.per_token = parse_many(settings.rate_limit_per_token)
        self.auth_failures = parse_many(settings.rate_limit_auth_failures)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        token = _bearer(scope)
        if token is not None:
            for item in self.auth_failures:  # test only: a failure is counted when the 401 goes out
                if not await self.limiter.test(item, "auth-failures", ip):
                    await self._refuse(scope, send, item, ("auth-failures", ip), "failed authentications", ip)
                    return
        checks = [(self.per_ip, ("ip", ip), f"requests from {ip}")]
        if token is not None:
            key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]
            checks.append((self.per_token, ("token", key), "requests with this token"))
        for items, ids, what in checks:
            for item in items:
                if not await self.limiter.hit(item, *ids):
                    await self._refuse(scope, send, item, ids, what, ip)
                    return
        if token is None:
            await self.app(scope, receive, send)
            return

        async def watch(message: dict) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                for item in self.auth_failures:
                    await self.limiter.hit(item, "auth-failures", ip)
            await send(message)

        await self.app(scope, receive, watch)

    async def _refuse(
        self, scope: dict, send: Any, item: RateLimitItem, ids: tuple, what: str, ip: str
    ) -> None:
        stats = await self.limiter.get_window_stats(item, *ids)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        body = json.dumps(
            {
                "type": "urn:credreg:problem:rate-limited",
                "title": "Too Many Requests",
                "status": 429,
                "detail": f"rate limit {item} for {what} reached; retry in {retry} s",
                "instance": scope["path"],
                "errors": [{"pointer": "", "field": "", "message": f"at most {item}", "limit": str(item)}],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _bearer(scope: dict) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else value.decode("latin-1")
    return None
