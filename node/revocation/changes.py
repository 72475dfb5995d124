"""Queued status changes and their transactions, driven by the revoker; every state change is checked by
``node.pipeline.outbox.transition`` (tables ``STATUS_CHANGE`` and ``STATUS_TX``)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from node.pipeline.outbox import (
    NEW,
    Submission,
    stamp_confirmed,
    stamp_dropped,
    stamp_reorged,
    stamp_submission,
    transition,
)
from node.revocation.statuslists import apply_status
from node.storage.models import Credential, utcnow
from node.storage.revocation_tables import (
    ACTION_RESULT,
    ChangeState,
    CredentialStatusState,
    StatusChange,
    StatusTx,
    TxState,
)


def open_changes(session: Session, issuer_id: int) -> list[StatusChange]:
    """Queued changes that may be sent now: for each credential only its oldest unfinished change (so a
    suspend is on chain before the reinstate that follows it), in request order."""
    rows = session.exec(
        select(StatusChange)
        .where(
            StatusChange.issuer_id == issuer_id,
            col(StatusChange.state).in_([ChangeState.queued.value, ChangeState.submitted.value]),
        )
        .order_by(col(StatusChange.id))
    ).all()
    seen: set[int] = set()
    out = []
    for r in rows:
        if r.credential_id in seen:
            continue
        seen.add(r.credential_id)
        if r.state == ChangeState.queued.value:
            out.append(r)
    return out


def submitted_txs(session: Session, issuer_id: int) -> list[StatusTx]:
    return list(
        session.exec(
            select(StatusTx)
            .where(StatusTx.issuer_id == issuer_id, StatusTx.state == TxState.submitted.value)
            .order_by(col(StatusTx.id))
        ).all()
    )


def tx_changes(session: Session, tx: StatusTx) -> list[StatusChange]:
    return list(
        session.exec(select(StatusChange).where(StatusChange.tx_id == tx.id).order_by(col(StatusChange.id)))
    )


def record_tx_submission(
    session: Session,
    changes: list[StatusChange],
    *,
    nonce: int,
    tx_hash: str,
    chain_id: int | None,
    contract_address: str | None,
    fence_token: int | None = None,
    commit: bool = True,
) -> StatusTx:
    """Write-ahead: the transaction row and its changes (queued -> submitted). Commit BEFORE broadcasting."""
    first = changes[0]
    tx = StatusTx(
        issuer_id=first.issuer_id,
        batch_id=first.batch_id,
        root=first.root,
        action=first.action,
        reason=first.reason,
        size=len(changes),
        state=NEW,  # type: ignore[arg-type]  # NEW (None) until stamp_submission below; never flushed
    )
    stamp_submission(tx, Submission(nonce, tx_hash, chain_id, contract_address, fence_token))
    for ch in changes:
        transition(ch, ChangeState.submitted.value, expect=(ChangeState.queued.value,))
    session.add(tx)
    session.flush()
    for ch in changes:
        ch.tx_id, ch.attempts = tx.id, ch.attempts + 1
        session.add(ch)
    if commit:
        session.commit()
    return tx


def _confirm_change(session: Session, ch: StatusChange, now: datetime) -> None:
    transition(ch, ChangeState.confirmed.value)
    ch.confirmed_at, ch.last_error = now, None
    session.add(ch)
    st = session.get(CredentialStatusState, ch.credential_id)
    status = ACTION_RESULT[ch.action]
    if st is not None:
        st.confirmed, st.confirmed_reason, st.confirmed_at = status, ch.reason, now
        session.add(st)
    canonical = session.execute(
        sa.select(Credential.__table__.c.canonical).where(Credential.__table__.c.id == ch.credential_id)
    ).scalar()
    apply_status(session, ch.issuer_id, ch.digest, canonical or b"", status)


def record_tx_confirmed(
    session: Session,
    tx: StatusTx,
    *,
    block_number: int | None,
    block_hash: str | None,
    gas_used: int | None,
    confirmations: int = 0,
) -> None:
    """submitted -> confirmed, with every change of the transaction and the status-list bits (one commit).
    Without a block: confirmed from chain state (the changes are on chain, by an earlier transaction)."""
    now = utcnow()
    stamp_confirmed(
        tx,
        block_number=block_number,
        block_hash=block_hash,
        confirmations=confirmations,
        gas_used=gas_used,
        now=now,
    )
    session.add(tx)
    for ch in tx_changes(session, tx):
        _confirm_change(session, ch, now)
    session.commit()


def record_tx_dropped(session: Session, tx: StatusTx, reason: str, state: TxState = TxState.dropped) -> None:
    """submitted -> dropped|failed: its changes go back to queued (the revoker sends them again)."""
    stamp_dropped(tx, reason, state.value)
    session.add(tx)
    for ch in tx_changes(session, tx):
        if ch.state == ChangeState.submitted.value:
            transition(ch, ChangeState.queued.value)
            ch.tx_id, ch.last_error = None, reason[:4000]
            session.add(ch)
    session.commit()


def record_tx_failed(session: Session, tx: StatusTx, reason: str) -> int:
    """submitted -> failed for good: every change of the transaction fails too (the revert was final).
    Returns the number of changes given up."""
    stamp_dropped(tx, reason, TxState.failed.value)
    session.add(tx)
    changes = tx_changes(session, tx)
    for ch in changes:
        _fail_change(session, ch, f"{tx.action} reverted: {reason}")
    session.commit()
    return len(changes)


def record_tx_reorg(session: Session, tx: StatusTx, reason: str) -> None:
    """confirmed -> submitted: the confirming block left the canonical chain. The changes go back to
    submitted and each credential's confirmed status (and status-list bits) back to its previous confirmed
    change; the next settle re-confirms the transaction if it is mined again, or drops and requeues it."""
    stamp_reorged(tx, reason)
    session.add(tx)
    for ch in tx_changes(session, tx):
        transition(ch, ChangeState.submitted.value, expect=(ChangeState.confirmed.value,))
        ch.confirmed_at = None
        session.add(ch)
        session.flush()
        prev = session.exec(
            select(StatusChange)
            .where(
                StatusChange.credential_id == ch.credential_id,
                StatusChange.state == ChangeState.confirmed.value,
                col(StatusChange.id) < ch.id,
            )
            .order_by(col(StatusChange.id).desc())
        ).first()
        status = ACTION_RESULT[prev.action] if prev else "valid"
        st = session.get(CredentialStatusState, ch.credential_id)
        if st is not None:
            st.confirmed, st.confirmed_reason = status, prev.reason if prev else 0
            st.confirmed_at = prev.confirmed_at if prev else None
            session.add(st)
        canonical = session.execute(
            sa.select(Credential.__table__.c.canonical).where(Credential.__table__.c.id == ch.credential_id)
        ).scalar()
        apply_status(session, ch.issuer_id, ch.digest, canonical or b"", status)
    session.commit()


def record_change_already(session: Session, ch: StatusChange) -> None:
    """The chain already shows the change's result (an earlier attempt made it): confirm it without a tx."""
    _confirm_change(session, ch, utcnow())
    session.commit()


def _fail_change(session: Session, ch: StatusChange, error: str) -> None:
    transition(ch, ChangeState.failed.value)
    ch.last_error = error[:4000]
    session.add(ch)
    session.flush()
    st = session.get(CredentialStatusState, ch.credential_id)
    if st is not None:
        last = session.exec(
            select(StatusChange)
            .where(
                StatusChange.credential_id == ch.credential_id, StatusChange.state != ChangeState.failed.value
            )
            .order_by(col(StatusChange.id).desc())
        ).first()
        st.target = ACTION_RESULT[last.action] if last else st.confirmed
        st.target_reason = last.reason if last else st.confirmed_reason
        session.add(st)


def record_change_failed(session: Session, ch: StatusChange, error: str) -> None:
    """Give up on one change; the credential's target status falls back to what remains asked for."""
    _fail_change(session, ch, error)
    session.commit()
