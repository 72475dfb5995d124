"""Computing a tree's node array from its digests: in this process, or on two cores for large batches.

The result is the OpenZeppelin ``StandardMerkleTree`` layout described in :mod:`anchoring.scheme.merkle`, byte
for byte, whichever way it is computed.

The two-core build splits the work where it splits cleanly: each process hashes and sorts half of the leaves
(timsort then merges the two sorted halves in one linear pass), and each computes the inner nodes of one of the
root's two subtrees (in the heap layout the subtree under ``tree[1]`` and the one under ``tree[2]`` share no
node). The second process is a plain ``python -m anchoring.scheme.merkle_worker`` fed through its stdin and
stdout (no pickling, no fork of a threaded node, no re-import of the caller's main module); if it cannot be
started or dies, the build is done here instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import subprocess
import sys
import threading
from array import array
from collections.abc import Iterable, Iterator
from operator import methodcaller
from pathlib import Path
from typing import IO

from sha3 import keccak_256 as _k

__all__ = ["TWO_PROCESS_MIN_LEAVES", "build_nodes", "fill_inner", "heap_tree"]

log = logging.getLogger(__name__)

#: Below this many leaves the second process costs more than it saves: its start-up and the copies through its pipes
#: against half the hashing (measured here: 350,000 leaves 0.95 s in one process, 0.98 s in two; 500,000 1.64 s and
#: 1.45 s; 1M 3.2-3.9 s and 2.6-3.1 s; ``scripts/bench_merkle.py`` prints both builds).
TWO_PROCESS_MIN_LEAVES = 400_000

_digest = methodcaller("digest")


def _keccak_each_sha3(preimages: Iterable[bytes]) -> Iterator[bytes]:
    return map(_digest, map(_k, preimages))


try:
    from tiny_keccak import keccak256 as _tiny_keccak  # type: ignore[import-not-found,unused-ignore]

    def _keccak_each_tiny(preimages: Iterable[bytes]) -> Iterator[bytes]:
        return map(_tiny_keccak, preimages)

    _keccak_each = _keccak_each_tiny
except ImportError:  # the verifier-only install: safe-pysha3
    _keccak_each = _keccak_each_sha3


def fill_inner(tree: list[bytes], n: int) -> None:
    """Compute inner nodes 0..n-2 of a ``2n - 1`` node array in place, one heap level at a time (deepest first)."""
    if n < 2:
        return
    hash_each = _keccak_each
    concat = bytes.__add__
    last_inner = n - 2
    depth = (last_inner + 1).bit_length() - 1
    while depth >= 0:
        lo = (1 << depth) - 1
        hi = min((1 << (depth + 1)) - 2, last_inner)
        left = tree[2 * lo + 1 : 2 * hi + 2 : 2]
        right = tree[2 * lo + 2 : 2 * hi + 3 : 2]
        # the sorted pair min(a, b) || max(a, b), built and hashed by C loops (no bytecode per node)
        tree[lo : hi + 1] = hash_each(map(concat, map(min, left, right), map(max, left, right)))
        depth -= 1


def heap_tree(leaves: list[bytes]) -> list[bytes]:
    """The ``2n - 1`` node array over ``n`` leaves given in heap order (they are its last ``n`` nodes), inner nodes
    computed."""
    tree: list[bytes] = [b""] * (len(leaves) - 1)
    tree += leaves
    fill_inner(tree, len(leaves))
    return tree


def sorted_leaves(values: list[bytes]) -> tuple[list[bytes], list[int]]:
    """The double-hashed leaves in ascending order, and for each the index of its value in ``values``.

    Stable, like JS ``Array.prototype.sort``: equal leaves (a digest given twice) keep their input order.
    """
    leaves = list(_keccak_each(_keccak_each(values)))
    order = sorted(range(len(leaves)), key=leaves.__getitem__)
    return list(map(leaves.__getitem__, order)), order


def build_nodes(values: list[bytes], *, processes: int = 1) -> tuple[list[bytes], list[int]]:
    """The node array (``2n - 1`` nodes, root first) and ``order`` (input index of the k-th smallest leaf).

    ``processes=2`` computes it on two cores (for ``n >= 2``); the bytes are the same either way.
    """
    if processes > 1 and len(values) >= 2:
        try:
            return _build_on_two(values)
        except (OSError, _WorkerFailed) as exc:
            log.warning("two-process Merkle build failed (%s); building in one process", exc)
    return _build_here(values)


def _build_here(values: list[bytes]) -> tuple[list[bytes], list[int]]:
    ascending, order = sorted_leaves(values)
    ascending.reverse()  # sorted leaf k sits at 2n-2-k
    return heap_tree(_contiguous(ascending)), order


def _contiguous(nodes: list[bytes]) -> list[bytes]:
    """The same nodes as new objects laid out in memory in list order.

    After the sort, neighbouring leaves sit at random addresses, and the inner-node pass reads them pairwise:
    copying them once in order costs less than the cache misses it saves (``scripts/bench_merkle.py``).
    """
    return split_nodes(b"".join(nodes))


class _WorkerFailed(Exception):
    """The second process of a two-process build exited or answered short."""


# task frames, parent -> worker: kind (1 byte) and a count, then count * 32 bytes
FRAME = struct.Struct(">BQ")
TASK_SORTED_LEAVES = 1  # answer: count sorted leaves (32 B each), then count uint32 indices (native order)
TASK_INNER_NODES = 2  # count leaves of a full subtree in heap order -> its count - 1 inner nodes


def split_nodes(blob: bytes) -> list[bytes]:
    return [blob[i : i + 32] for i in range(0, len(blob), 32)]


def _subtree_slices(size: int, root: int) -> list[slice]:
    """The slices of a ``size``-node heap array that hold the subtree under ``root``, level by level.

    Concatenated, they are that subtree in heap layout: a full, complete tree in its own right, so its leaves are
    its last ``(len + 1) // 2`` nodes and :func:`fill_inner` computes it.
    """
    out = []
    width = 1
    start = root
    while start < size:
        out.append(slice(start, min(start + width, size)))
        start = 2 * start + 1
        width *= 2
    return out


def _subtree(tree: list[bytes], root: int) -> tuple[list[slice], list[bytes]]:
    """Where the subtree under ``root`` sits in ``tree`` (:func:`_subtree_slices`), and its leaves in heap order."""
    slices = _subtree_slices(len(tree), root)
    nodes: list[bytes] = []
    for s in slices:
        nodes += tree[s]
    return slices, nodes[(len(nodes) - 1) // 2 :]


def _scatter(tree: list[bytes], slices: list[slice], nodes: list[bytes]) -> None:
    at = 0
    for s in slices:
        width = s.stop - s.start
        tree[s] = nodes[at : at + width]
        at += width


def _build_on_two(values: list[bytes]) -> tuple[list[bytes], list[int]]:
    n = len(values)
    half = n // 2
    with _Worker() as worker:
        worker.send(TASK_SORTED_LEAVES, values[half:])
        low_leaves, low_order = sorted_leaves(values[:half])
        blob = worker.receive(32 * (n - half) + 4 * (n - half))
        high_leaves = split_nodes(blob[: 32 * (n - half)])
        high_order = array("I")
        high_order.frombytes(blob[32 * (n - half) :])
        del blob
        both = low_leaves + high_leaves
        del low_leaves, high_leaves
        # two ascending runs: timsort merges them in one linear, stable pass (low half first on ties)
        merged = sorted(range(n), key=both.__getitem__)
        offsets = low_order
        offsets += map(half.__add__, high_order)
        order = list(map(offsets.__getitem__, merged))
        tree: list[bytes] = [b""] * (n - 1)
        tree += map(both.__getitem__, reversed(merged))
        del both, merged, offsets

        right, right_leaves = _subtree(tree, 2)
        worker.send(TASK_INNER_NODES, right_leaves)
        left, left_leaves = _subtree(tree, 1)
        _scatter(tree, left, heap_tree(_contiguous(left_leaves)))
        right_inner = split_nodes(worker.receive(32 * (len(right_leaves) - 1)))
        _scatter(tree, right, right_inner + right_leaves)
    a, b = tree[1], tree[2]
    [tree[0]] = _keccak_each([a + b if a < b else b + a])
    return tree, order


def worker_command() -> list[str]:
    """The second process's command line (this interpreter, so the same packages)."""
    return [sys.executable, "-m", "anchoring.scheme.merkle_worker"]


