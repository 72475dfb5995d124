"""The write-ahead transaction core shared by the anchorer, the revoker and the status-list publisher.

Three kinds of rows stand for a transaction the node sends with an issuer's key: a ``batch`` (anchor a root),
a ``status_tx`` (revoke / suspend / reinstate up to 512 digests under a root) and a ``status_list_publication``
(publish a list's hash). They share one life, written down once here:

1. **state machine**: each kind declares its allowed transitions (``StateMachine``); every state change of every
   kind goes through the one checker ``transition(record, to_state)``, which raises ``InvalidTransition``.
2. **send**: sign (the gas estimate may already revert: the kind decides) -> *write-ahead commit* (nonce, tx hash,
   ``submitted_at`` and the fencing token stored before the network sees anything, the fence checked against the
   lease table in the same transaction) -> broadcast (``NonceConsumed``: the row is dropped at once).
3. **settle** each submitted row: receipt ok and deep enough -> confirmed; mined but shallow -> note the depth;
   reverted -> decoded reason -> the kind's failure policy (final or sent again); unknown to the node once
   ``drop_grace_seconds`` have passed -> adopt it if the chain already shows its effect by our key, else dropped.
4. **re-org walk**: confirmed rows of the last ``REORG_WINDOW_BLOCKS`` whose block left the canonical chain are
   rolled back to submitted (and settled again by the next pass).

A kind subclasses ``Outbox`` and plugs in only what differs: what is waiting to be sent (``pending``), the call
(``call``), how an estimate revert is handled (``would_revert``), the row that names the transaction
(``write_ahead``), what confirming, failing, dropping and re-orging do to other rows, which revert reasons are final
(``is_final``) and how to recognise "already on chain" (``already_sent`` / ``adopt``).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, select

from anchoring.chain.transactions import SignedTx, TransactionSender
from anchoring.errors import ContractRevert, NonceConsumed
from anchoring.scheme.encoding import from_hex, to_hex
from node.storage.models import Batch, BatchState, utcnow
from node.storage.revocation_tables import ChangeState, StatusChange, StatusListPublication, StatusTx, TxState

REORG_WINDOW_BLOCKS = 64  # confirmed rows younger than this are re-checked against the canonical chain

DROP_GRACE_SECONDS = (
    5.0  # a tx unknown to the node this long after its write-ahead commit is treated as dropped
)

MAX_IN_FLIGHT = 16  # submitted, unconfirmed transactions per kind and key (sent with consecutive nonces)


# ------------------------------------------------------------------------------------------------ state machines
class InvalidTransition(RuntimeError):
    """A state change the record's state machine does not allow (or a row changed under our feet)."""

    def __init__(self, record: str, from_state: str | None, to_state: str | None, detail: str = ""):
        self.record, self.from_state, self.to_state = record, from_state, to_state
        shown = f"{record}: {from_state or 'new'} -> {to_state or 'new'} is not allowed"
        super().__init__(f"{shown} ({detail})" if detail else shown)


NEW = None  # the "state" of a row not yet written


@dataclass(frozen=True)
class StateMachine:
    """The allowed transitions of one record kind. ``transitions[a]`` holds the states a row in ``a`` may move to;
    a self-loop means the row may stay with a note (an error, a depth, a replacement transaction). The role names
    tell the core where its steps lead for this kind (a dropped batch goes back to ``sealed`` to be sent again;
    a dropped status transaction ends as ``dropped`` and its changes are queued again)."""

    name: str
    transitions: Mapping[str | None, frozenset[str]]
    submitted: str = "submitted"
    confirmed: str = "confirmed"
    dropped: str = "dropped"
    failed: str = "failed"

    def allows(self, from_state: str | None, to_state: str) -> bool:
        return to_state in self.transitions.get(from_state, frozenset())

    @property
    def states(self) -> list[str]:
        seen = [s for s in self.transitions if s is not None]
        for targets in self.transitions.values():
            seen += [s for s in sorted(targets) if s not in seen]
        return seen


def _table(rows: dict[str | None, set[str]]) -> dict[str | None, frozenset[str]]:
    return {k: frozenset(v) for k, v in rows.items()}


_S, _C = BatchState.sealed.value, BatchState.confirmed.value
_SUB, _F = BatchState.submitted.value, BatchState.failed.value
_RS = BatchState.resealed.value

