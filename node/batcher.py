"""Sealing pending credentials into Merkle batches, and the batch state machine the anchorer drives.

Sealing (``seal_due_batches``): per issuer, when ``batch_max_size`` credentials are pending or the oldest
has waited ``batch_max_age_seconds``, take up to ``batch_max_size`` of them (oldest first), build the
OpenZeppelin-compatible tree, and in ONE transaction insert the ``Batch`` (root + serialised tree) and
mark each credential ``batched`` with its ``leaf_index`` (its index in the tree's input order).

Safe under several workers: on PostgreSQL a per-issuer ``pg_try_advisory_xact_lock`` plus
``FOR UPDATE SKIP LOCKED``; everywhere an optimistic check (the claim ``UPDATE ... WHERE status =
'pending'`` must hit every selected row or the transaction is rolled back). SQLite has a single writer.

Batch states (``BatchState``)::

    sealed --record_submission--> submitted --record_confirmation--> confirmed
      ^                              |   ^                               |
      +-------record_dropped---------+   +----------record_reorg---------+
    sealed/submitted --record_failure(final=True)--> failed

Every transition function checks the source state (``InvalidTransition`` otherwise) and commits by
default (``commit=False`` to compose into a larger transaction). ``record_submission`` must be committed
BEFORE the transaction is broadcast.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, select

from anchoring.hashing import from_hex, to_hex
from anchoring.merkle import MerkleTree

from . import metrics
from .db import is_postgres, is_sqlite
from .models import Batch, BatchState, Credential, CredentialStatus, utcnow

__all__ = [
    "InvalidTransition",
    "due_issuers",
    "load_tree",
    "next_sealed_batch",
    "record_confirmation",
    "record_confirmations",
    "record_dropped",
    "record_failure",
    "record_reorg",
    "record_submission",
    "seal_batch",
    "seal_due_batches",
    "submitted_batches",
]

_sqlite_locks: dict[str, threading.Lock] = {}
_sqlite_locks_guard = threading.Lock()


class InvalidTransition(RuntimeError):
    pass


# ----------------------------------------------------------------------------------------- trees
_TREE_CACHE: OrderedDict[tuple[int, str], MerkleTree] = OrderedDict()
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


# ----------------------------------------------------------------------------------------- sealing
def due_issuers(session: Session, max_size: int, max_age_seconds: float, now: datetime) -> list[int]:
    """Issuer ids whose pending queue is full or whose oldest pending credential is old enough."""
    t = Credential.__table__
    cutoff = now - timedelta(seconds=max_age_seconds)
    rows = session.execute(
        sa.select(t.c.issuer_id, sa.func.count(), sa.func.min(t.c.created_at))
        .where(t.c.status == CredentialStatus.pending.value)
        .group_by(t.c.issuer_id)
        .order_by(t.c.issuer_id)
    ).all()
    return [r[0] for r in rows if r[1] >= max_size or r[2] <= cutoff]


def _issuer_due(session: Session, issuer_id: int, max_size: int, cutoff: datetime) -> bool:
    t = Credential.__table__
    row = session.execute(
        sa.select(sa.func.count(), sa.func.min(t.c.created_at)).where(
            t.c.issuer_id == issuer_id, t.c.status == CredentialStatus.pending.value
        )
    ).one()
    return row[0] > 0 and (row[0] >= max_size or row[1] <= cutoff)


def seal_batch(session: Session, issuer_id: int, max_size: int) -> Batch | None:
    """Seal up to ``max_size`` of the issuer's oldest pending credentials into a new batch.

    Runs inside the caller's transaction and flushes; the caller commits (or rolls back on
    ``InvalidTransition``, raised when another worker claimed some of the rows meanwhile).
    Returns None when there is nothing to seal or another worker holds the issuer's seal lock."""
    t = Credential.__table__
    pg = is_postgres(session)
    if pg:
        key = zlib.crc32(f"credreg-seal:{issuer_id}".encode()) & 0x7FFFFFFF
        if not session.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar():
            return None
    q = (
        sa.select(t.c.id, t.c.digest)
        .where(t.c.issuer_id == issuer_id, t.c.status == CredentialStatus.pending.value)
        .order_by(t.c.id)
        .limit(max_size)
    )
    if pg:
        q = q.with_for_update(skip_locked=True)
    rows = session.execute(q).all()
    if not rows:
        return None
    tree = MerkleTree.build([from_hex(r[1]) for r in rows])
    batch = Batch(
        issuer_id=issuer_id, root=to_hex(tree.root), size=len(rows), state=BatchState.sealed.value,
        tree=tree.to_bytes(), created_at=utcnow(),
    )
    session.add(batch)
    session.flush()
    first, last = rows[0][0], rows[-1][0]
    if last - first == len(rows) - 1:
        # contiguous ids (one issuer's bulk, the usual case): one range UPDATE instead of one per row;
        # leaf_index = id - first is the same position in the tree's input order
        res = session.execute(
            t.update()
            .where(t.c.issuer_id == issuer_id, t.c.id.between(first, last),
                   t.c.status == CredentialStatus.pending.value)
            .values(status=CredentialStatus.batched.value, batch_id=batch.id, leaf_index=t.c.id - first)
        )
    else:
        res = session.execute(
            t.update()
            .where(t.c.id == sa.bindparam("cid"), t.c.status == CredentialStatus.pending.value)
            .values(status=CredentialStatus.batched.value, batch_id=batch.id, leaf_index=sa.bindparam("leaf")),
            [{"cid": r[0], "leaf": i} for i, r in enumerate(rows)],
        )
    claimed = res.rowcount if res.rowcount is not None and res.rowcount >= 0 else None
    if claimed is None:
        claimed = session.execute(sa.select(sa.func.count()).where(t.c.batch_id == batch.id)).scalar()
    if claimed != len(rows):
        raise InvalidTransition(f"issuer {issuer_id}: {len(rows) - claimed} credentials were claimed concurrently")
    return batch


