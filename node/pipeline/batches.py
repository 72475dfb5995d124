"""The batch rows the anchorer drives: sealed -> submitted -> confirmed (or failed); transitions checked by
``node.pipeline.outbox.transition`` against ``outbox.BATCH``."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from node import metrics
from node.pipeline.outbox import (
    InvalidTransition,
    Submission,
    stamp_confirmed,
    stamp_depth,
    stamp_dropped,
    stamp_reorged,
    stamp_submission,
    transition,
)
from node.storage.db import is_postgres
from node.storage.models import Batch, BatchState, Credential, CredentialStatus, utcnow


# ----------------------------------------------------------------------------------------- anchor state machine
def _lockable(session: Session, q):
    return q.with_for_update(skip_locked=True) if is_postgres(session) else q


def next_sealed_batch(session: Session, issuer_id: int | None = None, *, lock: bool = True) -> Batch | None:
    """The oldest ``sealed`` batch (of ``issuer_id`` if given). On PostgreSQL, with ``lock=True`` the row is
    locked ``FOR UPDATE SKIP LOCKED`` until the session's transaction ends."""
    q = select(Batch).where(Batch.state == BatchState.sealed.value).order_by(col(Batch.id)).limit(1)
    if issuer_id is not None:
        q = q.where(Batch.issuer_id == issuer_id)
    if lock:
        q = _lockable(session, q)
    return session.exec(q).first()


def submitted_batches(session: Session, issuer_id: int | None = None) -> list[Batch]:
    """Batches in ``submitted`` (sent, waiting for confirmations): what to resume after a restart."""
    q = select(Batch).where(Batch.state == BatchState.submitted.value).order_by(col(Batch.id))
    if issuer_id is not None:
        q = q.where(Batch.issuer_id == issuer_id)
    return list(session.exec(q).all())


def _done(session: Session, batch: Batch, commit: bool) -> Batch:
    session.add(batch)
    if commit:
        session.commit()
    else:
        session.flush()
    return batch


def record_submission(
    session: Session,
    batch: Batch,
    *,
    nonce: int,
    tx_hash: str,
    chain_id: int | None = None,
    contract_address: str | None = None,
    fence_token: int | None = None,
    now: datetime | None = None,
    commit: bool = True,
) -> Batch:
    """sealed|submitted -> submitted: store nonce and tx hash (commit before broadcasting!). Re-submission
    (replacement tx, same or new nonce) is allowed from ``submitted``. Increments ``attempts``."""
    stamp_submission(batch, Submission(nonce, tx_hash, chain_id, contract_address, fence_token), now)
    batch.block_timestamp = None
    batch.attempts = (batch.attempts or 0) + 1
    return _done(session, batch, commit)


def record_confirmations(
    session: Session,
    batch: Batch,
    *,
    confirmations: int,
    block_number: int | None = None,
    block_hash: str | None = None,
    commit: bool = True,
) -> Batch:
    """While ``submitted``: note the inclusion block and current depth (not yet final)."""
    stamp_depth(batch, confirmations, block_number, block_hash)
    return _done(session, batch, commit)


def record_confirmation(
    session: Session,
    batch: Batch,
    *,
    block_number: int,
    block_hash: str,
    confirmations: int,
    block_timestamp: int | None = None,
    gas_used: int | None = None,
    now: datetime | None = None,
    commit: bool = True,
) -> Batch:
    """submitted -> confirmed; every credential of the batch -> anchored (same transaction).
    ``block_timestamp``: the anchoring block's Unix time (needed for bundles). Also observes the anchor
    latency and gas metrics."""
    now = now or utcnow()
    stamp_confirmed(
        batch,
        block_number=block_number,
        block_hash=block_hash,
        confirmations=confirmations,
        gas_used=gas_used,
        now=now,
    )
    if block_timestamp is not None:
        batch.block_timestamp = block_timestamp
    t = Credential.__table__
    session.execute(
        t.update()
        .where(t.c.batch_id == batch.id)
        .values(status=CredentialStatus.anchored.value, anchored_at=now)
    )
    _done(session, batch, commit)
    metrics.observe_confirmation(batch)
    return batch


def record_dropped(session: Session, batch: Batch, reason: str, *, commit: bool = True) -> Batch:
    """submitted -> sealed: the tx vanished (dropped/replaced) or reverted for a reason worth retrying; the
    anchorer will submit again. The old nonce stays in ``batch.nonce`` for reference; tx and block fields are
    cleared."""
    stamp_dropped(batch, reason)
    batch.tx_hash = None
    batch.block_number = batch.block_hash = batch.block_timestamp = None
    batch.confirmations = 0
    return _done(session, batch, commit)


def record_reorg(session: Session, batch: Batch, reason: str, *, commit: bool = True) -> Batch:
    """confirmed -> submitted: the confirming block was re-orged away; credentials go back to batched."""
    stamp_reorged(batch, reason)
    batch.block_timestamp = None
    t = Credential.__table__
    session.execute(
        t.update()
        .where(t.c.batch_id == batch.id)
        .values(status=CredentialStatus.batched.value, anchored_at=None)
    )
    return _done(session, batch, commit)


def record_failure(
    session: Session, batch: Batch, error: str, *, final: bool = False, commit: bool = True
) -> Batch:
    """Note an error (``last_error``; sealed|submitted stay where they are); with ``final=True``:
    sealed|submitted -> failed."""
    transition(
        batch, BatchState.failed.value if final else batch.state
    )  # a note: the self-loop must be allowed
    batch.last_error = error[:4000]
    metrics.ANCHOR_ERRORS.labels(kind="final" if final else "retry").inc()
    return _done(session, batch, commit)


__all__ = [
    "InvalidTransition",
    "next_sealed_batch",
    "record_confirmation",
    "record_confirmations",
    "record_dropped",
    "record_failure",
    "record_reorg",
    "record_submission",
    "submitted_batches",
]
