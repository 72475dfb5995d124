"""The batch state machine the anchorer drives: sealed -> submitted -> confirmed (or failed)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from node import metrics
from node.storage.db import is_postgres
from node.storage.models import Batch, BatchState, Credential, CredentialStatus, utcnow


class InvalidTransition(RuntimeError):
    pass


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
