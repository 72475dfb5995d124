"""Credential status changes (revoke / suspend / reinstate): reason codes, the all-or-nothing request that
queues them, and the state machine the revoker drives.

Request rules (checked against each credential's *target* status: the last status asked for):

* only the issuer that owns the credential (404 otherwise: existence is not disclosed), only anchored
  credentials (409), reason codes validated (422 naming the field);
* revoke of a revoked credential, suspend of a suspended one, reinstate of a valid one: idempotent
  (``unchanged``, nothing queued);
* anything after a revocation, and reinstating a credential that is revoked: 409 (revocation is final);
* a bulk request is one transaction: one bad digest and nothing is written.

State machine (``StatusChange.state``)::

    queued --submit--> submitted --confirm--> confirmed
      ^                   |
      +----drop/revert----+            queued|submitted --fail--> failed

    confirmed --reorg--> submitted (its block left the chain; settled again)

``record_tx_submission`` must be committed before the transaction is broadcast (write-ahead).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from .db import is_postgres
from .issuance import Problem
from .models import Batch, Credential, CredentialStatus, utcnow
from .queries import normalize_digest
from .revocation_models import (
    ACTION_RESULT,
    ChangeState,
    CredentialStatusState,
    StatusAction,
    StatusChange,
    StatusTx,
    TxState,
)
from .statuslist import apply_status

#: RFC 5280 CRLReason codes (7 is unused there, 8 removeFromCRL is only meaningful for reinstate)
RFC5280_REASONS = {
    "unspecified": 0,
    "keyCompromise": 1,
    "affiliationChanged": 3,
    "superseded": 4,
    "cessationOfOperation": 5,
    "certificateHold": 6,
    "removeFromCRL": 8,
    "privilegeWithdrawn": 9,
}
#: academic reasons, codes 100-199 (uint8 on chain)
ACADEMIC_REASONS = {
    "fraud": 100,  # credential obtained by fraud (forged documents, impersonation)
    "administrativeError": 101,  # issued in error (wrong learner, wrong course, wrong grade)
    "academicMisconduct": 102,  # plagiarism, cheating, found after award
    "programmeWithdrawn": 103,  # the course / programme lost its accreditation
    "learnerRequest": 104,  # withdrawn at the learner's request
    "underInvestigation": 105,  # suspension while a case is examined
    "disciplinaryAction": 106,  # suspension or revocation after a disciplinary decision
}
REASONS = {**RFC5280_REASONS, **ACADEMIC_REASONS}
REASON_NAMES = {v: k for k, v in REASONS.items()}
DEFAULT_REASON = {"revoke": "unspecified", "suspend": "certificateHold", "reinstate": "removeFromCRL"}
MAX_DIGESTS_PER_REQUEST = 10_000


def _invalid(field: str, message: str, status: int = 422, slug: str = "invalid-request") -> Problem:
    pointer = "/" + field.replace(".", "/") if field else ""
    return Problem(status, slug, "Invalid request" if status == 422 else "Conflict", message,
                   [{"pointer": pointer, "field": field, "message": message}])


def parse_action(value) -> str:
    try:
        return StatusAction(value).value
    except ValueError:
        raise _invalid("action", "action must be one of revoke, suspend, reinstate") from None


def parse_reason(value, action: str, field: str = "reason") -> int:
    """A reason name (``keyCompromise``, ``fraud``, ...) or its code -> the uint8 code stored on chain."""
    if value is None:
        value = DEFAULT_REASON[action]
    if isinstance(value, bool):
        raise _invalid(field, "reason must be a reason code name")
    if isinstance(value, int):
        if value not in REASON_NAMES:
            raise _invalid(field, f"unknown reason code {value}")
        name = REASON_NAMES[value]
    elif isinstance(value, str) and value in REASONS:
        name = value
    else:
        raise _invalid(field, f"unknown reason {str(value)[:60]!r}; one of {', '.join(REASONS)}")
    if action == "reinstate":
        if name not in ("removeFromCRL", "unspecified"):
            raise _invalid(field, "reinstate takes no reason (or removeFromCRL)")
        return 0
    if name == "removeFromCRL":
        raise _invalid(field, "removeFromCRL is only for reinstate")
    if action == "revoke" and name == "certificateHold":
        raise _invalid(field, "certificateHold is a suspension; use suspend")
    return REASONS[name]


@dataclass(frozen=True)
class RequestItem:
    digest: str
    result: str  # queued | unchanged
    status: str  # the credential's target status after the request


@dataclass(frozen=True)
class RequestResult:
    request_id: str
    action: str
    reason: int
    items: list[RequestItem]

    @property
    def queued(self) -> int:
        return sum(1 for i in self.items if i.result == "queued")

    def to_dict(self, base_url: str = "") -> dict:
        return {
            "requestId": self.request_id, "action": self.action, "reasonCode": self.reason,
            "reason": REASON_NAMES.get(self.reason, str(self.reason)) if self.action != "reinstate" else None,
            "count": len(self.items), "queued": self.queued, "unchanged": len(self.items) - self.queued,
            "statusUrl": f"{base_url.rstrip('/')}/v1/revocations/{self.request_id}",
            "items": [{"digest": i.digest, "result": i.result, "status": i.status} for i in self.items],
        }


def _where(field: str, i: int) -> dict:
    """Where an item's error points: ``digests[3]`` (body) or ``path.digest`` (a single-digest URL)."""
    if field.startswith("path."):
        return {"pointer": "", "field": field}
    return {"pointer": f"/{field}/{i}", "field": f"{field}[{i}]"}


