"""At most ``verify_concurrency`` verifications at once per API process: verification is CPU-bound, and a request
that finds every slot busy for ``verify_queue_seconds`` gets 503 with Retry-After (the client, or a load
balancer, tries again instead of piling work up). One limit for ``POST /v1/verify`` and the VC-API's verifiers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from api.errors import problem
from node.settings import Settings

__all__ = ["in_verify_slot"]

T = TypeVar("T")


def in_verify_slot(slots: threading.Semaphore, settings: Settings, work: Callable[[], T]) -> T:
    """``work()`` once a slot is free (in the calling thread: call it from a worker thread, not the event loop)."""
    if not slots.acquire(timeout=settings.verify_queue_seconds):
        raise problem(
            503,
            f"all {settings.verify_concurrency} verification slots are busy (setting CREDREG_VERIFY_CONCURRENCY); "
            "retry shortly",
            slug="busy",
            title="Busy",
            headers={"Retry-After": "1"},
            errors=[{"pointer": "", "field": "", "message": "busy", "setting": "CREDREG_VERIFY_CONCURRENCY"}],
        )
    try:
        return work()
    finally:
        slots.release()
