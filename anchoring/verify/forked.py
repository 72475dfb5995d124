"""Two shares of one run on two cores: the second share in a forked child, the first in this process.

``credreg verify`` over thousands of files is pure Python work per file (parsing, canonicalization, the checks), so
one process uses one core. A forked child starts with everything already imported and read (no second start-up,
unlike spawning a worker), computes its share and sends the result back pickled through a pipe. Fork is used only
where it is safe: on a platform that has it, and while this process runs one thread (a fork copies no other
thread, and a lock another thread held would stay locked in the child). If the child cannot start, dies or
answers short, its share is computed here: the same result, later.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["can_fork", "run_in_two"]

R = TypeVar("R")


def can_fork() -> bool:
    """Fork is available and safe now: POSIX, and no thread but this one."""
    return hasattr(os, "fork") and threading.active_count() == 1


def run_in_two(work: Callable[[int], R], on_fallback: Callable[[str], object] | None = None) -> tuple[R, R]:
    """``(work(0), work(1))``, ``work(1)`` in a forked child while this process computes ``work(0)``.

    ``work(1)``'s result must pickle. When the child fails, ``on_fallback(why)`` is told and ``work(1)`` runs
    here; an exception in ``work(0)`` propagates (after the child is reaped)."""
    if not can_fork():  # a thread started since the caller asked (it could hold a lock the child would need)
        if on_fallback is not None:
            on_fallback("another thread is running, so no second process is forked")
        return work(0), work(1)
    sys.stdout.flush()  # buffered output would be written twice, once by each process
    sys.stderr.flush()
    try:
        read_end, write_end = os.pipe()
        pid = os.fork()
    except OSError as exc:
        if on_fallback is not None:
            on_fallback(f"cannot start a second process ({exc.strerror or exc})")
        return work(0), work(1)
    if pid == 0:  # the child: compute, answer, and leave without running the parent's clean-up
        os.close(read_end)
        code = 0
        try:
            payload = pickle.dumps(work(1), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # noqa: BLE001 (anything: the parent computes the share instead)
            payload, code = pickle.dumps(_Failed(f"{type(exc).__name__}: {exc}")), 1
        with os.fdopen(write_end, "wb") as pipe:
            try:
                pipe.write(payload)
            except OSError:
                code = 1
        os._exit(code)
    os.close(write_end)
    try:
        first = work(0)
    finally:
        with os.fdopen(read_end, "rb") as pipe:
            payload = pipe.read()
        os.waitpid(pid, 0)
    try:
        # our own forked child wrote it, through a pipe only the two of us hold: not untrusted data
        second = pickle.loads(payload) if payload else _Failed("the second process exited without an answer")  # noqa: S301
    except Exception as exc:  # noqa: BLE001 (a short or garbled answer: computed here instead)
        second = _Failed(f"the second process answered short ({type(exc).__name__})")
    if isinstance(second, _Failed):
        if on_fallback is not None:
            on_fallback(second.why)
        second = work(1)
    return first, second


class _Failed:
    def __init__(self, why: str) -> None:
        self.why = why
