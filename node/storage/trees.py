"""Stored batch trees: single proofs read as slices of the stored blob, whole trees loaded (and cached) for
multiproofs, revocation and audits."""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.pool import PoolProxiedConnection

from anchoring.scheme.encoding import from_hex, to_hex
from anchoring.scheme.merkle import BlobLayout, MerkleTree, MerkleTreeError, leaf_hash, process_proof
from node.storage.models import Batch, Credential

_BLOB_V2 = b"CRMT\x02"
_HEADER_SIZE = 13  # magic (5) + n (uint64)

# ----------------------------------------------------------------------------------------- trees
_TREE_CACHE: OrderedDict[tuple[int | None, str], MerkleTree] = OrderedDict()


_TREE_CACHE_SIZE = 32


_tree_cache_lock = threading.Lock()


def load_tree(batch: Batch) -> MerkleTree:
    """The batch's tree (cached by id and root; at most 32 trees in memory). Loads the deferred blob."""
    return _cached_tree(batch.id, batch.root, lambda: batch.tree)


def _cached_tree(batch_id: int | None, root: str, blob: Callable[[], bytes]) -> MerkleTree:
    key = (batch_id, root)
    with _tree_cache_lock:
        t = _TREE_CACHE.get(key)
        if t is not None:
            _TREE_CACHE.move_to_end(key)
            return t
    t = MerkleTree.from_bytes(blob())
    if to_hex(t.root) != root:
        raise ValueError(f"batch {batch_id}: stored tree root does not match the batch root")
    with _tree_cache_lock:
        _TREE_CACHE[key] = t
        while len(_TREE_CACHE) > _TREE_CACHE_SIZE:
            _TREE_CACHE.popitem(last=False)
    return t


# ----------------------------------------------------------------------------------------- one proof
def position_columns() -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    """Two SQL expressions to add to a query joining ``credential`` to its ``batch``: the blob's magic and the
    4 bytes of the credential's sorted leaf position (:class:`BlobLayout`, computed in SQL from the batch size and
    the leaf index). Hand both to :func:`read_proof`."""
    b = Batch.__table__.c
    c = Credential.__table__.c
    magic = sa.func.substr(b.tree, 1, 5)
    # 1-based SQL offset of positions[leaf_index]: header + 32n digests + 4n order entries + 4 * index
    pos = sa.func.substr(b.tree, _HEADER_SIZE + 36 * b.size + 4 * c.leaf_index + 1, 4)
    return magic, pos


@functools.cache
def _siblings_query(depth: int) -> sa.Select[Any]:
    """``depth`` 32-byte slices of one batch's blob at bound offsets (one statement per depth: compiled once)."""
    b = Batch.__table__.c
    return sa.select(*(sa.func.substr(b.tree, sa.bindparam(f"o{j}"), 32) for j in range(depth))).where(
        b.id == sa.bindparam("id")
    )


def read_proof(
    conn: sa.Connection,
    *,
    batch_id: int,
    size: int,
    root: str,
    leaf_index: int,
    digest: str,
    magic: bytes | None = None,
    position: bytes | None = None,
) -> list[bytes]:
    """The inclusion proof of the credential at ``leaf_index`` of batch ``batch_id``: its sorted position and the
    ~log2(size) sibling nodes read at their offsets in the stored blob (:class:`BlobLayout`), never the whole blob.

    SQLite: incremental blob I/O (``sqlite3.Blob``; SQL ``substr`` would copy the whole blob once per slice).
    PostgreSQL: one query of ``substr`` slices (the column is stored uncompressed, so a slice reads only its TOAST
    chunks); ``magic`` and ``position`` come from :func:`position_columns` in the caller's query.

    Self-checked: the proof must fold ``digest`` to ``root``. Blobs of the version-1 format (no position table)
    fall back to loading the whole tree."""
    if conn.dialect.name == "sqlite":
        return read_sqlite_proof(
            sqlite_driver(conn.connection),
            batch_id=batch_id,
            size=size,
            root=root,
            leaf_index=leaf_index,
            digest=digest,
        )
    proof = _sql_proof(conn, BlobLayout(size), batch_id, root, leaf_index, magic, position)
    _check(proof, batch_id, root, leaf_index, digest)
    return proof


def sqlite_driver(pooled: PoolProxiedConnection) -> sqlite3.Connection:
    """The sqlite3 connection inside a pooled one (a Core connection's ``.connection``)."""
    raw = pooled.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


def read_sqlite_proof(
    raw: sqlite3.Connection, *, batch_id: int, size: int, root: str, leaf_index: int, digest: str
) -> list[bytes]:
    """:func:`read_proof` on SQLite's own connection (a pooled DBAPI connection serves a proof without a Core
    connection around it)."""
    layout = BlobLayout(size)
    try:
        blob = raw.blobopen("batch", "tree", batch_id, readonly=True)
    except sqlite3.OperationalError as exc:  # no such row
        raise MerkleTreeError(f"batch {batch_id} has no stored tree") from exc
    with blob:
        if blob[0:5] != _BLOB_V2:
            proof = _cached_tree(batch_id, root, blob.read).proof_at(leaf_index)
        else:
            # a slice of a Blob is bytes (typeshed types every subscript as int)
            o = layout.position_offset(leaf_index)
            pos = int.from_bytes(cast(bytes, blob[o : o + 4]), "big")
            proof = [cast(bytes, blob[o : o + 32]) for o in layout.proof_offsets(pos)]
    _check(proof, batch_id, root, leaf_index, digest)
    return proof


def _check(proof: list[bytes], batch_id: int, root: str, leaf_index: int, digest: str) -> None:
    if process_proof(leaf_hash(from_hex(digest)), proof) != from_hex(root):
        raise MerkleTreeError(
            f"batch {batch_id}: stored tree does not prove leaf {leaf_index} (corrupt tree data)"
        )


def _whole_tree_proof(conn: sa.Connection, batch_id: int, root: str, leaf_index: int) -> list[bytes]:
    b = Batch.__table__.c
    t = _cached_tree(
        batch_id, root, lambda: conn.execute(sa.select(b.tree).where(b.id == batch_id)).scalar_one()
    )
    return t.proof_at(leaf_index)


def _sql_proof(
    conn: sa.Connection,
    layout: BlobLayout,
    batch_id: int,
    root: str,
    leaf_index: int,
    magic: bytes | None,
    position: bytes | None,
) -> list[bytes]:
    if magic is None or position is None:
        b = Batch.__table__.c
        o = layout.position_offset(leaf_index)
        row = conn.execute(
            sa.select(sa.func.substr(b.tree, 1, 5), sa.func.substr(b.tree, o + 1, 4)).where(b.id == batch_id)
        ).first()
        if row is None:
            raise MerkleTreeError(f"batch {batch_id} has no stored tree")
        magic, position = bytes(row[0]), bytes(row[1])
    assert magic is not None and position is not None
    if bytes(magic) != _BLOB_V2:
        return _whole_tree_proof(conn, batch_id, root, leaf_index)
    offsets = layout.proof_offsets(int.from_bytes(bytes(position), "big"))
    if not offsets:
        return []
    params: dict[str, int] = {f"o{j}": o + 1 for j, o in enumerate(offsets)}
    params["id"] = batch_id
    return [bytes(x) for x in conn.execute(_siblings_query(len(offsets)), params).one()]
