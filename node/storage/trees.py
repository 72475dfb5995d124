"""Stored batch trees, loaded (and cached) to answer proofs and multiproofs."""

from __future__ import annotations

import threading
from collections import OrderedDict

from anchoring.scheme.encoding import to_hex
from anchoring.scheme.merkle import MerkleTree
from node.storage.models import Batch

# ----------------------------------------------------------------------------------------- trees
_TREE_CACHE: OrderedDict[tuple[int | None, str], MerkleTree] = OrderedDict()


_TREE_CACHE_SIZE = 32


_tree_cache_lock = threading.Lock()


def load_tree(batch: Batch) -> MerkleTree:
    """The batch's tree (cached by id and root; at most 32 trees in memory)."""
    key = (batch.id, batch.root)
    with _tree_cache_lock:
        t = _TREE_CACHE.get(key)
        if t is not None:
            _TREE_CACHE.move_to_end(key)
            return t
    t = MerkleTree.from_bytes(batch.tree)
    if to_hex(t.root) != batch.root:
        raise ValueError(f"batch {batch.id}: stored tree root does not match the batch root")
    with _tree_cache_lock:
        _TREE_CACHE[key] = t
        while len(_TREE_CACHE) > _TREE_CACHE_SIZE:
            _TREE_CACHE.popitem(last=False)
    return t
