"""The second process of a two-process Merkle build (:mod:`anchoring.scheme.merkle_build`).

``python -m anchoring.scheme.merkle_worker FD N SPLIT``: maps the shared file ``FD`` of an ``N``-leaf build, reads
tasks on stdin until it closes and answers each, once its result is in the shared file, with one byte on stdout;
nothing else is read or written.
"""

from __future__ import annotations

import gc
import mmap
import os
import sys
from typing import IO

import numpy as np

from anchoring.scheme.merkle_build import (
    DONE,
    NODE,
    TASK,
    TASK_LEAVES,
    TASK_SUBTREE,
    SharedLayout,
    fill_inner,
    hash_leaves,
    place_leaves,
    read_exactly,
    run_order,
)


def serve(buffer: mmap.mmap, layout: SharedLayout, tasks: IO[bytes], answers: IO[bytes]) -> None:
    values, leaves, order, tree = layout.arrays(buffer)
    while header := read_exactly(tasks, TASK.size):
        if len(header) != TASK.size:
            raise SystemExit("merkle worker: truncated task")
        kind, a, b = TASK.unpack(header)
        if kind == TASK_LEAVES and layout.split == a <= b == layout.n:
            leaves[a:b] = np.frombuffer(hash_leaves(values.view("V32").tolist()), NODE)
            order[a:b] = run_order(leaves[a:b], a)
        elif kind == TASK_SUBTREE and 0 < a < 2 * layout.n - 1:
            place_leaves(tree, leaves, order, a)
            fill_inner(tree, layout.n, a)
        else:
            raise SystemExit(f"merkle worker: unknown task {kind} ({a}, {b})")
        answers.write(DONE)
        answers.flush()


def main(argv: list[str]) -> None:
    fd, n, split = map(int, argv)
    layout = SharedLayout(n, split)
    # never closed: the process ends with its tasks (os._exit below)
    serve(mmap.mmap(fd, layout.size), layout, sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    gc.disable()  # a million acyclic 32-byte objects per task, and the process ends after the build
    main(sys.argv[1:])
    sys.stdout.flush()
    os._exit(0)  # no teardown of the last task's objects (the parent reaps this exit in a thread)
