"""OpenZeppelin ``StandardMerkleTree`` (leaf encoding ``["bytes32"]``), byte for byte, in fast Python.

Scheme (identical to ``@openzeppelin/merkle-tree`` 1.0.x with its default ``sortLeaves: true``):

* value: a credential digest (32 bytes).
* leaf: ``keccak256(keccak256(abi.encode(digest)))``; ``abi.encode(bytes32)`` is the 32 bytes themselves,
  so ``leaf = keccak256(keccak256(digest))``.  The double hash keeps a leaf from ever equalling an inner
  node's 64-byte preimage (second-preimage defence); do not drop it.
* inner node: ``keccak256(min(a, b) || max(a, b))`` (sorted pair, as OpenZeppelin ``MerkleProof``).
* layout: leaf hashes are sorted ascending (stable: equal hashes keep input order) and stored in a
  complete binary tree array of ``2n - 1`` nodes: ``tree[0]`` is the root, the children of ``i`` are
  ``2i + 1`` and ``2i + 2``, the sorted leaf ``k`` sits at ``tree[2n - 2 - k]`` (leaves at the end, in
  reverse order), exactly as OZ's ``makeMerkleTree``.
* proof: sibling hashes from the leaf up to (excluding) the root, as OZ ``getProof``; it passes
  ``MerkleProof.verify(proof, root, leaf)`` on chain.
* multiproof: as OZ ``getMultiProof``; consumable by ``MerkleProof.multiProofVerify``.

Duplicated digests are allowed, as in OZ (each copy gets its own leaf).  Looking a duplicated digest up
by value resolves, as in OZ, to its *last* occurrence in input order; ``proof_at(index)`` addresses
each copy.  A multiproof cannot contain the same leaf twice (OZ: "Cannot prove duplicated index").

The build (:mod:`anchoring.scheme.merkle_build`) sorts and pairs nodes in numpy arrays and hashes with tiny-keccak
(Rust, about 2x safe-pysha3 per call: ``scripts/bench_keccak.py``) where it is installed (the ``node`` extra) and
with safe-pysha3's C keccak otherwise; both give the same bytes (tests/unit/test_merkle.py). Single hashes (leaves,
proofs folded up) make the same choice through :func:`anchoring.scheme.keccak.keccak256`. A tree keeps its nodes
as one ``bytes`` blob, so a single proof reads a few slices of it and serialising it copies it once; the list of
nodes, which walks over all proofs use, is made the first time one of them runs.
"""

from __future__ import annotations

import contextlib
import gc
import os
import struct
import threading
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from anchoring.errors import FormatError
from anchoring.scheme.keccak import keccak256

__all__ = [
    "BlobLayout",
    "MerkleTree",
    "MerkleTreeError",
    "MultiProof",
    "leaf_hash",
    "node_hash",
    "process_multiproof",
    "process_proof",
    "verify_multiproof",
    "verify_proof",
]

_HASH_LEN = 32
_MAGIC_V1 = b"CRMT\x01"  # credreg merkle tree, serialisation version 1 (read only)
_MAGIC = b"CRMT\x02"  # version 2: adds the input-index -> sorted-position table (proofs by offset)
_HEADER = struct.Struct(">5sQ")


class MerkleTreeError(FormatError):
    """Bad input to a tree operation (unknown digest, out-of-range index, malformed data)."""

    document = None

    def __init__(self, message: str) -> None:
        super().__init__("", message)


def _check_node(x: Any, what: str = "node") -> None:
    if type(x) is not bytes or len(x) != _HASH_LEN:
        raise MerkleTreeError(
            f"{what} must be 32 bytes, got {type(x).__name__} of length {len(x) if hasattr(x, '__len__') else '?'}"
        )


def leaf_hash(digest: bytes) -> bytes:
    """``keccak256(keccak256(abi.encode(bytes32 digest)))``."""
    _check_node(digest, "digest")
    return keccak256(keccak256(digest))


