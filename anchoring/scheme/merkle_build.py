"""Computing a tree's node array from its digests: in this process, or on two cores for large batches.

The result is the OpenZeppelin ``StandardMerkleTree`` layout described in :mod:`anchoring.scheme.merkle`, byte
for byte, whichever way it is computed.

Nodes live in numpy arrays of 32-byte strings (dtype ``S32``): the sort, the placement of the leaves in heap
order and each level's sorted pairs are array operations in C; only the hash itself is one call per node (a C loop
of ``map`` over tiny-keccak, or safe-pysha3 without it). numpy compares ``S32`` values as bytes: both sides have
the same fixed width, so its rule that trailing NUL bytes are padding cannot order two nodes differently
from ``bytes`` (tests/unit/test_merkle.py checks the order against Python's, NUL bytes included).

The two-core build splits the work where it splits cleanly: each process hashes half of the leaves, and each
computes the inner nodes of one of the root's two subtrees (in the heap layout the subtree under ``tree[1]`` and
the one under ``tree[2]`` share no node). Both work on one shared memory file (``memfd``), so no node is copied
between them; the second process is a plain ``python -m anchoring.scheme.merkle_worker`` told what to do in
a few bytes on its stdin (no pickling, no fork of a threaded node, no re-import of the caller's main module). If it
cannot be started or dies, the build is done here instead.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from operator import methodcaller
from pathlib import Path
from typing import IO

import numpy as np
from sha3 import keccak_256 as _k

__all__ = ["NODE", "TWO_PROCESS_MIN_LEAVES", "build_nodes", "fill_inner", "heap_tree"]

log = logging.getLogger(__name__)

#: Below this many leaves the second process costs more than it saves (its start-up, about 0.2 s with numpy,
#: against half the hashing). Measured here, fastest of 3: 150,000 leaves 0.51 s in one process, 0.55 s in two;
#: 200,000 0.58 s and 0.58 s; 300,000 0.78 s and 0.74 s; 1M 2.9 s and 2.2 s (``scripts/bench_merkle.py`` prints both).
TWO_PROCESS_MIN_LEAVES = 250_000

#: one node: 32 bytes, ordered as ``bytes``
NODE = np.dtype("S32")

_digest = methodcaller("digest")


def _keccak_each_sha3(preimages: Iterable[bytes]) -> Iterator[bytes]:
    return map(_digest, map(_k, preimages))


try:
    from tiny_keccak import keccak256 as _tiny_keccak  # type: ignore[import-not-found,unused-ignore]

    def _keccak_each_tiny(preimages: Iterable[bytes]) -> Iterator[bytes]:
        return map(_tiny_keccak, preimages)

    _keccak_each = _keccak_each_tiny
except ImportError:  # an install without the node extra: safe-pysha3
    _keccak_each = _keccak_each_sha3


def hash_leaves(values: Iterable[bytes]) -> bytes:
    """``keccak256(keccak256(value))`` of each value, in input order, joined."""
    return b"".join(_keccak_each(_keccak_each(values)))


def _first_words(leaves: np.ndarray) -> np.ndarray:
    return leaves.view(">u8")[::4].astype(np.uint64)


def leaf_order(leaves: np.ndarray, runs: np.ndarray | None = None) -> np.ndarray:
    """Input indices of the leaves in ascending order; stable, like JS ``Array.prototype.sort`` (equal leaves,
    a digest given twice, keep their input order).

    ``runs``: all indices, made of runs each already in that order (the two halves of a two-process build), so the
    sort is the merge of the runs.
    """
    # Sorting on the first 8 bytes as an integer is 2-3x faster than sorting the 32-byte strings; only when two
    # leaves share those 8 bytes (in practice: a digest given twice) does the whole string decide.
    first = _first_words(leaves)
    # with runs, timsort finds them and merges them in one linear pass
    order = np.argsort(first, kind="stable") if runs is None else runs[np.argsort(first[runs], kind="stable")]
    ranked = first[order]
    if (ranked[1:] == ranked[:-1]).any():
        order = np.argsort(leaves, kind="stable")
    return order


def run_order(leaves: np.ndarray, start: int) -> np.ndarray:
    """The indices ``start + i`` of ``leaves`` ascending by their first 8 bytes (a run for :func:`leaf_order`)."""
    return np.argsort(_first_words(leaves), kind="stable") + start


def place_leaves(tree: np.ndarray, leaves: np.ndarray, order: np.ndarray, root: int = 0) -> None:
    """Write the sorted leaves under ``root`` (all of them by default) into their nodes of ``tree``: sorted leaf
    ``k`` sits at ``2n - 2 - k``."""
    n = len(leaves)
    for lo, hi in _levels(n, root):
        start, stop = max(lo, n - 1), min(hi, 2 * n - 2) + 1
        if start < stop:
            tree[start:stop] = leaves[order[2 * n - 1 - stop : 2 * n - 1 - start][::-1]]


def _levels(n: int, root: int) -> Iterator[tuple[int, int]]:
    """The first and last node at each level of the subtree under ``root`` in a ``2n - 1`` node array, top down:
    ``d`` levels below it, its descendants are the contiguous nodes from ``(root + 1) * 2**d - 1``."""
    size = 2 * n - 1
    depth = 0
    while (lo := (root + 1) * (1 << depth) - 1) < size:
        yield lo, min((root + 2) * (1 << depth) - 2, size - 1)
        depth += 1


def fill_inner(tree: np.ndarray, n: int, root: int = 0) -> None:
    """Compute the inner nodes under ``root`` (all of them by default) of a ``2n - 1`` node array whose leaves are
    in place, one heap level at a time, deepest first (the inner nodes are those up to ``n - 2``)."""
    last_inner = n - 2
    hash_each = _keccak_each
    for lo, top in reversed([level for level in _levels(n, root) if level[0] <= last_inner]):
        hi = min(top, last_inner)
        left = tree[2 * lo + 1 : 2 * hi + 2 : 2]
        right = tree[2 * lo + 2 : 2 * hi + 3 : 2]
        ascending = left < right
        pairs = np.empty((hi - lo + 1, 2), NODE)
        pairs[:, 0] = np.where(ascending, left, right)  # min(a, b) || max(a, b)
        pairs[:, 1] = np.where(ascending, right, left)
        # each row's 64 bytes as one bytes object (a void view: an S64 view would drop trailing NUL bytes)
        hashed = b"".join(hash_each(pairs.view("V64").ravel().tolist()))
        tree[lo : hi + 1] = np.frombuffer(hashed, NODE)


def heap_tree(leaves: bytes) -> bytes:
    """The ``2n - 1`` node array over ``n`` leaves given in heap order (they are its last ``n`` nodes), inner nodes
    computed."""
    n = len(leaves) // 32
    tree = np.empty(2 * n - 1, NODE)
    tree[n - 1 :] = np.frombuffer(leaves, NODE)
    fill_inner(tree, n)
    return tree.tobytes()


def build_nodes(values: list[bytes], *, processes: int = 1) -> tuple[bytes, list[int]]:
    """The node array (``2n - 1`` nodes of 32 bytes, root first, joined) and ``order`` (input index of the k-th
    smallest leaf).

    ``processes=2`` computes it on two cores (for ``n >= 3``); the bytes are the same either way.
    """
    if processes > 1 and len(values) >= 3:
        try:
            return _build_on_two(values)
        except (OSError, _WorkerFailed) as exc:
            log.warning("two-process Merkle build failed (%s); building in one process", exc)
    return _build_here(values)


def _build_here(values: list[bytes]) -> tuple[bytes, list[int]]:
    n = len(values)
    leaves = np.frombuffer(hash_leaves(values), NODE)
    order = leaf_order(leaves)
    tree = np.empty(2 * n - 1, NODE)
    place_leaves(tree, leaves, order)
    fill_inner(tree, n)
    return tree.tobytes(), order.tolist()


class _WorkerFailed(Exception):
    """The second process of a two-process build exited or answered short."""


# tasks, parent -> worker: kind and two numbers; the worker answers DONE when the shared memory holds the result
TASK = struct.Struct(">BQQ")
#: (start, stop): hash values[start:stop] into leaves[start:stop], and their order by first bytes into order[start:stop]
TASK_LEAVES = 1
TASK_SUBTREE = 2  # (root, 0): place the leaves under ``root`` by the order, and compute its inner nodes
DONE = b"\x01"


class SharedLayout:
    """Where the arrays of an ``n``-leaf build with ``split`` values hashed in this process sit in the shared file:
    the worker's values, all ``n`` leaves in input order, their order (the leaves' input indices in ascending order),
    then the ``2n - 1`` node tree."""

    def __init__(self, n: int, split: int) -> None:
        self.n = n
        self.split = split
        self.leaves_at = 32 * (n - split)
        self.order_at = self.leaves_at + 32 * n
        self.tree_at = self.order_at + 8 * n
        self.size = self.tree_at + 32 * (2 * n - 1)

    def arrays(self, buffer: mmap.mmap) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(values of the worker's share, leaves, order, tree) as views of ``buffer``."""
        n = self.n
        return (
            np.frombuffer(buffer, NODE, n - self.split, 0),
            np.frombuffer(buffer, NODE, n, self.leaves_at),
            np.frombuffer(buffer, np.int64, n, self.order_at),
            np.frombuffer(buffer, NODE, 2 * n - 1, self.tree_at),
        )


