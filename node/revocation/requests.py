"""Status-change requests (revoke / suspend / reinstate): validated all or nothing, queued in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from node.errors import Conflict, Invalid, NotFound
from node.reads.lookup import normalize_digest
from node.revocation.reasons import REASON_NAMES, invalid_field
from node.storage.db import is_postgres
from node.storage.models import Batch, Credential, CredentialStatus, utcnow
from node.storage.revocation_tables import (
    ACTION_RESULT,
    ChangeState,
    CredentialStatusState,
    StatusChange,
    StatusTx,
)

MAX_DIGESTS_PER_REQUEST = 10_000


@dataclass(frozen=True)
class RequestItem:
    digest: str
    result: str  # queued | unchanged
    status: str  # the credential's target status after the request


@dataclass(frozen=True)
class RequestResult:
    request_id: str
    action: str
    reason: int  # the uint8 reason code sent on chain
    items: list[RequestItem]

    @property
    def reason_name(self) -> str | None:
        """The reason's name (``keyCompromise``, ``fraud``, ...); None for a reinstatement."""
        return None if self.action == "reinstate" else REASON_NAMES.get(self.reason, str(self.reason))

    @property
    def queued(self) -> int:
        return sum(1 for i in self.items if i.result == "queued")

    @property
    def unchanged(self) -> int:
        return len(self.items) - self.queued


@dataclass(frozen=True)
class ChangeProgress:
    """One credential of a request: its change's state and, once sent, the transaction that carries it."""

    digest: str
    state: str  # queued | submitted | confirmed | failed
    tx_hash: str | None
    block_number: int | None
    error: str | None


@dataclass(frozen=True)
class RequestSummary:
    """Progress of one status-change request: how many changes are in each state."""

    request_id: str
    action: str
    count: int
    queued: int
    submitted: int
    confirmed: int
    failed: int
    items: list[ChangeProgress]

    @property
    def done(self) -> bool:
        return self.queued + self.submitted == 0


@dataclass(frozen=True)
class ChangeRecord:
    request_id: str
    action: str
    reason_code: int
    state: str
    error: str | None


@dataclass(frozen=True)
class CredentialRevocation:
    """The confirmed (on chain) and requested status of one credential, with every change asked for."""

    digest: str
    status: str  # confirmed: valid | suspended | revoked
    reason_code: int
    reason: str | None  # name of the confirmed reason; None while valid
    target_status: str  # what the issuer asked for last
    changes: list[ChangeRecord]


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


def request_changes(
    session: Session,
    issuer_id: int,
    action: str,
    reason: int,
    digests: Sequence[str],
    *,
    field: str = "digests",
) -> RequestResult:
    """Validate every digest, then queue the changes in one transaction (commits). Raises Invalid, NotFound or Conflict."""
    if not digests:
        raise invalid_field(field, "at least one digest is required")
    if len(digests) > MAX_DIGESTS_PER_REQUEST:
        raise invalid_field(field, f"at most {MAX_DIGESTS_PER_REQUEST} digests per request")
    normalized: list[str] = []
    errors: list[dict] = []
    for i, d in enumerate(digests):
        if not isinstance(d, str):
            errors.append({**_where(field, i), "message": "not a string"})
            continue
        try:
            normalized.append(normalize_digest(d))
        except Invalid:
            errors.append({**_where(field, i), "message": "expected 0x + 64 hex digits"})
    if errors:
        raise Invalid(
            f"{len(errors)} invalid digest(s)", errors, slug="invalid-digest", title="Invalid digest"
        )
    seen: dict[str, int] = {}
    for i, d in enumerate(normalized):
        if d in seen:
            raise Invalid(
                f"digest {d} appears twice", [{**_where(field, i), "message": f"duplicate of item {seen[d]}"}]
            )
        seen[d] = i

    c = Credential.__table__
    rows: dict[str, sa.Row[*tuple[Any, ...]]] = {}
    for start in range(0, len(normalized), 500):
        part = normalized[start : start + 500]
        for found in session.execute(
            sa.select(c.c.id, c.c.digest, c.c.issuer_id, c.c.status, c.c.batch_id).where(c.c.digest.in_(part))
        ):
            rows[found.digest] = found
    states: dict[int, CredentialStatusState] = {}
    ids = [r.id for r in rows.values()]
    for start in range(0, len(ids), 500):
        q = select(CredentialStatusState).where(
            col(CredentialStatusState.credential_id).in_(ids[start : start + 500])
        )
        if is_postgres(session):
            q = q.with_for_update()
        for locked in session.exec(q):
            states[locked.credential_id] = locked

    not_found: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    plan: list[tuple[str, sa.Row[*tuple[Any, ...]], str]] = []
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
        raise NotFound(f"{len(not_found)} unknown digest(s); nothing was queued", not_found)
    if conflicts:
        session.rollback()
        raise Conflict(
            f"{len(conflicts)} credential(s) cannot be {action}d; nothing was queued",
            conflicts,
            slug="status-conflict",
        )

    request_id = str(uuid.uuid4())
    now = utcnow()
    batch_roots: dict[int, str] = (
        dict(
            session.execute(
                sa.select(Batch.__table__.c.id, Batch.__table__.c.root).where(
                    Batch.__table__.c.id.in_({r.batch_id for _, r, _ in plan})
                )
            ).all()
        )
        if plan
        else {}
    )
    items = []
    result_status = ACTION_RESULT[action]
    changes = []
    for d, row, verdict in plan:
        if verdict == "unchanged":
            items.append(RequestItem(d, "unchanged", states[row.id].target if row.id in states else "valid"))
            continue
        st = states.get(row.id)
        if st is None:
            st = CredentialStatusState(
                credential_id=row.id,
                issuer_id=issuer_id,
                digest=d,
                target=result_status,
                target_reason=reason,
                confirmed="valid",
                confirmed_reason=0,
                updated_at=now,
            )
        else:
            st.target, st.target_reason, st.updated_at = result_status, reason, now
        session.add(st)
        changes.append(
            {
                "request_id": request_id,
                "issuer_id": issuer_id,
                "credential_id": row.id,
                "batch_id": row.batch_id,
                "digest": d,
                "root": batch_roots[row.batch_id],
                "action": action,
                "reason": reason,
                "state": ChangeState.queued.value,
                "attempts": 0,
                "created_at": now,
            }
        )
        items.append(RequestItem(d, "queued", result_status))
    try:
        session.flush()
        if changes:
            session.execute(StatusChange.__table__.insert(), changes)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "another request changed one of these credentials at the same time; retry",
            slug="concurrent-change",
        ) from None
    return RequestResult(request_id, action, reason, items)


