"""Chain calls that cannot hang the API: a short timeout, no retries, and a circuit breaker per endpoint.

``guarded_provider(url, timeout)`` is a web3 ``HTTPProvider`` whose requests time out after ``timeout`` seconds
(web3's own retries off: by default it re-sends a timed-out ``eth_chainId`` / ``eth_blockNumber`` up to five times,
which made a verify request against a hung chain take 27 s) and pass through a ``pybreaker.CircuitBreaker`` shared by
every request of the process to that endpoint: after ``FAIL_MAX`` consecutive transport failures (timeouts, refused
connections) it opens for ``RESET_SECONDS`` and requests fail at once with ``ConnectionError`` (which
``anchoring.chain.rpc.call_chain`` turns into ``ChainUnreachable``, an ``error`` check); then one trial request
decides whether it closes again. RPC errors (reverts, "not found") are answers and do not count.
"""

from __future__ import annotations

import threading
from typing import Any

import pybreaker
from web3 import HTTPProvider

from anchoring.chain.rpc import UNREACHABLE_ERRORS

__all__ = ["FAIL_MAX", "RESET_SECONDS", "breaker_for", "guarded_provider"]

FAIL_MAX = 3
RESET_SECONDS = 10.0

_breakers: dict[str, pybreaker.CircuitBreaker] = {}
_lock = threading.Lock()


def breaker_for(url: str) -> pybreaker.CircuitBreaker:
    with _lock:
        found = _breakers.get(url)
        if found is None:
            found = _breakers[url] = pybreaker.CircuitBreaker(
                fail_max=FAIL_MAX,
                reset_timeout=RESET_SECONDS,
                exclude=[lambda exc: not isinstance(exc, UNREACHABLE_ERRORS)],
                name="chain",
            )
        return found


class GuardedProvider(HTTPProvider):
    """An HTTPProvider behind the endpoint's circuit breaker (see the module's docstring)."""

    def __init__(self, url: str, timeout: float):
        super().__init__(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
        self.breaker = breaker_for(url)

    def make_request(self, method: Any, params: Any) -> Any:
        try:
            return self.breaker.call(super().make_request, method, params)
        except pybreaker.CircuitBreakerError:
            raise ConnectionError(
                f"the chain did not answer {FAIL_MAX} requests in a row: not asking again for up to "
                f"{RESET_SECONDS:g}s (circuit open)"
            ) from None


def guarded_provider(url: str, timeout: float) -> GuardedProvider:
    return GuardedProvider(url, timeout)