#: sealed -> submitted -> confirmed; a vanished transaction sends the batch back to sealed (it is sent again).
#: A failed batch waits for the operator (``credreg batches retry``): back to sealed (sent again as it is) or
#: resealed (its credentials moved to a new batch with a fresh root).
BATCH = StateMachine(
    "batch",
    _table(
        {
            NEW: {_S},  # sealed by the sealer
            _S: {_S, _SUB, _F},  # sealed -> sealed: an estimate that reverted, noted and retried later
            _SUB: {_SUB, _C, _S, _F},  # submitted -> submitted: depth noted, re-submission, adoption
            _C: {_SUB},  # the confirming block was re-orged away
            _F: {_S, _RS},  # the operator's retry: re-submit, or re-seal into a new batch
            _RS: set(),
        }
    ),
    dropped=_S,
)

_TX_SUB, _TX_C, _TX_D, _TX_F = (
    TxState.submitted.value,
    TxState.confirmed.value,
    TxState.dropped.value,
    TxState.failed.value,
)

#: one row per attempt: born submitted, ends confirmed, dropped or failed (a re-org sends confirmed back)
STATUS_TX = StateMachine(
    "status tx",
    _table(
        {
            NEW: {_TX_SUB},
            _TX_SUB: {_TX_SUB, _TX_C, _TX_D, _TX_F},
            _TX_C: {_TX_SUB},
            _TX_D: set(),
            _TX_F: set(),
        }
    ),
)

#: the same life as a status transaction, for ``publishStatusList``
PUBLICATION = StateMachine("status-list publication", STATUS_TX.transitions)

_Q, _CH_SUB, _CH_C, _CH_F = (
    ChangeState.queued.value,
    ChangeState.submitted.value,
    ChangeState.confirmed.value,
    ChangeState.failed.value,
)

#: the work items behind status transactions (not transactions themselves, checked the same way)
STATUS_CHANGE = StateMachine(
    "status change",
    _table(
        {
            NEW: {_Q},
            _Q: {
                _CH_SUB,
                _CH_C,
                _CH_F,
            },  # queued -> confirmed: the chain already shows it; -> failed: would revert
            _CH_SUB: {_Q, _CH_C, _CH_F},  # submitted -> queued: its transaction was dropped or reverted
            _CH_C: {_CH_SUB},  # its transaction's block was re-orged away
            _CH_F: set(),
        }
    ),
    submitted=_CH_SUB,
    confirmed=_CH_C,
    dropped=_Q,
    failed=_CH_F,
)

MACHINES: dict[type, StateMachine] = {
    Batch: BATCH,
    StatusTx: STATUS_TX,
    StatusListPublication: PUBLICATION,
    StatusChange: STATUS_CHANGE,
}


def machine_of(record: Any) -> StateMachine:
    for cls in type(record).__mro__:
        if cls in MACHINES:
            return MACHINES[cls]
    raise TypeError(f"no state machine for {type(record).__name__}")


def label(record: Any) -> str:
    return f"{machine_of(record).name} {record.id if record.id is not None else '(new)'}"


def transition(record: Any, to_state: str, *, expect: Collection[str | None] | None = None) -> None:
    """Move ``record`` to ``to_state`` if its kind's table allows it, else raise ``InvalidTransition``.
    The one checker for batches, status transactions, publications and status changes. ``expect`` narrows the
    states a step may start from where one pair of states serves two steps (confirmed -> submitted is a re-org,
    never a new submission)."""
    machine = machine_of(record)
    from_state = record.state
    if expect is not None and from_state not in expect:
        shown = ", ".join(s or "new" for s in sorted(expect, key=lambda s: s or ""))
        raise InvalidTransition(label(record), from_state, to_state, f"this step starts from {shown}")
    if not machine.allows(from_state, to_state):
        allowed = sorted(machine.transitions.get(from_state, ()))
        raise InvalidTransition(
            label(record),
            from_state,
            to_state,
            f"from {from_state or 'new'}: {', '.join(allowed) or 'nothing (final)'}",
        )
    record.state = to_state


def stay(record: Any, state: str) -> None:
    """Check that ``record`` is in ``state`` and may stay there with a note (a self-loop of its table)."""
    transition(record, state, expect=(state,))


# ------------------------------------------------------------------------------------- the shared row updates
@dataclass(frozen=True)
class Submission:
    """What the write-ahead commit stores with a row, before broadcasting."""

    nonce: int
    tx_hash: str
    chain_id: int | None = None
    contract_address: str | None = None
    fence_token: int | None = None


