"""Verification that may not wait: inside :func:`cache_only`, a chain read or a web fetch that is not cached
already raises :class:`WouldBlock` instead of going out.

A server verifies on its event loop when everything a report needs is cached (a single bundle under a head it
has read before: no thread hand-off, which cost more than the verification), and hands the request to a thread
where it may block when :class:`WouldBlock` says it must. Verification has no side effects beyond the caches, so
running it again there is safe.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["WouldBlock", "cache_only", "may_block"]

_cache_only: ContextVar[bool] = ContextVar("credreg_verify_cache_only", default=False)


class WouldBlock(Exception):
    """A read would have left the process inside :func:`cache_only`. Deliberately not a
    :class:`~anchoring.errors.ChainError`: checks report chain errors, this must reach the caller."""


@contextmanager
def cache_only() -> Iterator[None]:
    """Within this block (this thread or task), uncached chain reads and web fetches raise WouldBlock."""
    token = _cache_only.set(True)
    try:
        yield
    finally:
        _cache_only.reset(token)


def may_block(what: str = "this read is not cached") -> None:
    """Called right before work that may wait (a read leaving the process, or work a caller keeps off its event
    loop): raises WouldBlock, saying ``what``, inside :func:`cache_only`."""
    if _cache_only.get():
        raise WouldBlock(what)
