"""Sealing pending credentials into Merkle batches."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from anchoring.scheme.encoding import from_hex, to_hex
from anchoring.scheme.merkle import MerkleTree
from node import metrics
from node.pipeline.outbox import NEW, InvalidTransition, transition
from node.storage.db import is_postgres, is_sqlite
from node.storage.models import (
    CREDENTIAL_PENDING,
    Batch,
    BatchState,
    Credential,
    CredentialStatus,
    Issuer,
    utcnow,
)

_sqlite_locks: dict[str, threading.Lock] = {}


_sqlite_locks_guard = threading.Lock()


# ----------------------------------------------------------------------------------------- sealing
# Whether an issuer is due reads at most ``max_size`` index entries, however long its queue: counting the whole queue
# (as this did before) visits every pending row, and on PostgreSQL every one in the heap as well (visibility), so
# while the pipeline fell behind, each batch cost more than the last (53 ms per batch with 100,000 pending, against
# 0.3-0.5 ms for the bounded probes below).
def _pending_of(issuer_id) -> tuple[sa.ColumnElement[bool], ...]:
    return (Credential.__table__.c.issuer_id == issuer_id, CREDENTIAL_PENDING)


def _oldest_pending(issuer_id) -> sa.ScalarSelect:
    return (
        sa.select(sa.func.min(Credential.__table__.c.created_at))
        .where(*_pending_of(issuer_id))
        .scalar_subquery()
    )


def _queue_full(issuer_id, max_size: int) -> sa.Exists:
    """Whether the issuer has a ``max_size``-th pending credential (one bounded index range, no count)."""
    t = Credential.__table__
    return (
        sa.select(t.c.id)
        .where(*_pending_of(issuer_id))
        .order_by(t.c.id)
        .offset(max_size - 1)
        .limit(1)
        .exists()
    )


def due_issuers(session: Session, max_size: int, max_age_seconds: float, now: datetime) -> list[int]:
    """Issuer ids whose pending queue is full or whose oldest pending credential is old enough."""
    i = Issuer.__table__
    cutoff = now - timedelta(seconds=max_age_seconds)
    rows = session.execute(
        sa.select(i.c.id)
        .where(sa.or_(_oldest_pending(i.c.id) <= cutoff, _queue_full(i.c.id, max_size)))
        .order_by(i.c.id)
    ).all()
    return [r[0] for r in rows]


def _issuer_due(session: Session, issuer_id: int, max_size: int, cutoff: datetime) -> bool:
    oldest = session.execute(sa.select(_oldest_pending(issuer_id))).scalar()
    if oldest is None:
        return False
    return oldest <= cutoff or bool(session.execute(sa.select(_queue_full(issuer_id, max_size))).scalar())


def seal_batch(session: Session, issuer_id: int, max_size: int) -> Batch | None:
    """Seal up to ``max_size`` of the issuer's oldest pending credentials into a new batch.

    Runs inside the caller's transaction and flushes; the caller commits (or rolls back on
    ``InvalidTransition``, raised when another worker claimed some of the rows meanwhile).
    Returns None when there is nothing to seal or another worker holds the issuer's seal lock."""
    t = Credential.__table__
    pg = is_postgres(session)
    if pg:
        # advisory locks are per database: the schema in the key keeps nodes (and test schemas) sharing one
        # database from taking each other's seal locks
        key = zlib.crc32(f"credreg-seal:{issuer_id}".encode()) & 0x7FFFFFFF
        got = session.execute(
            sa.text("SELECT pg_try_advisory_xact_lock(hashtext(current_schema()), :k)"), {"k": key}
        ).scalar()
        if not got:
            return None
    q = (
        sa.select(t.c.id, t.c.digest)
        .where(t.c.issuer_id == issuer_id, CREDENTIAL_PENDING)
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
        issuer_id=issuer_id,
        root=to_hex(tree.root),
        size=len(rows),
        state=NEW,  # type: ignore[arg-type]  # NEW (None) until the transition below; never flushed
        tree=tree.to_bytes(),
        created_at=utcnow(),
    )
    transition(batch, BatchState.sealed.value)
    session.add(batch)
    session.flush()
    first, last = rows[0][0], rows[-1][0]
    if last - first == len(rows) - 1:
        # contiguous ids (one issuer's bulk, the usual case): one range UPDATE instead of one per row;
        # leaf_index = id - first is the same position in the tree's input order
        res = session.exec(
            t.update()
            .where(
                t.c.issuer_id == issuer_id,
                t.c.id.between(first, last),
                CREDENTIAL_PENDING,
            )
            .values(status=CredentialStatus.batched.value, batch_id=batch.id, leaf_index=t.c.id - first)
        )
    else:
        res = session.exec(
            t.update()
            .where(t.c.id == sa.bindparam("cid"), CREDENTIAL_PENDING)
            .values(
                status=CredentialStatus.batched.value, batch_id=batch.id, leaf_index=sa.bindparam("leaf")
            ),
            params=[{"cid": r[0], "leaf": i} for i, r in enumerate(rows)],
        )
    claimed = res.rowcount if res.rowcount is not None and res.rowcount >= 0 else None
    if claimed is None:
        claimed = session.execute(sa.select(sa.func.count()).where(t.c.batch_id == batch.id)).scalar_one()
    if claimed != len(rows):
        raise InvalidTransition(
            f"{len(rows) - claimed} credentials of issuer {issuer_id}",
            CredentialStatus.pending.value,
            CredentialStatus.batched.value,
            "claimed concurrently by another worker",
        )
    return batch


def _sqlite_lock(bind: Engine) -> threading.Lock:
    url = str(bind.url)
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
        lock = _sqlite_lock(bind)
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
            assert batch.id is not None  # flushed and committed
            sealed.append(batch.id)
            metrics.BATCHES_SEALED.inc()
    return sealed
