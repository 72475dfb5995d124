"""The batch rows the anchorer drives: sealed -> submitted -> confirmed (or failed); transitions checked by
``node.pipeline.outbox.transition`` against ``outbox.BATCH``.

A failed batch is the operator's (``credreg batches retry``): :func:`plan_retry` reads the chain and says whether
it can be sent again as it is (:func:`resubmit_batch`: the issuer was reinstated, a transient revert) or needs its
credentials in a new batch with a fresh root (:func:`reseal_batch`: the contract refuses the root itself).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from anchoring.chain.rpc import call_chain
from anchoring.errors import ContractRevert
from anchoring.scheme.encoding import from_hex, to_hex
from anchoring.scheme.merkle import MerkleTree
from node import metrics
from node.pipeline.outbox import (
    NEW,
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
    batch.error_code = None
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
    session: Session,
    batch: Batch,
    error: str,
    *,
    final: bool = False,
    error_code: str | None = None,
    commit: bool = True,
) -> Batch:
    """Note an error (``last_error``, and the contract's custom error in ``error_code``; sealed|submitted stay where
    they are); with ``final=True``: sealed|submitted -> failed."""
    transition(
        batch, BatchState.failed.value if final else batch.state
    )  # a note: the self-loop must be allowed
    batch.last_error = error[:4000]
    batch.error_code = error_code[:64] if error_code else None
    metrics.ANCHOR_ERRORS.labels(kind="final" if final else "retry").inc()
    return _done(session, batch, commit)


# ----------------------------------------------------------------------------------------- failed batches
#: the contract refuses the root itself: only the same credentials under a fresh root can be anchored
RESEAL_ERRORS = frozenset({"InvalidAnchor"})


def failed_batches(session: Session, issuer_id: int | None = None) -> list[Batch]:
    q = select(Batch).where(Batch.state == BatchState.failed.value).order_by(col(Batch.id))
    if issuer_id is not None:
        q = q.where(Batch.issuer_id == issuer_id)
    return list(session.exec(q).all())


def list_batches(
    session: Session, *, states: Sequence[str] | None = None, issuer_id: int | None = None, limit: int = 100
) -> list[Batch]:
    """Batches newest first (of ``states`` and ``issuer_id`` when given)."""
    q = select(Batch).order_by(col(Batch.id).desc()).limit(limit)
    if states:
        q = q.where(col(Batch.state).in_(list(states)))
    if issuer_id is not None:
        q = q.where(Batch.issuer_id == issuer_id)
    return list(session.exec(q).all())


@dataclass(frozen=True)
class RetryPlan:
    """What ``credreg batches retry`` will do with a failed batch, and why."""

    action: str  # resubmit | reseal | refuse
    reason: str
    error: str | None = None  # the custom error the chain answers now, when it refuses


def plan_retry(batch: Batch, issuer_address: str, anchor, registry, *, mode: str = "auto") -> RetryPlan:
    """Decide how to take ``batch`` (failed) out of failure, from what the chain says now.

    ``anchor``/``registry``: the typed CredentialAnchor / IssuerRegistry of the node's current deployment.
    ``mode``: ``auto`` (by the chain's answer), ``resubmit`` or ``reseal`` (the operator's choice; ``resubmit``
    is still refused while the chain refuses the issuer). Chain failures propagate as ChainError."""
    if batch.state != BatchState.failed.value:
        return RetryPlan("refuse", f"batch {batch.id} is {batch.state}, not failed: nothing to retry")
    if mode == "reseal":
        return RetryPlan("reseal", "re-sealing as asked: the same credentials under a fresh root")
    root = from_hex(batch.root)
    if anchor.anchor_of(issuer_address, root) is not None:
        return RetryPlan(
            "resubmit", f"the root is already anchored by {issuer_address}: the anchorer adopts that anchor"
        )
    try:  # would the contract take anchor(root, size) from the issuer now?
        call_chain(lambda: anchor.anchor(root, batch.size).call({"from": issuer_address}))
    except ContractRevert as exc:
        if exc.error == "NotActiveIssuer":
            entry = registry.find_issuer(issuer_address)
            standing = (
                f"its registry status is {entry.status.label}"
                if entry is not None
                else "it is not in the IssuerRegistry"
            )
            return RetryPlan(
                "refuse",
                f"{issuer_address} is not an active TI ({standing}): its accreditor (or a RootTAO) must "
                "reinstate it first; then retry",
                exc.error,
            )
        if exc.error in RESEAL_ERRORS or exc.error == "RootAlreadyAnchored":  # (taken by another issuer: v1)
            if mode == "resubmit":
                return RetryPlan("refuse", f"the contract refuses this root ({exc}): re-seal it", exc.error)
            return RetryPlan(
                "reseal", f"the contract refuses this root ({exc}): re-sealing under a fresh root"
            )
        return RetryPlan("refuse", f"the contract still refuses the anchor: {exc}", exc.error)
    return RetryPlan("resubmit", f"the contract accepts anchor() from {issuer_address} now: sending it again")


def resubmit_batch(session: Session, batch: Batch, note: str = "", *, commit: bool = True) -> Batch:
    """failed -> sealed: the anchorer sends it again (a new transaction; it adopts an anchor already on chain)."""
    transition(batch, BatchState.sealed.value, expect=(BatchState.failed.value,))
    batch.tx_hash = None
    batch.block_number = batch.block_hash = batch.block_timestamp = None
    batch.confirmations = 0
    batch.error_code = None
    batch.last_error = f"retried by the operator{': ' + note if note else ''}"[:4000]
    return _done(session, batch, commit)


def reseal_batch(
    session: Session, batch: Batch, nonce_leaf: bytes | None = None, *, commit: bool = True
) -> Batch:
    """failed -> resealed: the same credentials, at the same leaf indexes, in a new sealed batch whose tree has
    one random leaf more after them (``nonce_leaf``), so its root is fresh. Returns the new batch."""
    transition(batch, BatchState.resealed.value, expect=(BatchState.failed.value,))
    rows = session.execute(
        sa.select(col(Credential.id), col(Credential.digest), col(Credential.leaf_index))
        .where(col(Credential.batch_id) == batch.id)
        .order_by(col(Credential.leaf_index))
    ).all()
    if not rows or [r[2] for r in rows] != list(range(len(rows))):
        raise InvalidTransition(
            f"batch {batch.id}",
            batch.state,
            BatchState.resealed.value,
            "its credentials' leaves are not 0..n-1",
        )
    nonce = nonce_leaf if nonce_leaf is not None else secrets.token_bytes(32)
    tree = MerkleTree.build([from_hex(r[1]) for r in rows] + [nonce])
    new = Batch(
        issuer_id=batch.issuer_id,
        root=to_hex(tree.root),
        size=len(rows) + 1,
        state=NEW,  # type: ignore[arg-type]  # NEW (None) until the transition below
        tree=tree.to_bytes(),
        nonce_leaf=to_hex(nonce),
        created_at=utcnow(),
    )
    transition(new, BatchState.sealed.value)
    session.add(new)
    session.flush()
    session.execute(
        sa.update(Credential)
        .where(col(Credential.batch_id) == batch.id)
        .values(batch_id=new.id, status=CredentialStatus.batched.value, anchored_at=None)
    )
    batch.superseded_by = new.id
    batch.last_error = f"re-sealed into batch {new.id} (root {new.root})"
    session.add(batch)
    if commit:
        session.commit()
    else:
        session.flush()
    return new


__all__ = [
    "RESEAL_ERRORS",
    "InvalidTransition",
    "RetryPlan",
    "failed_batches",
    "list_batches",
    "next_sealed_batch",
    "plan_retry",
    "record_confirmation",
    "record_confirmations",
    "record_dropped",
    "record_failure",
    "record_reorg",
    "record_submission",
    "reseal_batch",
    "resubmit_batch",
    "submitted_batches",
]