def _transition(action: str, target: str) -> str:
    """'queue' | 'unchanged' | an error message (409)."""
    if target == "revoked":
        return "unchanged" if action == "revoke" else "the credential is revoked; revocation is final"
    if ACTION_RESULT[action] == target:
        return "unchanged"
    return "queue"


def request_changes(session: Session, issuer_id: int, action: str, reason: int, digests: Sequence[str], *,
                    field: str = "digests") -> RequestResult:
    """Validate every digest, then queue the changes in one transaction (commits). Raises Problem."""
    if not digests:
        raise _invalid(field, "at least one digest is required")
    if len(digests) > MAX_DIGESTS_PER_REQUEST:
        raise _invalid(field, f"at most {MAX_DIGESTS_PER_REQUEST} digests per request")
    normalized: list[str] = []
    errors: list[dict] = []
    for i, d in enumerate(digests):
        if not isinstance(d, str):
            errors.append({**_where(field, i), "message": "not a string"})
            continue
        try:
            normalized.append(normalize_digest(d))
        except Problem:
            errors.append({**_where(field, i), "message": "expected 0x + 64 hex digits"})
    if errors:
        raise Problem(422, "invalid-digest", "Invalid digest", f"{len(errors)} invalid digest(s)", errors)
    seen: dict[str, int] = {}
    for i, d in enumerate(normalized):
        if d in seen:
            raise Problem(422, "invalid-request", "Invalid request", f"digest {d} appears twice",
                          [{**_where(field, i), "message": f"duplicate of item {seen[d]}"}])
        seen[d] = i

    c = Credential.__table__
    rows: dict[str, tuple] = {}
    for start in range(0, len(normalized), 500):
        part = normalized[start:start + 500]
        for row in session.execute(sa.select(c.c.id, c.c.digest, c.c.issuer_id, c.c.status, c.c.batch_id)
                                   .where(c.c.digest.in_(part))):
            rows[row.digest] = row
    states: dict[int, CredentialStatusState] = {}
    ids = [r.id for r in rows.values()]
    for start in range(0, len(ids), 500):
        q = select(CredentialStatusState).where(CredentialStatusState.credential_id.in_(ids[start:start + 500]))
        if is_postgres(session):
            q = q.with_for_update()
        for st in session.exec(q):
            states[st.credential_id] = st

    not_found, conflicts = [], []
    plan: list[tuple[str, object, str]] = []
    for i, d in enumerate(normalized):
        row = rows.get(d)
        where = _where(field, i)
        if row is None or row.issuer_id != issuer_id:
            not_found.append({**where, "message": f"no credential of this issuer with digest {d}"})
            continue
        if row.status != CredentialStatus.anchored.value:
            conflicts.append({**where, "message": f"credential {d} is {row.status}, not anchored yet"})
            continue
        st = states.get(row.id)
        verdict = _transition(action, st.target if st else "valid")
        if verdict not in ("queue", "unchanged"):
            conflicts.append({**where, "message": verdict})
            continue
        plan.append((d, row, verdict))
    if not_found:
        session.rollback()
        raise Problem(404, "not-found", "Not found", f"{len(not_found)} unknown digest(s); nothing was queued",
                      not_found)
    if conflicts:
        session.rollback()
        raise Problem(409, "status-conflict", "Conflict",
                      f"{len(conflicts)} credential(s) cannot be {action}d; nothing was queued", conflicts)

    request_id = str(uuid.uuid4())
    now = utcnow()
    batch_roots = dict(session.execute(sa.select(Batch.__table__.c.id, Batch.__table__.c.root).where(
        Batch.__table__.c.id.in_({r.batch_id for _, r, _ in plan}))).all()) if plan else {}
    items = []
    result_status = ACTION_RESULT[action]
    changes = []
    for d, row, verdict in plan:
        if verdict == "unchanged":
            items.append(RequestItem(d, "unchanged", states[row.id].target if row.id in states else "valid"))
            continue
        st = states.get(row.id)
        if st is None:
            st = CredentialStatusState(credential_id=row.id, issuer_id=issuer_id, digest=d, target=result_status,
                                       target_reason=reason, confirmed="valid", confirmed_reason=0, updated_at=now)
        else:
            st.target, st.target_reason, st.updated_at = result_status, reason, now
        session.add(st)
        changes.append({"request_id": request_id, "issuer_id": issuer_id, "credential_id": row.id,
                        "batch_id": row.batch_id, "digest": d, "root": batch_roots[row.batch_id], "action": action,
                        "reason": reason, "state": ChangeState.queued.value, "attempts": 0, "created_at": now})
        items.append(RequestItem(d, "queued", result_status))
    try:
        session.flush()
        if changes:
            session.execute(StatusChange.__table__.insert(), changes)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Problem(409, "concurrent-change", "Conflict",
                      "another request changed one of these credentials at the same time; retry", []) from None
    return RequestResult(request_id, action, reason, items)