def shared_file() -> int:
    """A file descriptor of an unnamed file in memory; closed on exec (the worker gets it through ``pass_fds``,
    no other child of a threaded node does)."""
    try:
        fd = os.memfd_create("credreg-merkle")
    except (AttributeError, OSError):  # not Linux: an unnamed temporary file
        with tempfile.TemporaryFile() as handle:
            fd = os.dup(handle.fileno())
    return fd


def _build_on_two(values: list[bytes]) -> tuple[bytes, list[int]]:
    n = len(values)
    split = n // 2
    layout = SharedLayout(n, split)
    fd = shared_file()
    try:
        os.ftruncate(fd, layout.size)
        buffer = mmap.mmap(fd, layout.size)
    except OSError:
        os.close(fd)
        raise
    try:
        with _Worker(fd, layout) as worker:
            return _two_process_steps(worker, buffer, layout, values)
    finally:
        os.close(fd)  # the mapping stays valid without it
        with contextlib.suppress(BufferError):  # a view still held by a traceback: unmapped when it goes
            buffer.close()


def _two_process_steps(
    worker: _Worker, buffer: mmap.mmap, layout: SharedLayout, values: list[bytes]
) -> tuple[bytes, list[int]]:
    n, split = layout.n, layout.split
    buffer[: layout.leaves_at] = b"".join(values[split:])
    worker.ask(TASK_LEAVES, split, n)
    worker_values, leaves, order, tree = layout.arrays(buffer)
    try:
        leaves[:split] = np.frombuffer(hash_leaves(values[:split]), NODE)
        order[:split] = run_order(leaves[:split], 0)
        worker.wait()
        order[:] = leaf_order(leaves, runs=order)
        worker.ask(TASK_SUBTREE, 2, 0)
        place_leaves(tree, leaves, order, 1)
        fill_inner(tree, n, 1)
        worker.wait()
        a, b = tree[1:2].tobytes(), tree[2:3].tobytes()  # (an S32 scalar would drop trailing NUL bytes)
        [root] = _keccak_each([a + b if a < b else b + a])
        tree[0:1] = np.frombuffer(root, NODE)
        return tree.tobytes(), order.tolist()
    finally:
        del worker_values, leaves, order, tree  # the views let go of the buffer before it closes