def stamp_submission(record: Any, sub: Submission, now: datetime | None = None) -> None:
    """-> submitted, naming the transaction: nonce, tx hash, chain, contract, fencing token, ``submitted_at``.
    Block fields and depth start empty."""
    machine = machine_of(record)
    transition(record, machine.submitted, expect=set(machine.transitions) - {machine.confirmed})
    record.nonce = sub.nonce
    record.tx_hash = sub.tx_hash.lower() if sub.tx_hash else sub.tx_hash
    if sub.chain_id is not None:
        record.chain_id = sub.chain_id
    if sub.contract_address is not None:
        from eth_utils import to_checksum_address

        record.contract_address = to_checksum_address(sub.contract_address)
    record.fence_token = sub.fence_token
    record.block_number = record.block_hash = None
    record.confirmations = 0
    record.submitted_at = now or utcnow()


def stamp_depth(
    record: Any, confirmations: int, block_number: int | None = None, block_hash: str | None = None
) -> None:
    """While submitted: note the inclusion block and the current depth (not yet final)."""
    stay(record, machine_of(record).submitted)
    record.confirmations = confirmations
    if block_number is not None:
        record.block_number = block_number
    if block_hash is not None:
        record.block_hash = block_hash.lower()


def stamp_confirmed(
    record: Any,
    *,
    block_number: int | None,
    block_hash: str | None,
    confirmations: int = 0,
    gas_used: int | None = None,
    now: datetime | None = None,
) -> None:
    """submitted -> confirmed. Block fields stay empty for a row confirmed from chain state without a receipt."""
    machine = machine_of(record)
    transition(record, machine.confirmed, expect=(machine.submitted,))
    record.block_number = block_number
    record.block_hash = block_hash.lower() if block_hash else block_hash
    record.confirmations = confirmations
    record.gas_used = gas_used
    record.confirmed_at = now or utcnow()
    record.last_error = None


def stamp_dropped(record: Any, reason: str, to_state: str | None = None) -> None:
    """submitted -> the kind's dropped state (or ``to_state``, e.g. failed), with the reason."""
    machine = machine_of(record)
    transition(record, to_state or machine.dropped, expect=(machine.submitted,))
    record.last_error = reason[:4000]


def stamp_reorged(record: Any, reason: str) -> None:
    """confirmed -> submitted: the confirming block left the canonical chain."""
    machine = machine_of(record)
    transition(record, machine.submitted, expect=(machine.confirmed,))
    record.block_number = record.block_hash = None
    record.confirmations = 0
    record.confirmed_at = None
    record.last_error = reason[:4000]


# ------------------------------------------------------------------------------------------------ re-org walk
def orphaned(w3, confirmed_newest_first: Iterable, head: int) -> Iterator:
    """The rows (anything with block_number and block_hash, newest block first) whose block has left the
    canonical chain. Blocks form a hash chain: once one row's block is canonical, every older one is too,
    so the walk stops there; one block lookup per pass when nothing moved."""
    checked: dict[int, str | None] = {}
    for row in confirmed_newest_first:
        number, recorded = row.block_number, row.block_hash
        if number not in checked:
            checked[number] = to_hex(bytes(w3.eth.get_block(number)["hash"])) if number <= head else None
        if checked[number] == recorded:
            return
        yield row


# -------------------------------------------------------------------------------------------------- the core
class FenceLost(RuntimeError):
    """The lease behind a fencing token moved on: this process must not broadcast."""


class Fence(Protocol):
    """The pipeline lease (``node.pipeline.lease.Lease``): ``token`` is stored with every write-ahead row, and
    ``check`` runs inside the write-ahead transaction (``session``), before its commit and the broadcast, raising
    ``FenceLost`` when ``token`` is no longer the lease's current one."""

    @property
    def token(self) -> int | None: ...

    def check(self, token: int | None, session: Session | None = None) -> None: ...