# ----------------------------------------------------------------------------------------- reads
def request_summary(session: Session, issuer_id: int, request_id: str) -> dict:
    rows = session.exec(select(StatusChange).where(StatusChange.request_id == request_id,
                                                   StatusChange.issuer_id == issuer_id)
                        .order_by(StatusChange.id)).all()
    if not rows:
        raise Problem(404, "not-found", "Not found", f"no status-change request {request_id} of this issuer",
                      [{"pointer": "", "field": "path.requestId", "message": "unknown request"}])
    counts = {s.value: 0 for s in ChangeState}
    for r in rows:
        counts[r.state] += 1
    txs = {r.tx_id for r in rows if r.tx_id is not None}
    tx_rows = {t.id: t for t in session.exec(select(StatusTx).where(StatusTx.id.in_(txs)))} if txs else {}
    return {
        "requestId": request_id, "action": rows[0].action, "count": len(rows), **counts,
        "done": counts["queued"] + counts["submitted"] == 0,
        "items": [{"digest": r.digest, "state": r.state, "txHash": tx_rows[r.tx_id].tx_hash if r.tx_id in tx_rows
                   else None, "blockNumber": tx_rows[r.tx_id].block_number if r.tx_id in tx_rows else None,
                   "error": r.last_error} for r in rows],
    }


def credential_revocation(session: Session, issuer_id: int, digest: str) -> dict:
    digest = normalize_digest(digest)
    cred = session.exec(select(Credential).where(Credential.digest == digest)).first()
    if cred is None or cred.issuer_id != issuer_id:
        raise Problem(404, "not-found", "Not found", f"no credential with digest {digest}",
                      [{"pointer": "", "field": "path.digest", "message": "unknown digest"}])
    st = session.get(CredentialStatusState, cred.id)
    changes = session.exec(select(StatusChange).where(StatusChange.credential_id == cred.id)
                           .order_by(StatusChange.id)).all()
    return {
        "digest": digest,
        "status": st.confirmed if st else "valid",
        "reasonCode": st.confirmed_reason if st else 0,
        "reason": REASON_NAMES.get(st.confirmed_reason) if st and st.confirmed != "valid" else None,
        "targetStatus": st.target if st else "valid",
        "changes": [{"requestId": c.request_id, "action": c.action, "reasonCode": c.reason, "state": c.state,
                     "error": c.last_error} for c in changes],
    }


# ----------------------------------------------------------------------------------------- state machine
def open_changes(session: Session, issuer_id: int) -> list[StatusChange]:
    """Queued changes that may be sent now: for each credential only its oldest unfinished change (so a
    suspend is on chain before the reinstate that follows it), in request order."""
    rows = session.exec(select(StatusChange).where(
        StatusChange.issuer_id == issuer_id,
        StatusChange.state.in_([ChangeState.queued.value, ChangeState.submitted.value]))
        .order_by(StatusChange.id)).all()
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
    return list(session.exec(select(StatusTx).where(StatusTx.issuer_id == issuer_id,
                                                    StatusTx.state == TxState.submitted.value)
                             .order_by(StatusTx.id)).all())


def tx_changes(session: Session, tx: StatusTx) -> list[StatusChange]:
    return list(session.exec(select(StatusChange).where(StatusChange.tx_id == tx.id).order_by(StatusChange.id)))


