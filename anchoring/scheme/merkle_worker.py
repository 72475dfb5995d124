"""The second process of a two-process Merkle build (:mod:`anchoring.scheme.merkle_build`).

Reads task frames on stdin until it closes, answers each on stdout; nothing else is read or written.
"""

from __future__ import annotations

import gc
import os
import sys
from array import array
from typing import IO

from anchoring.scheme.merkle_build import (
    FRAME,
    TASK_INNER_NODES,
    TASK_SORTED_LEAVES,
    heap_tree,
    read_exactly,
    sorted_leaves,
    split_nodes,
)


def serve(tasks: IO[bytes], answers: IO[bytes]) -> None:
    while header := read_exactly(tasks, FRAME.size):
        kind, count = FRAME.unpack(header)
        nodes = split_nodes(read_exactly(tasks, 32 * count))
        if len(nodes) != count:
            raise SystemExit("merkle worker: truncated task")
        if kind == TASK_SORTED_LEAVES:
            leaves, order = sorted_leaves(nodes)
            answers.write(b"".join(leaves))
            answers.write(array("I", order).tobytes())
        elif kind == TASK_INNER_NODES:
            answers.write(b"".join(heap_tree(nodes)[: count - 1]))
        else:
            raise SystemExit(f"merkle worker: unknown task {kind}")
        answers.flush()


if __name__ == "__main__":
    gc.disable()  # a million acyclic 32-byte objects per task, and the process ends after the build
    serve(sys.stdin.buffer, sys.stdout.buffer)
    sys.stdout.flush()
    os._exit(0)  # no teardown of the last task's million objects (the parent reaps this exit in a thread)