# ----------------------------------------------------------------------------------------- reads
def request_summary(session: Session, issuer_id: int, request_id: str) -> RequestSummary:
    rows = session.exec(
        select(StatusChange)
        .where(StatusChange.request_id == request_id, StatusChange.issuer_id == issuer_id)
        .order_by(col(StatusChange.id))
    ).all()
    if not rows:
        raise NotFound(
            f"no status-change request {request_id} of this issuer",
            [{"pointer": "", "field": "path.requestId", "message": "unknown request"}],
        )
    counts = {s.value: 0 for s in ChangeState}
    for r in rows:
        counts[r.state] += 1
    txs = {r.tx_id for r in rows if r.tx_id is not None}
    tx_rows = (
        {t.id: t for t in session.exec(select(StatusTx).where(col(StatusTx.id).in_(txs)))} if txs else {}
    )
    items = []
    for r in rows:
        tx = tx_rows.get(r.tx_id) if r.tx_id is not None else None
        items.append(
            ChangeProgress(
                digest=r.digest,
                state=r.state,
                tx_hash=tx.tx_hash if tx else None,
                block_number=tx.block_number if tx else None,
                error=r.last_error,
            )
        )
    return RequestSummary(
        request_id=request_id,
        action=rows[0].action,
        count=len(rows),
        queued=counts[ChangeState.queued.value],
        submitted=counts[ChangeState.submitted.value],
        confirmed=counts[ChangeState.confirmed.value],
        failed=counts[ChangeState.failed.value],
        items=items,
    )


def credential_revocation(session: Session, issuer_id: int, digest: str) -> CredentialRevocation:
    digest = normalize_digest(digest)
    cred = session.exec(select(Credential).where(Credential.digest == digest)).first()
    if cred is None or cred.issuer_id != issuer_id:
        raise NotFound(
            f"no credential with digest {digest}",
            [{"pointer": "", "field": "path.digest", "message": "unknown digest"}],
        )
    st = session.get(CredentialStatusState, cred.id)
    changes = session.exec(
        select(StatusChange).where(StatusChange.credential_id == cred.id).order_by(col(StatusChange.id))
    ).all()
    return CredentialRevocation(
        digest=digest,
        status=st.confirmed if st else "valid",
        reason_code=st.confirmed_reason if st else 0,
        reason=REASON_NAMES.get(st.confirmed_reason) if st and st.confirmed != "valid" else None,
        target_status=st.target if st else "valid",
        changes=[
            ChangeRecord(
                request_id=c.request_id,
                action=c.action,
                reason_code=c.reason,
                state=c.state,
                error=c.last_error,
            )
            for c in changes
        ],
    )
