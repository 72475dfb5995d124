"""A background loop that never dies of an error: the shape of the batcher, anchorer and indexer threads.

The state those workers act on is on disk and every pass re-reads it, so after any error the right move
is to log it, wait (longer each time, up to a cap) and try again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from anchoring.chain.rpc import UNREACHABLE_ERRORS
from anchoring.errors import ChainError


class RetryLoop:
    """Runs `step()` until stopped. `step` returns True when it made progress (run again at once) and
    False when there is nothing to do (wait `interval`). Errors in `expected` (plus chain errors) are
    logged as warnings, others with their traceback; both back off exponentially up to `max_backoff`."""

    def __init__(
        self,
        name: str,
        step: Callable[[], bool],
        interval: float,
        max_backoff: float,
        expected: tuple[type[BaseException], ...] = (),
    ):
        self.log = logging.getLogger(f"credreg.{name}")
        self.step = step
        self.interval = interval
        self.max_backoff = max_backoff
        self.expected: tuple[type[BaseException], ...] = (ChainError, *UNREACHABLE_ERRORS, *expected)
        self.stop_event = threading.Event()
        self.last_error: str | None = None

    def run(self) -> None:
        backoff = self.interval
        while not self.stop_event.is_set():
            try:
                progressed = self.step()
                self.last_error = None
                backoff = self.interval
                if progressed:
                    continue
            except self.expected as exc:
                self.last_error = str(exc)
                self.log.warning("pass failed, retrying in %.1fs: %s", backoff, exc)
                backoff = min(backoff * 2, self.max_backoff)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.log.exception("unexpected error, retrying in %.1fs", backoff)
                backoff = min(backoff * 2, self.max_backoff)
            self.stop_event.wait(backoff)

    def stop(self) -> None:
        self.stop_event.set()