def worker_command() -> list[str]:
    """The second process's command line without its arguments (this interpreter, so the same packages)."""
    return [sys.executable, "-m", "anchoring.scheme.merkle_worker"]


class _Worker:
    """``python -m anchoring.scheme.merkle_worker FD N SPLIT``: tasks on stdin, one DONE byte per task on stdout."""

    def __init__(self, fd: int, layout: SharedLayout) -> None:
        package_root = str(Path(__file__).resolve().parents[2])
        # this checkout's anchoring first; no empty entry, which would put the working directory on the path
        path = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
        self._proc = subprocess.Popen(
            [*worker_command(), str(fd), str(layout.n), str(layout.split)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            pass_fds=(fd,),
        )

    def __enter__(self) -> _Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        proc = self._proc
        if exc[0] is not None:
            proc.kill()
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()  # end of tasks: the worker exits
        if proc.stdout is not None:
            proc.stdout.close()
        # reaped beside the caller: the exit of a worker that touched a large build takes a moment
        threading.Thread(target=_reap, args=(proc,), name="merkle-worker-reaper", daemon=True).start()

    def ask(self, kind: int, a: int, b: int) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            stdin.write(TASK.pack(kind, a, b))
            stdin.flush()
        except OSError as exc:
            raise _WorkerFailed(f"writing to the worker failed: {exc} (exit {self._proc.poll()})") from None

    def wait(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        answer = read_exactly(stdout, len(DONE))
        if answer != DONE:
            raise _WorkerFailed(f"worker answered {answer!r}, not {DONE!r} (exit {self._proc.poll()})")


def _reap(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def read_exactly(stream: IO[bytes], length: int) -> bytes:
    chunks = []
    left = length
    while left:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