def _sqlite_lock(session_factory: sessionmaker) -> threading.Lock:
    url = str(session_factory.kw["bind"].url)
    with _sqlite_locks_guard:
        return _sqlite_locks.setdefault(url, threading.Lock())


def seal_due_batches(
    session_factory: sessionmaker | Callable[[], Session],
    settings,
    now: datetime | None = None,
    *,
    issuer_id: int | None = None,
    force: bool = False,
    max_batches: int = 1000,
) -> list[int]:
    """Seal every due batch (each in its own transaction); return the new batch ids in order.

    ``settings`` needs ``batch_max_size`` and ``batch_max_age_seconds``. ``now`` (naive UTC) overrides the
    clock; ``force=True`` seals whatever is pending regardless of age (``credreg dev``, tests)."""
    now = now or utcnow()
    max_size = int(settings.batch_max_size)
    max_age = float(settings.batch_max_age_seconds)
    cutoff = datetime.max if force else now - timedelta(seconds=max_age)
    with session_factory() as session:
        issuers = due_issuers(session, max_size, 0 if force else max_age, datetime.max if force else now)
    if issuer_id is not None:
        issuers = [i for i in issuers if i == issuer_id]
    lock = None
    bind = getattr(session_factory, "kw", {}).get("bind")
    if bind is not None and is_sqlite(bind):
        lock = _sqlite_lock(session_factory)
    sealed: list[int] = []
    for iid in issuers:
        retries = 0
        while len(sealed) < max_batches:
            if lock:
                lock.acquire()
            try:
                with session_factory() as session:
                    try:
                        if not _issuer_due(session, iid, max_size, cutoff):
                            session.rollback()
                            break
                        batch = seal_batch(session, iid, max_size)
                        if batch is None:
                            session.rollback()
                            break
                        session.commit()
                    except InvalidTransition:
                        session.rollback()
                        retries += 1
                        if retries > 5:
                            break
                        continue
                    except BaseException:
                        session.rollback()
                        raise
            finally:
                if lock:
                    lock.release()
            sealed.append(batch.id)
            metrics.BATCHES_SEALED.inc()
    return sealed


# ----------------------------------------------------------------------------------------- anchor state machine
def _lockable(session: Session, q):
    return q.with_for_update(skip_locked=True) if is_postgres(session) else q


def next_sealed_batch(session: Session, issuer_id: int | None = None, *, lock: bool = True) -> Batch | None:
    """The oldest ``sealed`` batch (of ``issuer_id`` if given). On PostgreSQL, with ``lock=True`` the row is
    locked ``FOR UPDATE SKIP LOCKED`` until the session's transaction ends."""
    q = select(Batch).where(Batch.state == BatchState.sealed.value).order_by(Batch.id).limit(1)
    if issuer_id is not None:
        q = q.where(Batch.issuer_id == issuer_id)
    if lock:
        q = _lockable(session, q)
    return session.exec(q).first()


def submitted_batches(session: Session, issuer_id: int | None = None) -> list[Batch]:
    """Batches in ``submitted`` (sent, waiting for confirmations): what to resume after a restart."""
    q = select(Batch).where(Batch.state == BatchState.submitted.value).order_by(Batch.id)
    if issuer_id is not None:
        q = q.where(Batch.issuer_id == issuer_id)
    return list(session.exec(q).all())


