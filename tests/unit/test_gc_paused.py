"""gc_paused across threads: API workers verify in several threads (and on the event loop) at once. The GC stays
off while any pause is active and is on again when the last one ends, whatever the interleaving (the earlier
check-then-act form could leave it off for good: a pause starting while another ended saw "disabled", then
disabled it and never re-enabled it; one soak's worker grew to 4.4 GB that way)."""

from __future__ import annotations

import gc
import random
import threading
import time

from anchoring.scheme.merkle import gc_paused


def test_overlapping_pauses_in_many_threads_leave_the_gc_on():
    assert gc.isenabled()
    seen_on_inside: list[bool] = []
    rng = random.Random(7)
    delays = [[rng.random() / 2000 for _ in range(200)] for _ in range(8)]

    def work(mine: list[float]) -> None:
        for delay in mine:
            with gc_paused():
                seen_on_inside.append(gc.isenabled())
                time.sleep(delay)

    threads = [threading.Thread(target=work, args=(d,)) for d in delays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gc.isenabled()
    assert not any(seen_on_inside)  # never on while a pause was active
    assert len(seen_on_inside) == 1600


def test_a_pause_inside_a_pause_and_an_exception_restore_the_state():
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    try:
        with gc_paused():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
