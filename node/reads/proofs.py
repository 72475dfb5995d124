"""Public proofs by digest (no personal data).

Served without trees: one query reads the credential joined to its batch and issuer (never the tree blob, a
deferred column; on SQLite the batch columns come from the ix_batch_proof index, not the row, and the query runs on
:class:`ProofReader`'s own DBAPI connection), plus, on PostgreSQL, the leaf's sorted position sliced out of the blob; then the ~log2(n)
sibling nodes are read at their offsets (node.storage.trees.read_proof)."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import pysqlite

from anchoring.scheme.encoding import to_hex
from node.reads.lookup import BatchAnchor, lifecycle_state_of, normalize_digest, not_found
from node.storage.models import BATCH_PROOF_INDEX, Batch, Credential, CredentialStatus, Issuer
from node.storage.trees import position_columns, read_proof, read_sqlite_proof, sqlite_driver


@dataclass(frozen=True)
class BatchRef:
    id: int
    size: int
    state: str


@dataclass(frozen=True)
class Proof:
    """What anyone may know about a digest: its lifecycle state and, once sealed, its inclusion proof."""

    digest: str
    state: str  # pending | batched | submitted | anchored | failed
    root: str | None = None
    leaf_index: int | None = None
    proof: list[str] | None = None  # sibling hashes, leaf upwards (0x hex)
    batch: BatchRef | None = None
    anchor: BatchAnchor | None = None

    @property
    def final(self) -> bool:
        """Anchored: the proof and its anchor no longer change (a cache may keep the answer)."""
        return self.state == "anchored"


_c = Credential.__table__.c
_b = Batch.__table__.c
_i = Issuer.__table__.c
_QUERY = (
    sa.select(
        _c.digest,
        _c.status,
        _c.leaf_index,
        _i.address,
        _b.id,
        _b.root,
        _b.size,
        _b.state,
        _b.chain_id,
        _b.contract_address,
        _b.tx_hash,
        _b.block_number,
        _b.block_hash,
        _b.block_timestamp,
        _b.confirmed_at,
        _b.confirmations,
    )
    .select_from(
        Credential.__table__.join(Issuer.__table__, _i.id == _c.issuer_id).outerjoin(
            Batch.__table__, _b.id == _c.batch_id
        )
    )
    .where(_c.digest == sa.bindparam("digest"))
)
#: PostgreSQL: the same plus the blob's magic and the leaf's sorted position, sliced in the same query
_QUERY_WITH_POSITION = _QUERY.add_columns(*position_columns())


def proof_for(conn: sa.Connection, digest: str) -> Proof:
    """Public proof view (no personal data). Raises NotFound for an unknown digest. Reads on a Core connection
    (``session.connection()`` inside a session): the hot path opens no ORM session (~45 us per proof)."""
    if conn.dialect.name == "sqlite":
        return _sqlite_proof_for(sqlite_driver(conn.connection), digest)
    digest = normalize_digest(digest)
    row = conn.execute(_QUERY_WITH_POSITION, {"digest": digest}).first()
    if row is None:
        raise not_found(digest)
    magic, position = row[16:]
    return _proof_of(row, functools.partial(read_proof, conn, magic=magic, position=position))


class ProofReader:
    """Proofs for one API process. On a SQLite file it keeps a connection of its own, taken from the engine's pool
    once and detached from it (the query's SQL compiled once, no checkout, reset and check-in per proof: ~30 us of
    ~100), used only on the thread that calls :meth:`proof` (the event loop: a local read no WAL reader waits for).
    It reads in autocommit, so each proof sees the newest commit. Elsewhere each proof takes a pooled Core connection
    (:func:`proof_for`)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        #: the proof is a local file read: call :meth:`proof` on the event loop, not in a worker thread
        self.local = engine.dialect.name == "sqlite"
        # an in-memory database is the one connection of a StaticPool: it cannot leave the pool
        self._own = self.local and not isinstance(engine.pool, sa.pool.StaticPool)
        self._raw: sqlite3.Connection | None = None

    def proof(self, digest: str) -> Proof:
        """:func:`proof_for` ``digest``; raises NotFound for an unknown digest."""
        if not self._own:
            with self._engine.connect() as conn:
                return proof_for(conn, digest)
        try:
            return _sqlite_proof_for(self._connection(), digest)
        except sqlite3.Error:  # a connection that broke is not kept: one more try on a new one
            self.close()
            return _sqlite_proof_for(self._connection(), digest)

    def _connection(self) -> sqlite3.Connection:
        if self._raw is None:
            pooled = self._engine.raw_connection()  # set up by the engine's connect event (WAL, mmap, ...)
            self._raw = sqlite_driver(pooled)
            pooled.detach()  # its slot goes back to the pool; this reader closes the connection itself
        return self._raw

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None


@functools.cache
def _sqlite_statement() -> tuple[str, list[Any]]:
    """``_QUERY`` as SQLite SQL with its one ``?`` and each column's result processor (what Core would apply:
    DateTime columns are stored as text)."""
    dialect = pysqlite.dialect()
    sql = str(_QUERY.compile(dialect=dialect))
    # SQLAlchemy renders no table hints for SQLite; the planner would take the row by its rowid (BATCH_PROOF_INDEX)
    join = "LEFT OUTER JOIN batch ON"
    assert sql.count(join) == 1, sql
    sql = sql.replace(join, f"LEFT OUTER JOIN batch INDEXED BY {BATCH_PROOF_INDEX} ON")
    processors = [
        c.type.dialect_impl(dialect).result_processor(dialect, None) for c in _QUERY.selected_columns
    ]
    return sql, processors


def _sqlite_proof_for(raw: sqlite3.Connection, digest: str) -> Proof:
    digest = normalize_digest(digest)
    sql, processors = _sqlite_statement()
    rows = raw.execute(
        sql, (digest,)
    ).fetchall()  # fetchall: the statement is done, no read transaction left open
    if not rows:
        raise not_found(digest)
    row = [v if p is None or v is None else p(v) for p, v in zip(processors, rows[0], strict=True)]
    return _proof_of(row, functools.partial(read_sqlite_proof, raw))


def _proof_of(row: Sequence[Any], siblings: Callable[..., list[bytes]]) -> Proof:
    """The Proof of one ``_QUERY`` row; ``siblings(batch_id=, size=, root=, leaf_index=, digest=)`` reads the
    proof (:func:`read_proof` or :func:`read_sqlite_proof` with their connection bound)."""
    (d, status, leaf_index, issuer, bid, root, size, bstate, chain_id, contract, tx_hash, block_number) = row[
        :12
    ]
    block_hash, block_timestamp, confirmed_at, confirmations = row[12:16]
    state = lifecycle_state_of(status, bstate if bid is not None else None)
    anchor = None
    if status == CredentialStatus.anchored.value and bid is not None:
        anchor = BatchAnchor(
            chain_id=chain_id,
            contract=contract,
            tx_hash=tx_hash,
            block_number=block_number,
            block_hash=block_hash,
            issuer=issuer,
            anchored_at=block_timestamp,
            confirmed_at=confirmed_at,
            confirmations=confirmations,
        )
    if bid is None:
        return Proof(digest=d, state=state, anchor=anchor)
    assert leaf_index is not None  # the sealer sets batch_id and leaf_index together
    proof = siblings(batch_id=bid, size=size, root=root, leaf_index=leaf_index, digest=d)
    return Proof(
        digest=d,
        state=state,
        root=root,
        leaf_index=leaf_index,
        proof=[to_hex(h) for h in proof],
        batch=BatchRef(bid, size, bstate),
        anchor=anchor,
    )
