"""The chain as this node's public verifier reads it: one :class:`~anchoring.verify.context.ChainContext` shared
by every verification of the process while the chain's head stays the same.

A context pins its reads to one block and caches them, so while no block is added every verify request after the
first costs no RPC call at all (the issue's single-bundle verify made 8 per request, ~80 % of its time). The head
is asked at most once per ``head_poll_seconds`` (``CREDREG_VERIFY_HEAD_POLL_SECONDS``, 0.05 s by default) by one
request, the others meanwhile read the current context; a new head, a chain failure or a deployment file
changed on disk starts a new context (the old one stays with the requests still reading it). So a report reflects
the chain as it was at most ``head_poll_seconds`` plus one RPC round trip before the request, and every report is
read at a single block, as before. ``head_poll_seconds = 0`` gives each request a context of its own.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from anchoring.chain.deployment import Deployment, DeploymentFileError
from anchoring.errors import ChainError
from anchoring.verify.context import ChainContext
from node.chain_guard import guarded_provider
from node.deployment_file import DeploymentFile
from node.errors import Unavailable
from node.settings import Settings

__all__ = ["VerifierChain"]

_LABEL = "the node's RPC endpoint"  # RPC URLs often carry API keys: public reports never name them


def _unavailable(reason: str) -> Unavailable:
    return Unavailable(reason, slug="verification-unavailable", title="Verification unavailable")


class VerifierChain:
    """Hands out the current shared :class:`ChainContext` (see the module's docstring); thread-safe."""

    def __init__(
        self, settings: Settings, *, provider: Any = None, deployment_file: DeploymentFile | None = None
    ) -> None:
        """``provider``: the web3 provider every context shares (default: :func:`~node.chain_guard.guarded_provider`
        on ``settings.rpc_url``: short timeout, no retries, the endpoint's circuit breaker); ``deployment_file``:
        the app's shared reader of ``settings.deployment_file``."""
        self._rpc_url = settings.rpc_url
        self._deployment_file = deployment_file or DeploymentFile(settings.deployment_file)
        self._timeout = settings.chain_probe_timeout_seconds * 2.5
        self._min_confirmations = max(1, settings.confirmations)
        self._poll = settings.verify_head_poll_seconds
        self._provider = provider
        self._lock = threading.Lock()
        self._context: ChainContext | None = None
        self._checked = 0.0

    def current(self) -> ChainContext:
        """The context to verify with; :class:`~node.errors.Unavailable` when no chain is configured or the
        deployment file is unusable."""
        context = self._context
        if context is not None and time.monotonic() - self._checked < self._poll:
            return context
        if context is not None and not self._lock.acquire(blocking=False):
            return context  # another request is asking the head: read the current context meanwhile
        if context is None:
            self._lock.acquire()
        try:
            if self._context is None or time.monotonic() - self._checked >= self._poll:
                self._context = self._next(self._context)
                self._checked = time.monotonic()
            return self._context
        finally:
            self._lock.release()

    def peek(self) -> ChainContext | None:
        """The current context when its head was checked less than ``head_poll_seconds`` ago, else None; never
        blocks (what a request on the event loop may use)."""
        context = self._context
        if context is not None and time.monotonic() - self._checked < self._poll:
            return context
        return None

    def _next(self, context: ChainContext | None) -> ChainContext:
        # the same Deployment object until the file changes on disk (node.deployment_file): a rewrite starts anew
        deployment = self._deployment()
        if (
            context is not None
            and self._poll > 0
            and context.deployment is deployment
            and self._same_head(context)
        ):
            return context
        return self._build(deployment)

    def _same_head(self, context: ChainContext) -> bool:
        try:
            return context.current_head() == context.head
        except ChainError:
            return False  # the failure is remembered per context: a new one asks again

    def _deployment(self) -> Deployment:
        if not self._rpc_url or self._deployment_file.path is None:
            raise _unavailable(
                "this node has no chain configured (rpc_url, deployment_file): it cannot verify"
            )
        try:
            return self._deployment_file.load()
        except DeploymentFileError as exc:
            raise _unavailable(f"this node's deployment file is unusable: {exc}") from None

    def _build(self, deployment: Deployment) -> ChainContext:
        assert self._rpc_url is not None  # checked by _deployment
        if self._provider is None:  # no retries, a circuit breaker: no hanging (node.chain_guard)
            self._provider = guarded_provider(self._rpc_url, self._timeout)
        return ChainContext(
            self._rpc_url,
            deployment,
            timeout=self._timeout,
            provider=self._provider,
            min_confirmations=self._min_confirmations,
            redact_endpoint=_LABEL,
        )