@dataclass
class PassResult:
    submitted: int = 0  # transactions broadcast
    confirmed: int = 0  # rows confirmed (by a receipt or from chain state)
    dropped: int = 0
    reorged: int = 0
    failed: int = 0  # rows (or, for the revoker, status changes) given up or reverted

    @property
    def progressed(self) -> bool:
        return any((self.submitted, self.confirmed, self.dropped, self.reorged, self.failed))

    def add(self, other: PassResult) -> PassResult:
        for name in ("submitted", "confirmed", "dropped", "reorged", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


class _Signal:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


SKIP = _Signal("SKIP")  # would_revert: leave this item for now, go on with the next
STOP = _Signal("STOP")  # would_revert: end the submit step of this pass


class Outbox(ABC):
    """One kind's write-ahead transactions for one issuer key. ``run_pass`` settles, walks re-orgs, then sends.

    ``drop_grace_seconds`` (a parameter, and a class attribute for the default) is how long a transaction the node
    does not know may still be on its way. ``fence`` is the lease seam (see ``Fence``)."""

    machine: ClassVar[StateMachine]
    model: ClassVar[Any]  # the table: issuer_id, state, block_number and the write-ahead fields
    drop_grace_seconds: float = DROP_GRACE_SECONDS
    max_in_flight: int = MAX_IN_FLIGHT
    #: revert reasons that may mean an earlier transaction of ours already did the work: try ``adopt`` first
    done_errors: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        session_factory: sessionmaker,
        sender: TransactionSender,
        anchor,
        issuer_id: int,
        confirmations: int = 1,
        *,
        drop_grace_seconds: float | None = None,
        fence: Fence | None = None,
    ):
        self.session_factory = session_factory
        self.sender = sender
        self.anchor = anchor
        self.issuer_id = issuer_id
        self.confirmations = max(1, confirmations)
        if drop_grace_seconds is not None:
            self.drop_grace_seconds = drop_grace_seconds
        self.fence = fence
        self.log = logging.getLogger(f"credreg.{type(self).__name__.lower()}")

    @property
    def address(self) -> str:
        return self.sender.account.address

    @property
    def contract_address(self) -> str:
        return self.anchor.address

    def run_pass(self) -> PassResult:
        """Settle submitted rows, roll back re-orged confirmations, send what waits."""
        result = PassResult()
        self.settle_submitted(result)
        self.check_reorgs(result)
        self.submit(result)
        return result

    # --- what each kind plugs in --------------------------------------------------------------------------------
    @abstractmethod
    def pending(self, session: Session) -> Iterable:
        """The work waiting for a transaction, in sending order (rows, groups of rows, lists...)."""

    @abstractmethod
    def call(self, session: Session, item):
        """The contract call that does ``item``'s work."""

    @abstractmethod
    def write_ahead(self, session: Session, item, sub: Submission):
        """Create or update the row naming the signed transaction (``stamp_submission``); the core commits."""

    @abstractmethod
    def confirm(self, session: Session, record, receipt, depth: int) -> None:
        """submitted -> confirmed from a receipt, with whatever confirming does to other rows (commits)."""

    @abstractmethod
    def fail(self, session: Session, record, reason: ContractRevert, final: bool) -> None:
        """The transaction reverted: give up (``final``) or make the work sendable again (commits)."""

    @abstractmethod
    def drop(self, session: Session, record, reason: str) -> None:
        """The transaction vanished (or its nonce was used): make the work sendable again (commits)."""

    @abstractmethod
    def reorg(self, session: Session, record, reason: str) -> None:
        """confirmed -> submitted, undoing what confirming did to other rows (commits)."""

    def is_final(self, error: ContractRevert) -> bool:
        """Whether a revert reason means the work can never succeed."""
        return True

    def would_revert(self, session: Session, item, exc: ContractRevert, result: PassResult):
        """The gas estimate for ``item`` reverted. Return the item to try again (e.g. smaller), SKIP or STOP."""
        return STOP

    def already_sent(self, session: Session, item) -> Any | None:
        """Before signing: the row of an earlier transaction of ours that already did ``item``'s work (to settle),
        or None to send."""
        return None

    def adopt(self, session: Session, record) -> bool:
        """The transaction of ``record`` is unknown or reverted: if the chain already shows its effect by our key,
        settle ``record`` from that (point it at the transaction that did it, or confirm it) and return True."""
        return False

    # --- the shared steps -------------------------------------------------------------------------------------
    def submitted(self, session: Session) -> list:
        model = self.model
        return list(
            session.exec(
                select(model)
                .where(model.issuer_id == self.issuer_id, model.state == self.machine.submitted)
                .order_by(model.id)
            )
        )

    def settle_submitted(self, result: PassResult) -> None:
        with self.session_factory() as session:
            for record in self.submitted(session):
                self.settle(session, record, result)

    def settle(self, session: Session, record, result: PassResult, *, adopting: bool = False) -> None:
        tx_hash = from_hex(record.tx_hash)
        receipt = self.sender.receipt(tx_hash)
        if receipt is not None and receipt["status"] == 1:
            depth = self.sender.confirmations(receipt)
            if depth == 0:
                return  # its block left the chain; the node re-includes it or forgets it (dropped later)
            if depth >= self.confirmations:
                self.confirm(session, record, receipt, depth)
                result.confirmed += 1
                self.log.info("%s confirmed in block %s", label(record), receipt["blockNumber"])
            elif depth != record.confirmations:
                stamp_depth(record, depth, receipt["blockNumber"], to_hex(bytes(receipt["blockHash"])))
                session.add(record)
                session.commit()
            return
        if receipt is not None:  # mined but reverted
            reason = self.sender.failure_reason(tx_hash, receipt)
            if reason.error in self.done_errors and not adopting and self._adopt(session, record, result):
                return
            final = self.is_final(reason)
            self.fail(session, record, reason, final)
            result.failed += 1
            self.log.error("%s reverted (%s): %s", label(record), "final" if final else "will retry", reason)
            return
        if self.sender.is_known(tx_hash):
            return  # pending in the mempool
        if record.block_number is None and self._age(record) < self.drop_grace_seconds:
            return  # the broadcast may still be on its way (or the crash came before it); give it a moment
        if not adopting and self._adopt(session, record, result):
            return
        lost = record.tx_hash
        self.drop(session, record, "transaction unknown to the node (dropped, never broadcast or re-orged)")
        result.dropped += 1
        self.log.warning("%s: transaction %s dropped; its work will be sent again", label(record), lost)

    def _age(self, record) -> float:
        if record.submitted_at is None:
            return self.drop_grace_seconds
        return (utcnow() - record.submitted_at).total_seconds()

    def _adopt(self, session: Session, record, result: PassResult) -> bool:
        if not self.adopt(session, record):
            return False
        if record.state == self.machine.confirmed:
            result.confirmed += 1
        elif record.state == self.machine.submitted:  # now names the transaction that did it: settle that one
            self.settle(session, record, result, adopting=True)
        return True

    def check_reorgs(self, result: PassResult) -> None:
        """Roll back confirmations whose block left the canonical chain (newest first, stopping at the first
        canonical one)."""
        w3, model = self.sender.w3, self.model
        head = w3.eth.block_number
        with self.session_factory() as session:
            recent = session.exec(
                select(model)
                .where(
                    model.issuer_id == self.issuer_id,
                    model.state == self.machine.confirmed,
                    model.block_number >= head - REORG_WINDOW_BLOCKS,
                )
                .order_by(model.block_number.desc())
            ).all()
            for record in orphaned(w3, recent, head):
                number = record.block_number
                self.reorg(session, record, f"block {number} re-orged away")
                result.reorged += 1
                self.log.warning("%s: block %s re-orged away; re-checking", label(record), number)

    def submit(self, result: PassResult) -> None:
        """Send what waits, up to ``max_in_flight`` unconfirmed transactions, with consecutive nonces (a backlog
        lands in parallel blocks instead of one transaction per round trip)."""
        with self.session_factory() as session:
            in_flight = len(self.submitted(session))
            nonce = None
            for item in self.pending(session):
                if in_flight >= self.max_in_flight:
                    return
                done = self.already_sent(session, item)
                if done is not None:
                    self.settle(session, done, result, adopting=True)
                    continue
                signed: SignedTx | None = None
                while signed is None:
                    try:
                        nonce = self.sender.next_nonce() if nonce is None else nonce
                        signed = self.sender.sign(self.call(session, item), nonce=nonce)
                    except ContractRevert as exc:
                        item = self.would_revert(session, item, exc, result)
                        if item is STOP:
                            return
                        if item is SKIP:
                            break
                if signed is None:
                    continue
                record = self.send(session, item, signed, result)
                if record is None:
                    return
                in_flight += 1
                nonce = signed.nonce + 1

    def send(self, session: Session, item, signed: SignedTx, result: PassResult):
        """Write-ahead commit, fence check, broadcast. Returns the row, or None when the nonce was taken."""
        fence = self.fence.token if self.fence is not None else None
        record = self.write_ahead(
            session,
            item,
            Submission(
                nonce=signed.nonce,
                tx_hash=to_hex(signed.tx_hash),
                chain_id=self.sender.chain_id,
                contract_address=self.contract_address,
                fence_token=fence,
            ),
        )
        session.add(record)
        if self.fence is not None:
            session.flush()
            try:  # in the write-ahead transaction: a stale holder stops here and writes nothing
                self.fence.check(record.fence_token, session)
            except BaseException:
                session.rollback()
                raise
        session.commit()  # write-ahead: the row names the transaction before the network sees it
        try:
            self.sender.broadcast(signed)
        except NonceConsumed as exc:
            self.drop(session, record, str(exc))
            result.dropped += 1
            self.log.warning("%s: %s", label(record), exc)
            return None
        result.submitted += 1
        self.log.info("%s submitted as %s nonce %s", label(record), record.tx_hash, signed.nonce)
        return record