def _require(batch: Batch, *states: BatchState) -> None:
    if batch.state not in {s.value for s in states}:
        raise InvalidTransition(
            f"batch {batch.id} is {batch.state}, expected {' or '.join(s.value for s in states)}"
        )


def _done(session: Session, batch: Batch, commit: bool) -> Batch:
    session.add(batch)
    if commit:
        session.commit()
    else:
        session.flush()
    return batch


def record_submission(session: Session, batch: Batch, *, nonce: int, tx_hash: str, chain_id: int | None = None,
                      contract_address: str | None = None, now: datetime | None = None,
                      commit: bool = True) -> Batch:
    """sealed|submitted -> submitted: store nonce and tx hash (commit before broadcasting!). Re-submission
    (replacement tx, same or new nonce) is allowed from ``submitted``. Increments ``attempts``."""
    _require(batch, BatchState.sealed, BatchState.submitted)
    batch.state = BatchState.submitted.value
    batch.nonce = nonce
    batch.tx_hash = tx_hash.lower() if tx_hash else tx_hash
    if chain_id is not None:
        batch.chain_id = chain_id
    if contract_address is not None:
        from eth_utils import to_checksum_address

        batch.contract_address = to_checksum_address(contract_address)
    batch.block_number = batch.block_hash = batch.block_timestamp = None
    batch.confirmations = 0
    batch.attempts = (batch.attempts or 0) + 1
    batch.submitted_at = now or utcnow()
    return _done(session, batch, commit)


def record_confirmations(session: Session, batch: Batch, *, confirmations: int, block_number: int | None = None,
                         block_hash: str | None = None, commit: bool = True) -> Batch:
    """While ``submitted``: note the inclusion block and current depth (not yet final)."""
    _require(batch, BatchState.submitted)
    batch.confirmations = confirmations
    if block_number is not None:
        batch.block_number = block_number
    if block_hash is not None:
        batch.block_hash = block_hash.lower()
    return _done(session, batch, commit)


def record_confirmation(session: Session, batch: Batch, *, block_number: int, block_hash: str, confirmations: int,
                        block_timestamp: int | None = None, gas_used: int | None = None,
                        now: datetime | None = None, commit: bool = True) -> Batch:
    """submitted -> confirmed; every credential of the batch -> anchored (same transaction).
    ``block_timestamp``: the anchoring block's Unix time (needed for bundles). Also observes the anchor
    latency and gas metrics."""
    _require(batch, BatchState.submitted)
    now = now or utcnow()
    batch.state = BatchState.confirmed.value
    batch.block_number = block_number
    batch.block_hash = block_hash.lower()
    batch.confirmations = confirmations
    batch.gas_used = gas_used
    if block_timestamp is not None:
        batch.block_timestamp = block_timestamp
    batch.confirmed_at = now
    batch.last_error = None
    t = Credential.__table__
    session.execute(
        t.update().where(t.c.batch_id == batch.id)
        .values(status=CredentialStatus.anchored.value, anchored_at=now)
    )
    _done(session, batch, commit)
    metrics.observe_confirmation(batch)
    return batch


def record_dropped(session: Session, batch: Batch, reason: str, *, commit: bool = True) -> Batch:
    """submitted -> sealed: the tx vanished (dropped/replaced); the anchorer will submit again.
    The old nonce stays in ``batch.nonce`` for reference; tx and block fields are cleared."""
    _require(batch, BatchState.submitted)
    batch.state = BatchState.sealed.value
    batch.tx_hash = None
    batch.block_number = batch.block_hash = batch.block_timestamp = None
    batch.confirmations = 0
    batch.last_error = reason
    return _done(session, batch, commit)


def record_reorg(session: Session, batch: Batch, reason: str, *, commit: bool = True) -> Batch:
    """confirmed -> submitted: the confirming block was re-orged away; credentials go back to batched."""
    _require(batch, BatchState.confirmed)
    batch.state = BatchState.submitted.value
    batch.block_number = batch.block_hash = batch.block_timestamp = None
    batch.confirmations = 0
    batch.confirmed_at = None
    batch.last_error = reason
    t = Credential.__table__
    session.execute(
        t.update().where(t.c.batch_id == batch.id).values(status=CredentialStatus.batched.value, anchored_at=None)
    )
    return _done(session, batch, commit)


def record_failure(session: Session, batch: Batch, error: str, *, final: bool = False,
                   commit: bool = True) -> Batch:
    """Note an error (``last_error``); with ``final=True``: sealed|submitted -> failed."""
    _require(batch, BatchState.sealed, BatchState.submitted)
    batch.last_error = error[:4000]
    if final:
        batch.state = BatchState.failed.value
    metrics.ANCHOR_ERRORS.labels(kind="final" if final else "retry").inc()
    return _done(session, batch, commit)