def record_tx_submission(session: Session, changes: list[StatusChange], *, nonce: int, tx_hash: str,
                         chain_id: int | None, contract_address: str | None) -> StatusTx:
    """Write-ahead: the transaction row and its changes -> submitted. Commit BEFORE broadcasting."""
    first = changes[0]
    tx = StatusTx(issuer_id=first.issuer_id, batch_id=first.batch_id, root=first.root, action=first.action,
                  reason=first.reason, size=len(changes), state=TxState.submitted.value, chain_id=chain_id,
                  contract_address=contract_address, nonce=nonce, tx_hash=tx_hash.lower())
    session.add(tx)
    session.flush()
    for ch in changes:
        if ch.state != ChangeState.queued.value:
            raise RuntimeError(f"status change {ch.id} is {ch.state}, expected queued")
        ch.state, ch.tx_id, ch.attempts = ChangeState.submitted.value, tx.id, ch.attempts + 1
        session.add(ch)
    session.commit()
    return tx


def _confirm_change(session: Session, ch: StatusChange, now) -> None:
    ch.state, ch.confirmed_at, ch.last_error = ChangeState.confirmed.value, now, None
    session.add(ch)
    st = session.get(CredentialStatusState, ch.credential_id)
    status = ACTION_RESULT[ch.action]
    if st is not None:
        st.confirmed, st.confirmed_reason, st.confirmed_at = status, ch.reason, now
        session.add(st)
    canonical = session.execute(sa.select(Credential.__table__.c.canonical)
                                .where(Credential.__table__.c.id == ch.credential_id)).scalar()
    apply_status(session, ch.issuer_id, ch.digest, canonical or b"", status)


def record_tx_confirmed(session: Session, tx: StatusTx, *, block_number: int | None, block_hash: str | None,
                        gas_used: int | None) -> None:
    """submitted -> confirmed, with every change of the transaction and the status-list bits (one commit)."""
    now = utcnow()
    tx.state, tx.block_number, tx.block_hash, tx.gas_used, tx.confirmed_at = (
        TxState.confirmed.value, block_number, block_hash, gas_used, now)
    tx.last_error = None
    session.add(tx)
    for ch in tx_changes(session, tx):
        _confirm_change(session, ch, now)
    session.commit()


def record_tx_dropped(session: Session, tx: StatusTx, reason: str, state: TxState = TxState.dropped) -> None:
    """submitted -> dropped|failed: its changes go back to queued (the revoker sends them again)."""
    tx.state, tx.last_error = state.value, reason[:4000]
    session.add(tx)
    for ch in tx_changes(session, tx):
        if ch.state == ChangeState.submitted.value:
            ch.state, ch.tx_id, ch.last_error = ChangeState.queued.value, None, reason[:4000]
            session.add(ch)
    session.commit()


def record_tx_reorg(session: Session, tx: StatusTx, reason: str) -> None:
    """confirmed -> submitted: the confirming block left the canonical chain. The changes go back to
    submitted and each credential's confirmed status (and status-list bits) back to its previous confirmed
    change; the next settle re-confirms the transaction if it is mined again, or drops and requeues it."""
    tx.state, tx.block_number, tx.block_hash, tx.confirmed_at, tx.last_error = (
        TxState.submitted.value, None, None, None, reason[:4000])
    session.add(tx)
    for ch in tx_changes(session, tx):
        ch.state, ch.confirmed_at = ChangeState.submitted.value, None
        session.add(ch)
        session.flush()
        prev = session.exec(select(StatusChange).where(
            StatusChange.credential_id == ch.credential_id, StatusChange.state == ChangeState.confirmed.value,
            StatusChange.id < ch.id).order_by(StatusChange.id.desc())).first()
        status = ACTION_RESULT[prev.action] if prev else "valid"
        st = session.get(CredentialStatusState, ch.credential_id)
        if st is not None:
            st.confirmed, st.confirmed_reason = status, prev.reason if prev else 0
            st.confirmed_at = prev.confirmed_at if prev else None
            session.add(st)
        canonical = session.execute(sa.select(Credential.__table__.c.canonical)
                                    .where(Credential.__table__.c.id == ch.credential_id)).scalar()
        apply_status(session, ch.issuer_id, ch.digest, canonical or b"", status)
    session.commit()


def record_change_already(session: Session, ch: StatusChange) -> None:
    """The chain already shows the change's result (an earlier attempt made it): confirm it without a tx."""
    _confirm_change(session, ch, utcnow())
    session.commit()


def record_change_failed(session: Session, ch: StatusChange, error: str) -> None:
    """Give up on one change; the credential's target status falls back to what remains asked for."""
    ch.state, ch.last_error = ChangeState.failed.value, error[:4000]
    session.add(ch)
    session.flush()
    st = session.get(CredentialStatusState, ch.credential_id)
    if st is not None:
        last = session.exec(select(StatusChange).where(
            StatusChange.credential_id == ch.credential_id, StatusChange.state != ChangeState.failed.value)
            .order_by(StatusChange.id.desc())).first()
        st.target = ACTION_RESULT[last.action] if last else st.confirmed
        st.target_reason = last.reason if last else st.confirmed_reason
        session.add(st)
    session.commit()