def node_hash(a: bytes, b: bytes) -> bytes:
    """``keccak256`` of the sorted pair, as OpenZeppelin ``Hashes.commutativeKeccak256``."""
    return keccak256(a + b if a < b else b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Fold a proof from a *leaf hash* up; returns the computed root (OZ ``processProof``)."""
    _check_node(leaf, "leaf")
    h = leaf
    for p in proof:
        _check_node(p, "proof element")
        h = keccak256(h + p if h < p else p + h)
    return h


def verify_proof(root: bytes, digest: bytes, proof: Sequence[bytes]) -> bool:
    """True iff ``proof`` proves ``digest`` (a value, not a leaf hash) under ``root``.

    Raises :class:`MerkleTreeError` if root, digest or a proof element is not 32 bytes.
    """
    _check_node(root, "root")
    return process_proof(leaf_hash(digest), proof) == root


@dataclass(frozen=True, slots=True)
class MultiProof:
    """OZ ``getMultiProof`` output.

    ``leaves`` are the *digests* (values) in the order the proof consumes them (OZ's order: descending
    tree index, i.e. ascending leaf hash); ``proof`` the extra nodes; ``proof_flags`` as OZ.  The
    on-chain ``MerkleProof.multiProofVerify(proof, proofFlags, root, leaves)`` takes
    :attr:`leaf_hashes` (or a contract that double-hashes the digests itself).
    """

    leaves: tuple[bytes, ...]
    proof: tuple[bytes, ...]
    proof_flags: tuple[bool, ...]

    @property
    def leaf_hashes(self) -> list[bytes]:
        return [leaf_hash(d) for d in self.leaves]


def process_multiproof(
    leaf_hashes: Sequence[bytes], proof: Sequence[bytes], proof_flags: Sequence[bool]
) -> bytes:
    """OZ ``processMultiProof`` over leaf hashes; raises :class:`MerkleTreeError` if malformed."""
    for x in leaf_hashes:
        _check_node(x, "leaf")
    for x in proof:
        _check_node(x, "proof element")
    flags = [bool(f) for f in proof_flags]
    if len(proof) < flags.count(False):
        raise MerkleTreeError("invalid multiproof format")
    if len(leaf_hashes) + len(proof) != len(flags) + 1:
        raise MerkleTreeError("provided leaves and multiproof are not compatible")
    # stack as a list with a moving head: same semantics as OZ's shift()/push() on a JS array
    stack = list(leaf_hashes)
    head = 0
    pi = 0
    for flag in flags:
        if head >= len(stack) or (flag and head + 1 >= len(stack)) or (not flag and pi >= len(proof)):
            raise MerkleTreeError("multiproof flags do not fit its leaves and proof")
        a = stack[head]
        head += 1
        if flag:
            b = stack[head]
            head += 1
        else:
            b = proof[pi]
            pi += 1
        stack.append(keccak256(a + b if a < b else b + a))
    remaining = len(stack) - head + len(proof) - pi
    if remaining != 1:
        raise MerkleTreeError("multiproof did not fold to a single root")
    return stack[-1] if len(stack) > head else proof[pi]


def verify_multiproof(root: bytes, multiproof: MultiProof) -> bool:
    """True iff ``multiproof`` (digests as leaves) proves all its leaves under ``root``.

    Malformed shapes (counts or flags that do not fit) give False; a root, digest or proof element that
    is not 32 bytes raises :class:`MerkleTreeError` (a caller bug, not a bad proof).
    """
    _check_node(root, "root")
    for x in multiproof.proof:
        _check_node(x, "proof element")
    leaves = [leaf_hash(d) for d in multiproof.leaves]
    try:
        return process_multiproof(leaves, multiproof.proof, multiproof.proof_flags) == root
    except MerkleTreeError:
        return False


@dataclass(frozen=True, slots=True)
class BlobLayout:
    """Byte offsets (0-based) inside :meth:`MerkleTree.to_bytes` output for a tree of ``n`` leaves.

    A reader that holds the blob in a database reads one proof as a handful of 32-byte slices: the leaf's
    sorted position (:meth:`position_offset`, version 2 only), then :meth:`proof_offsets` of it.
    """

    n: int
    version: int = 2

    @property
    def order_offset(self) -> int:
        return _HEADER.size + 32 * self.n

    @property
    def positions_offset(self) -> int:
        if self.version < 2:
            raise MerkleTreeError("version 1 tree data has no position table")
        return self.order_offset + 4 * self.n

    @property
    def nodes_offset(self) -> int:
        return self.order_offset + 4 * self.n * (2 if self.version >= 2 else 1)

    @property
    def size(self) -> int:
        return self.nodes_offset + 32 * (2 * self.n - 1)

    def position_offset(self, index: int) -> int:
        """Where the sorted position of input ``index`` sits (4 bytes, big-endian)."""
        if not 0 <= index < self.n:
            raise MerkleTreeError(f"index {index!r} out of range for a tree of {self.n} leaves")
        return self.positions_offset + 4 * index

    def tree_index(self, position: int) -> int:
        """Node-array index of the leaf at sorted ``position``."""
        if not 0 <= position < self.n:
            raise MerkleTreeError(f"sorted position {position!r} out of range for a tree of {self.n} leaves")
        return 2 * self.n - 2 - position

    def node_offset(self, tree_index: int) -> int:
        return self.nodes_offset + 32 * tree_index

    def proof_offsets(self, position: int) -> list[int]:
        """Offsets of the sibling nodes of the leaf at sorted ``position``, leaf upwards (its proof)."""
        i = self.tree_index(position)
        base = self.nodes_offset  # once, not per level: this runs on every proof served
        out = []
        while i > 0:
            out.append(base + 32 * (i - 1 if i % 2 == 0 else i + 1))
            i = (i - 1) // 2
        return out


class MerkleTree:
    """An immutable OZ-compatible tree over credential digests.

    Build with :meth:`build`; persist with :meth:`to_bytes` / :meth:`from_bytes` (or the OZ-compatible
    JSON :meth:`to_oz_dump` / :meth:`from_oz_dump`).
    """

    __slots__ = ("_blob", "_node_list", "_order", "_pos_of_value", "_values")

    def __init__(self, nodes: bytes, values: list[bytes], order: list[int]) -> None:
        # Internal: use build()/from_bytes().  nodes: the 2n-1 nodes joined; values: digests in input order;
        # order[k] = input index of the k-th smallest leaf (stable).
        self._blob = nodes
        self._values = values
        self._order = order
        self._node_list: list[bytes] | None = None
        self._pos_of_value: list[int] | None = None

    @property
    def _tree(self) -> list[bytes]:
        """The nodes as a list (made once): for walks that visit most of them."""
        nodes = self._node_list
        if nodes is None:
            blob = self._blob
            nodes = self._node_list = [blob[i : i + 32] for i in range(0, len(blob), 32)]
        return nodes

    def _node(self, i: int) -> bytes:
        return self._blob[32 * i : 32 * i + 32]

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, digests: Sequence[bytes] | Iterable[bytes], *, processes: int | None = None) -> MerkleTree:
        """Build the tree over ``digests`` (32-byte values, at least one; duplicates allowed as in OZ).

        ``processes``: 1 builds in this process, 2 on two cores (a second Python process for the build, for large
        batches); by default 2 from :data:`~anchoring.scheme.merkle_build.TWO_PROCESS_MIN_LEAVES` leaves on a
        machine with two or more CPUs. The tree is the same byte for byte either way.
        """
        values = list(digests)
        n = len(values)
        if n == 0:
            raise MerkleTreeError("a Merkle tree needs at least one leaf")
        if set(map(type, values)) != {bytes} or set(map(len, values)) != {_HASH_LEN}:
            bad = next(i for i, d in enumerate(values) if type(d) is not bytes or len(d) != _HASH_LEN)
            raise MerkleTreeError(f"digest #{bad} must be 32 bytes")
        from anchoring.scheme import merkle_build  # numpy: not for verifiers, which never build a tree

        if processes is None:
            processes = 2 if n >= merkle_build.TWO_PROCESS_MIN_LEAVES and usable_cpus() >= 2 else 1
        elif processes not in (1, 2):
            raise MerkleTreeError(f"processes must be 1 or 2, not {processes!r}")
        with gc_paused():
            nodes, order = merkle_build.build_nodes(values, processes=processes)
        return cls(nodes, values, order)

    # ------------------------------------------------------------------ accessors
    @property
    def root(self) -> bytes:
        return self._blob[:32]

    def __len__(self) -> int:
        return len(self._values)

    @property
    def digests(self) -> list[bytes]:
        """The values in input order (a copy)."""
        return list(self._values)

    @property
    def nodes(self) -> list[bytes]:
        """The complete-binary-tree node array (a copy): ``nodes[0]`` is the root."""
        return list(self._tree)

    def tree_index(self, index: int) -> int:
        """Position in the node array of the leaf for input ``index``."""
        return 2 * len(self._values) - 2 - self._pos(index)

    def _pos(self, index: int) -> int:
        n = len(self._values)
        if type(index) is not int or not 0 <= index < n:
            raise MerkleTreeError(f"index {index!r} out of range for a tree of {n} leaves")
        pos = self._pos_of_value
        if pos is None:
            pos = self._pos_of_value = _inverse(self._order).tolist()
        return pos[index]

    def index_of(self, digest: bytes) -> int:
        """Input index of ``digest`` (its last occurrence if duplicated, as OZ's lookup)."""
        h = leaf_hash(digest)
        n = len(self._values)
        # the leaves in ascending order are nodes 2n-2 down to n-1: bisect over that reversed run of the blob
        k = bisect_right(_Ascending(self._blob, n), h) - 1
        if k < 0 or self._node(2 * n - 2 - k) != h:
            raise MerkleTreeError(f"digest 0x{digest.hex()} is not in the tree")
        return self._order[k]

    def __contains__(self, digest: object) -> bool:
        try:
            self.index_of(digest)  # type: ignore[arg-type]
        except MerkleTreeError:
            return False
        return True

    # ------------------------------------------------------------------ proofs
    def proof(self, digest: bytes) -> list[bytes]:
        """Proof for ``digest`` (OZ ``getProof(value)``): sibling hashes, leaf upwards."""
        return self.proof_at(self.index_of(digest))

    def proof_at(self, index: int) -> list[bytes]:
        """Proof for the value at input ``index`` (OZ ``getProof(index)``); self-checked against the root."""
        i = self.tree_index(index)
        leaf = self._node(i)
        if leaf_hash(self._values[index]) != leaf:
            raise MerkleTreeError("tree does not contain the expected value (corrupt tree data)")
        proof = []
        while i > 0:
            proof.append(self._node(i - 1 if i % 2 == 0 else i + 1))
            i = (i - 1) // 2
        if process_proof(leaf, proof) != self.root:
            raise MerkleTreeError("unable to prove value (corrupt tree data)")
        return proof

    def iter_proofs(self) -> Iterator[tuple[int, list[bytes]]]:
        """Yield ``(input index, proof)`` for every leaf, in tree (depth-first) order, without hashing.

        Each inner node's partial path is computed once and shared, so this is O(n) Python steps
        plus C-level list concatenation; memory stays O(depth).
        """
        tree = self._tree
        size = len(tree)
        last = size - 1
        order = self._order
        stack: list[tuple[int, list[bytes]]] = [(0, [])]
        pop = stack.pop
        push = stack.append
        while stack:
            i, pr = pop()
            left = 2 * i + 1
            if left >= size:
                yield order[last - i], pr
            else:
                push((left + 1, [tree[left], *pr]))
                push((left, [tree[left + 1], *pr]))

    def all_proofs(self) -> list[list[bytes]]:
        """All proofs in input order (``all_proofs()[i] == proof_at(i)``), without rebuilding the tree.

        Materialises n lists (about 250 MB for 1M leaves); stream with :meth:`iter_proofs` instead
        when storing them.
        """
        out: list[list[bytes]] = [None] * len(self._values)  # type: ignore[list-item]
        with gc_paused():  # a million new lists would trigger many full GC passes for nothing
            for i, p in self.iter_proofs():
                out[i] = p
        return out

    def multiproof(self, digests: Sequence[bytes]) -> MultiProof:
        """OZ ``getMultiProof(values)``: one proof for several digests (each at most once)."""
        return self.multiproof_at([self.index_of(d) for d in digests])

    def multiproof_at(self, indices: Sequence[int]) -> MultiProof:
        """OZ ``getMultiProof(indices)`` with input indices."""
        tree = self._tree
        tidx = sorted((self.tree_index(i) for i in indices), reverse=True)
        for a, b in pairwise(tidx):
            if a == b:
                raise MerkleTreeError("cannot prove a duplicated index")
        stack = list(tidx)
        head = 0
        proof: list[bytes] = []
        flags: list[bool] = []
        while len(stack) > head and stack[head] > 0:
            j = stack[head]
            head += 1
            s = j - 1 if j % 2 == 0 else j + 1
            p = (j - 1) // 2
            if len(stack) > head and stack[head] == s:
                flags.append(True)
                head += 1
            else:
                flags.append(False)
                proof.append(tree[s])
            stack.append(p)
        if not tidx:
            proof.append(tree[0])
        last = len(tree) - 1
        leaves = tuple(self._values[self._order[last - t]] for t in tidx)
        mp = MultiProof(leaves=leaves, proof=tuple(proof), proof_flags=tuple(flags))
        if not verify_multiproof(tree[0], mp):
            raise MerkleTreeError("unable to prove values (corrupt tree data)")
        return mp

    # ------------------------------------------------------------------ rendering
    def render(self) -> str:
        """Text drawing identical to OZ ``tree.render()``."""
        tree = self._tree
        size = len(tree)
        stack: list[tuple[int, list[int]]] = [(0, [])]
        lines = []
        while stack:
            i, path = stack.pop()
            prefix = "".join(("   ", "\u2502  ")[p] for p in path[:-1])
            prefix += "".join(("\u2514\u2500 ", "\u251c\u2500 ")[p] for p in path[-1:])
            lines.append(f"{prefix}{i}) 0x{tree[i].hex()}")
            if 2 * i + 2 < size:
                stack.append((2 * i + 2, [*path, 0]))
                stack.append((2 * i + 1, [*path, 1]))
        return "\n".join(lines)

    # ------------------------------------------------------------------ persistence
    def to_bytes(self) -> bytes:
        """Compact binary form: everything needed to answer proofs later, no hashing on reload.

        ``"CRMT\\x02" | n (uint64 BE) | n digests in input order (32 B each) |
        n sorted-position -> input-index entries (uint32 BE) | n input-index -> sorted-position entries
        (uint32 BE) | 2n-1 nodes (32 B each)``.  Every field sits at an offset computed from ``n`` alone
        (:class:`BlobLayout`), so one proof is read from a stored blob without loading it whole.
        Version 1 (the same without the second table) is still read.
        """
        n = len(self._values)
        if n >= 2**32:  # pragma: no cover - far beyond any batch
            raise MerkleTreeError("tree too large to serialise")
        parts = [
            _HEADER.pack(_MAGIC, n),
            b"".join(self._values),
            struct.pack(f">{n}I", *self._order),
            _inverse(self._order).astype(">u4").tobytes(),
            self._blob,
        ]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes, *, verify: bool = False) -> MerkleTree:
        """Reload :meth:`to_bytes` output (version 1 or 2).  Sizes and the permutation are always checked;
        with ``verify=True`` the whole tree is recomputed from the digests and compared (as costly as a
        build).  Without it, every single proof is still self-checked against the root when served.
        """
        data = bytes(data)
        if len(data) < _HEADER.size:
            raise MerkleTreeError("truncated tree data")
        magic, n = _HEADER.unpack_from(data)
        if magic not in (_MAGIC, _MAGIC_V1):
            raise MerkleTreeError("not credreg tree data (bad magic/version)")
        layout = BlobLayout(n, version=2 if magic == _MAGIC else 1)
        if n == 0 or len(data) != layout.size:
            raise MerkleTreeError("tree data has the wrong length")
        off = _HEADER.size
        values = [data[o : o + 32] for o in range(off, off + 32 * n, 32)]
        order = list(struct.unpack_from(f">{n}I", data, layout.order_offset))
        if sorted(order) != list(range(n)):
            raise MerkleTreeError("tree data has an invalid leaf permutation")
        nodes = data[layout.nodes_offset :]
        t = cls(nodes, values, order)
        if layout.version == 2:
            pos = list(struct.unpack_from(f">{n}I", data, layout.positions_offset))
            if any(order[p] != i for i, p in enumerate(pos)):
                raise MerkleTreeError("tree data has an invalid position table")
            t._pos_of_value = pos
        if verify:
            fresh = cls.build(values)
            if fresh._blob != nodes or fresh._order != order:
                raise MerkleTreeError("tree data does not match its digests")
        return t

    def to_oz_dump(self) -> dict[str, Any]:
        """OZ ``StandardMerkleTree.dump()`` format (``standard-v1``), loadable by ``StandardMerkleTree.load``."""
        last = len(self._tree) - 1
        return {
            "format": "standard-v1",
            "leafEncoding": ["bytes32"],
            "tree": ["0x" + h.hex() for h in self._tree],
            "values": [
                {"value": ["0x" + d.hex()], "treeIndex": last - self._pos(i)}
                for i, d in enumerate(self._values)
            ],
        }

    @classmethod
    def from_oz_dump(cls, dump: dict[str, Any]) -> MerkleTree:
        """Load an OZ ``standard-v1`` dump with leaf encoding ``["bytes32"]``; validated fully (as OZ ``load``)."""
        if dump.get("format") != "standard-v1":
            raise MerkleTreeError(f"unknown format {dump.get('format')!r}")
        if dump.get("leafEncoding") != ["bytes32"]:
            raise MerkleTreeError("only leaf encoding ['bytes32'] is supported")
        try:
            values = [bytes.fromhex(v["value"][0].removeprefix("0x")) for v in dump["values"]]
            tidx = [int(v["treeIndex"]) for v in dump["values"]]
            tree = [bytes.fromhex(h.removeprefix("0x")) for h in dump["tree"]]
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise MerkleTreeError(f"malformed dump: {exc}") from None
        n = len(values)
        if n == 0 or len(tree) != 2 * n - 1 or any(len(h) != 32 for h in tree):
            raise MerkleTreeError("malformed dump: wrong number or size of nodes")
        last = 2 * n - 2
        order = [0] * n
        seen = set()
        for i, t in enumerate(tidx):
            pos = last - t
            if not 0 <= pos < n or pos in seen:
                raise MerkleTreeError("malformed dump: bad treeIndex")
            seen.add(pos)
            order[pos] = i
        for i, d in enumerate(values):
            _check_node(d, f"value #{i}")
            if leaf_hash(d) != tree[tidx[i]]:
                raise MerkleTreeError(f"value #{i} does not match its leaf")
        from anchoring.scheme.merkle_build import heap_tree

        nodes = b"".join(tree)
        if heap_tree(nodes[32 * (n - 1) :]) != nodes:
            raise MerkleTreeError("merkle tree is invalid")
        # Sorted-leaf layout is what our lookups rely on (OZ dumps with sortLeaves:false are not).
        leaves = tree[n - 1 :]
        if any(leaves[i] < leaves[i + 1] for i in range(n - 1)):
            raise MerkleTreeError("leaves are not sorted (only sortLeaves: true trees are supported)")
        return cls(nodes, values, order)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while creating millions of acyclic objects (restores the previous state).
    Also used by verification, which builds as many short-lived objects per batch of bundles.

    Measured here: all proofs of a 1M-leaf tree take 7.6 s with the GC running, 2.0 s without.

    Safe across threads (an API worker verifies in several): one count of active pauses, so that a pause ending in
    one thread never leaves the GC off for good, nor turns it back on under another thread's pause.
    """
    global _pauses, _resume_gc
    with _pause_lock:  # threads pause and resume together: the GC runs again when the last pause ends
        if _pauses == 0:
            _resume_gc = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _resume_gc:
                gc.enable()


_pause_lock = threading.Lock()
_pauses = 0
_resume_gc = False


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the OS tells it, as under a container's cpuset): what the
    two-process Merkle build and the two-process ``credreg verify`` decide by."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _inverse(order: list[int]) -> Any:
    """``pos`` (a numpy array) with ``order[pos[i]] == i``: in C, where a Python loop took 0.25 s at 1M leaves."""
    import numpy as np  # only for trees a node builds or serialises: verifiers never need it

    indices = np.asarray(order, dtype=np.int64)
    pos = np.empty_like(indices)
    pos[indices] = np.arange(len(indices))
    return pos


class _Ascending(Sequence[bytes]):
    """The leaves of a node blob in ascending order, read where they lie (for :func:`bisect.bisect_right`)."""

    __slots__ = ("_blob", "_n")

    def __init__(self, blob: bytes, n: int) -> None:
        self._blob = blob
        self._n = n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, k: Any) -> Any:
        at = 32 * (2 * self._n - 2 - k)
        return self._blob[at : at + 32]