class _Worker:
    """``python -m anchoring.scheme.merkle_worker``, fed frames on stdin; answers on stdout."""

    def __init__(self) -> None:
        package_root = str(Path(__file__).resolve().parents[2])
        # this checkout's anchoring first; no empty entry, which would put the working directory on the path
        path = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
        self._proc = subprocess.Popen(
            worker_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
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
        # reaped beside the caller: the kernel takes ~0.1 s to free a worker's memory after a 1M-leaf build
        threading.Thread(target=_reap, args=(proc,), name="merkle-worker-reaper", daemon=True).start()

    def send(self, kind: int, nodes: list[bytes]) -> None:
        """Write one task; returns once the worker has it all (a pipe holds 64 KiB).

        Written here, not from a thread: the caller's next step is a long C loop holding the GIL (tiny-keccak
        does not release it), which would stall a writer thread's write until the loop ends.
        """
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            stdin.write(FRAME.pack(kind, len(nodes)))
            stdin.write(b"".join(nodes))
            stdin.flush()
        except OSError as exc:
            raise _WorkerFailed(f"writing to the worker failed: {exc} (exit {self._proc.poll()})") from None

    def receive(self, length: int) -> bytes:
        stdout = self._proc.stdout
        assert stdout is not None
        data = read_exactly(stdout, length)
        if len(data) != length:
            raise _WorkerFailed(f"worker answered {len(data)} of {length} bytes (exit {self._proc.poll()})")
        return data


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
