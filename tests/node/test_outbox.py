"""The write-ahead outbox core (no chain): the transition table of every record kind, and the shared steps driven
through the status-list publication kind against a small in-process chain (crash before broadcast, a nonce
taken by another transaction, a transaction unknown after the grace, a revert, a shallow receipt, a re-org, an
earlier transaction that resurfaced, and the fencing seam); on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from sqlmodel import select

from anchoring.chain.contracts import StatusListRecord
from anchoring.chain.transactions import SignedTx
from anchoring.errors import ContractRevert, NonceConsumed
from anchoring.scheme.keccak import keccak256
from anchoring.statuslist import MIN_LIST_BITS, list_id
from node.pipeline.outbox import (
    BATCH,
    NEW,
    PUBLICATION,
    STATUS_CHANGE,
    STATUS_TX,
    FenceLost,
    InvalidTransition,
    Outbox,
    Submission,
    stamp_submission,
    stay,
    transition,
)
from node.pipeline.publisher import (
    Publisher,
    record_publication,
    record_publication_confirmed,
    record_publication_dropped,
    record_publication_reorg,
)
from node.pipeline.signer import SignerPasses
from node.revocation.statuslists import StatusListConfig
from node.storage.models import Batch, BatchState, utcnow
from node.storage.revocation_tables import (
    ChangeState,
    StatusChange,
    StatusList,
    StatusListEntry,
    StatusListPublication,
    StatusTx,
    TxState,
)

# ------------------------------------------------------------------------------------------ transition tables
#: the legal transitions, spelled out: changing a table must change this list too
LEGAL = {
    "batch": {
        (NEW, "sealed"),
        ("sealed", "sealed"),
        ("sealed", "submitted"),
        ("sealed", "failed"),
        ("submitted", "submitted"),
        ("submitted", "confirmed"),
        ("submitted", "sealed"),
        ("submitted", "failed"),
        ("confirmed", "submitted"),
        ("failed", "sealed"),
        ("failed", "resealed"),
    },
    "status tx": {
        (NEW, "submitted"),
        ("submitted", "submitted"),
        ("submitted", "confirmed"),
        ("submitted", "dropped"),
        ("submitted", "failed"),
        ("confirmed", "submitted"),
    },
    "status-list publication": {
        (NEW, "submitted"),
        ("submitted", "submitted"),
        ("submitted", "confirmed"),
        ("submitted", "dropped"),
        ("submitted", "failed"),
        ("confirmed", "submitted"),
    },
    "status change": {
        (NEW, "queued"),
        ("queued", "submitted"),
        ("queued", "confirmed"),
        ("queued", "failed"),
        ("submitted", "queued"),
        ("submitted", "confirmed"),
        ("submitted", "failed"),
        ("confirmed", "submitted"),
    },
}

KINDS = [
    (Batch, BATCH, BatchState),
    (StatusTx, STATUS_TX, TxState),
    (StatusListPublication, PUBLICATION, TxState),
    (StatusChange, STATUS_CHANGE, ChangeState),
]

CASES = [
    (model, machine, frm, to)
    for model, machine, states in KINDS
    for frm in [NEW, *(s.value for s in states)]
    for to in (s.value for s in states)
]


@pytest.mark.parametrize("model,machine,states", KINDS, ids=[m.name for _, m, _ in KINDS])
def test_each_table_names_exactly_its_states(model, machine, states):
    assert set(machine.states) == {s.value for s in states}
    assert {(a, b) for a, targets in machine.transitions.items() for b in targets} == LEGAL[machine.name]
    for role in (machine.submitted, machine.confirmed, machine.dropped, machine.failed):
        assert role in machine.states


@pytest.mark.parametrize(
    "model,machine,frm,to", CASES, ids=[f"{m.name}:{f or 'new'}->{t}" for _, m, f, t in CASES]
)
def test_transition_allows_exactly_the_table(model, machine, frm, to):
    row = model(state=frm)
    row.id = 7
    if (frm, to) in LEGAL[machine.name]:
        transition(row, to)
        assert row.state == to
        return
    with pytest.raises(InvalidTransition) as exc:
        transition(row, to)
    assert (exc.value.record, exc.value.from_state, exc.value.to_state) == (f"{machine.name} 7", frm, to)
    assert f"{machine.name} 7: {frm or 'new'} -> {to}" in str(exc.value)
    assert row.state == frm  # untouched


def test_stay_needs_the_named_state_and_a_self_loop():
    batch = Batch(state="confirmed")
    with pytest.raises(InvalidTransition, match="starts from submitted"):
        stay(batch, "submitted")
    with pytest.raises(InvalidTransition, match="confirmed -> confirmed"):
        stay(batch, "confirmed")
    batch.state = "submitted"
    stay(batch, "submitted")
    assert batch.state == "submitted"


def test_transition_refuses_unknown_records():
    with pytest.raises(TypeError):
        transition(object(), "submitted")


# ------------------------------------------------------------------------------------------ a small chain
@dataclass
class _Tx:
    tx_hash: bytes
    nonce: int
    call: _Call
    block: int | None = None
    status: int = 1


@dataclass
class _Call:
    list_id: bytes
    list_hash: bytes
    reverts: str | None = None  # mined, then reverted with this error


@dataclass
class FakeChain:
    """One account's view of a chain: a mempool, blocks with hashes, receipts, the status-list records."""

    address: str = "0x" + "ab" * 20
    blocks: list[bytes] = field(default_factory=lambda: [keccak256(b"genesis")])
    txs: dict[bytes, _Tx] = field(default_factory=dict)
    lists: dict[bytes, StatusListRecord] = field(default_factory=dict)
    would_revert: str | None = None  # estimates revert with this error
    calls: dict[bytes, _Call] = field(default_factory=dict)  # what each signed transaction does
    _salt: itertools.count = field(default_factory=itertools.count)

    @property
    def head(self) -> int:
        return len(self.blocks) - 1

    @property
    def confirmed_nonce(self) -> int:
        return sum(1 for t in self.txs.values() if t.block is not None)

    def pending(self) -> list[_Tx]:
        return sorted((t for t in self.txs.values() if t.block is None), key=lambda t: t.nonce)

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self.blocks.append(keccak256(b"block %d %d" % (len(self.blocks), next(self._salt))))
            for tx in self.pending():
                if tx.nonce != self.confirmed_nonce:
                    continue
                tx.block = self.head
                if tx.call.reverts:
                    tx.status = 0
                    continue
                old = self.lists.get(tx.call.list_id)
                self.lists[tx.call.list_id] = StatusListRecord(
                    tx.call.list_hash, 0, self.head, (old.version if old else 0) + 1
                )

    def reorg(self, depth: int) -> None:
        """The last ``depth`` blocks leave the chain, and their transactions with them (forgotten)."""
        fork = self.head - depth
        for tx_hash, tx in list(self.txs.items()):
            if tx.block is not None and tx.block > fork:
                del self.txs[tx_hash]
        self.blocks = self.blocks[: fork + 1]
        self.lists = {}
        for tx in sorted(
            (t for t in self.txs.values() if t.block is not None and t.status), key=lambda t: t.nonce
        ):
            old = self.lists.get(tx.call.list_id)
            self.lists[tx.call.list_id] = StatusListRecord(
                tx.call.list_hash, 0, tx.block, (old.version if old else 0) + 1
            )
        self.mine(depth + 1)

    def send_direct(self, call: _Call) -> bytes:
        """Another transaction of the same key, sent outside the outbox (an earlier attempt resurfacing)."""
        signed = FakeSender(self).sign(call, nonce=self.confirmed_nonce + len(self.pending()))
        FakeSender(self).broadcast(signed)
        return signed.tx_hash


class _Eth:
    def __init__(self, chain: FakeChain):
        self.chain = chain

    @property
    def block_number(self) -> int:
        return self.chain.head

    def get_block(self, number: int) -> dict:
        return {"hash": self.chain.blocks[number], "timestamp": 1_800_000_000 + number}

    def get_transaction(self, tx_hash: bytes) -> dict:
        return {"nonce": self.chain.txs[tx_hash].nonce}


class FakeSender:
    chain_id = 31337

    def __init__(self, chain: FakeChain, crash: bool = False):
        self.chain = chain
        self.crash = crash
        self.account = type("Account", (), {"address": chain.address})()
        self.w3 = type("W3", (), {"eth": _Eth(chain)})()

    def next_nonce(self) -> int:
        return self.chain.confirmed_nonce + len(self.chain.pending())

    def sign(self, call: _Call, nonce: int | None = None) -> SignedTx:
        if self.chain.would_revert:
            raise ContractRevert(self.chain.would_revert, {})
        nonce = self.next_nonce() if nonce is None else nonce
        tx_hash = keccak256(b"%d:" % nonce + call.list_id + call.list_hash + (call.reverts or "").encode())
        self.chain.calls[tx_hash] = call
        return SignedTx(raw=tx_hash, tx_hash=tx_hash, nonce=nonce, sender=self.chain.address, gas=50_000)

    def broadcast(self, signed: SignedTx) -> None:
        if self.crash:
            raise SystemExit("simulated crash before broadcast")
        if signed.tx_hash in self.chain.txs:
            return
        if any(t.nonce == signed.nonce for t in self.chain.txs.values()):
            raise NonceConsumed(f"nonce {signed.nonce} was used by another transaction")
        self.chain.txs[signed.tx_hash] = _Tx(signed.tx_hash, signed.nonce, self.chain.calls[signed.tx_hash])

    def receipt(self, tx_hash: bytes):
        tx = self.chain.txs.get(tx_hash)
        if tx is None or tx.block is None:
            return None
        return {
            "status": tx.status,
            "blockNumber": tx.block,
            "blockHash": self.chain.blocks[tx.block],
            "gasUsed": 30_000,
        }

    def is_known(self, tx_hash: bytes) -> bool:
        return tx_hash in self.chain.txs

    def confirmations(self, receipt) -> int:
        number = receipt["blockNumber"]
        if number > self.chain.head or self.chain.blocks[number] != receipt["blockHash"]:
            return 0
        return self.chain.head - number + 1

    def failure_reason(self, tx_hash: bytes, receipt) -> ContractRevert:
        return ContractRevert(self.chain.txs[tx_hash].call.reverts or "Reverted without reason", {})


class FakeAnchor:
    address = "0x" + "cd" * 20

    def __init__(self, chain: FakeChain):
        self.chain = chain
        self.reverts: str | None = None  # the next calls revert when mined

        class _Published:
            def get_logs(self, from_block, to_block, argument_filters):
                assert argument_filters["issuer"] == chain.address
                return [
                    {"transactionHash": t.tx_hash}
                    for t in chain.txs.values()
                    if t.block is not None
                    and from_block <= t.block <= to_block
                    and t.status
                    and t.call.list_id == argument_filters["listId"]
                ]

        self.contract = type(
            "Contract",
            (),
            {"events": type("Events", (), {"StatusListPublished": staticmethod(lambda: _Published())})()},
        )()

    def publish_status_list(self, lid: bytes, list_hash: bytes) -> _Call:
        return _Call(lid, list_hash, self.reverts)

    def status_list_of(self, issuer: str, lid: bytes) -> StatusListRecord | None:
        return self.chain.lists.get(lid)


# ------------------------------------------------------------------------------------------ publications
URL = "https://node.example/v1/status/0xabab/revocation"


@pytest.fixture
def chain() -> FakeChain:
    return FakeChain()


@pytest.fixture
def status_list(session_factory, issuer) -> int:
    with session_factory() as s:
        lst = StatusList(issuer_id=issuer.id, purpose="revocation", url=URL, size=MIN_LIST_BITS)
        s.add(lst)
        s.commit()
        return lst.id


def publisher(session_factory, issuer, chain, *, crash=False, **options) -> Publisher:
    return Publisher(
        session_factory,
        FakeSender(chain, crash=crash),
        FakeAnchor(chain),
        issuer.id,
        config=StatusListConfig(publish_interval_seconds=0),
        **options,
    )


def rows(session_factory) -> list[StatusListPublication]:
    with session_factory() as s:
        return list(s.exec(select(StatusListPublication).order_by(StatusListPublication.id)))


def the_list(session_factory, list_pk) -> StatusList:
    with session_factory() as s:
        return s.get(StatusList, list_pk)


def bump(session_factory, list_pk) -> None:
    """One more bit set: a new revision with a new hash."""
    with session_factory() as s:
        lst = s.get(StatusList, list_pk)
        lst.revision += 1
        lst.updated_at = utcnow()
        s.add(StatusListEntry(list_id=lst.id, idx=lst.revision, bit=True))
        s.add(lst)
        s.commit()


def test_publication_crash_before_broadcast_waits_the_grace_then_publishes_once(
    session_factory, issuer, chain, status_list
):
    with pytest.raises(SystemExit):
        publisher(session_factory, issuer, chain, crash=True).run_pass()
    [row] = rows(session_factory)
    assert row.state == "submitted" and row.tx_hash and row.nonce == 0 and row.submitted_at is not None
    assert row.revision == 0 and row.list_hash and not chain.txs  # written ahead, never broadcast
    restarted = publisher(session_factory, issuer, chain)
    assert (
        not restarted.run_pass().progressed
    )  # inside the grace: it may still be on its way; nothing re-sent
    assert [r.state for r in rows(session_factory)] == ["submitted"]
    restarted.drop_grace_seconds = 0.0
    result = restarted.run_pass()
    assert (result.dropped, result.submitted) == (1, 1)
    chain.mine()
    assert restarted.run_pass().confirmed == 1
    first, second = rows(session_factory)
    assert (first.state, second.state) == ("dropped", "confirmed")
    assert (
        second.nonce == 0 and second.tx_hash == first.tx_hash
    )  # same nonce, same content: the same transaction
    assert len(chain.txs) == 1 and chain.lists[list_id(URL)].version == 1
    lst = the_list(session_factory, status_list)
    assert (lst.published_revision, lst.published_hash, lst.published_version) == (0, second.list_hash, 1)
    assert lst.published_at is not None and lst.last_error is None
    assert not restarted.run_pass().progressed  # up to date


def test_publication_whose_nonce_was_taken_is_dropped_and_sent_again(
    session_factory, issuer, chain, status_list
):
    pub = publisher(session_factory, issuer, chain)
    chain.send_direct(_Call(keccak256(b"another list"), keccak256(b"x")))  # takes nonce 0 in the mempool...
    pub.sender.next_nonce = lambda: 0  # ...which a lagging node does not count yet
    result = pub.run_pass()
    assert (result.dropped, result.submitted) == (1, 0)
    [row] = rows(session_factory)
    assert row.state == "dropped" and "nonce 0" in row.last_error
    assert "nonce 0" in the_list(session_factory, status_list).last_error
    del pub.sender.next_nonce
    assert pub.run_pass().submitted == 1
    chain.mine()
    assert pub.run_pass().confirmed == 1
    assert [r.state for r in rows(session_factory)] == ["dropped", "confirmed"]
    assert rows(session_factory)[1].nonce == 1


def test_publication_unknown_after_the_grace_is_dropped(session_factory, issuer, chain, status_list):
    pub = publisher(session_factory, issuer, chain, drop_grace_seconds=0.0)
    assert pub.run_pass().submitted == 1
    chain.txs.clear()  # the node forgot it (evicted from the mempool)
    result = pub.run_pass()
    assert (result.dropped, result.submitted) == (1, 1)
    assert [r.state for r in rows(session_factory)] == ["dropped", "submitted"]


def test_publication_revert_is_retried_and_estimate_revert_noted(session_factory, issuer, chain, status_list):
    pub = publisher(session_factory, issuer, chain)
    pub.anchor.reverts = "EmptyBatch"
    pub.run_pass()
    chain.mine()
    pub.anchor.reverts = None
    result = pub.run_pass()  # reverted: failed, and (never final) sent again in the same pass
    assert (result.failed, result.submitted) == (1, 1)
    assert [r.state for r in rows(session_factory)] == ["failed", "submitted"]
    assert "EmptyBatch" in rows(session_factory)[0].last_error
    assert "reverted" in the_list(session_factory, status_list).last_error
    chain.mine()
    assert pub.run_pass().confirmed == 1
    chain.would_revert = "Paused"  # the estimate reverts: noted on the list, nothing written ahead
    bump(session_factory, status_list)
    assert not pub.run_pass().progressed
    assert "would revert" in the_list(session_factory, status_list).last_error
    assert len(rows(session_factory)) == 2


def test_publication_notes_depth_until_deep_enough(session_factory, issuer, chain, status_list):
    pub = publisher(session_factory, issuer, chain)
    pub.confirmations = 3
    pub.run_pass()
    chain.mine()
    pub.run_pass()
    [row] = rows(session_factory)
    assert (row.state, row.confirmations, row.block_number) == ("submitted", 1, 1)
    assert the_list(session_factory, status_list).published_revision is None
    chain.mine(2)
    assert pub.run_pass().confirmed == 1
    assert rows(session_factory)[0].confirmations == 3


def test_publication_reorg_rolls_the_summary_back(session_factory, issuer, chain, status_list):
    pub = publisher(session_factory, issuer, chain, drop_grace_seconds=0.0)
    pub.run_pass()
    chain.mine()
    pub.run_pass()
    bump(session_factory, status_list)
    pub.run_pass()
    chain.mine()
    pub.run_pass()
    assert the_list(session_factory, status_list).published_revision == 1
    chain.reorg(1)  # the second publication's block leaves the chain, and the transaction is forgotten
    result = pub.run_pass()
    assert result.reorged == 1
    lst = the_list(session_factory, status_list)
    first = rows(session_factory)[0]
    assert (lst.published_revision, lst.published_hash) == (0, first.list_hash)  # the previous confirmed one
    assert rows(session_factory)[1].state == "submitted"  # back in flight: the next pass settles it again
    result = pub.run_pass()  # unknown to the node now: dropped, and the current list sent again
    assert (result.dropped, result.submitted) == (1, 1)
    assert [r.state for r in rows(session_factory)] == ["confirmed", "dropped", "submitted"]
    chain.mine()
    pub.run_pass()
    assert the_list(session_factory, status_list).published_revision == 1


def test_publication_adopts_an_earlier_transaction_that_resurfaced(
    session_factory, issuer, chain, status_list
):
    with pytest.raises(SystemExit):
        publisher(session_factory, issuer, chain, crash=True).run_pass()
    [row] = rows(session_factory)
    earlier = chain.send_direct(_Call(list_id(URL), bytes.fromhex(row.list_hash[2:])))
    chain.mine()
    result = publisher(session_factory, issuer, chain, drop_grace_seconds=0.0).run_pass()
    assert (result.confirmed, result.dropped, result.submitted) == (1, 0, 0)
    [row] = rows(session_factory)
    assert row.state == "confirmed" and row.tx_hash == "0x" + earlier.hex() and row.block_number == 1
    assert the_list(session_factory, status_list).published_version == 1


@dataclass
class StubFence:
    token: int = 41
    lost: bool = False
    checked: list = field(default_factory=list)

    def check(self, token, session=None):
        assert session is not None and session.in_transaction()  # checked inside the write-ahead transaction
        self.checked.append(token)
        if self.lost:
            raise FenceLost(f"lease moved on past token {token}")


def test_the_fence_is_stored_ahead_and_checked_before_broadcast(session_factory, issuer, chain, status_list):
    fence = StubFence()
    pub = publisher(session_factory, issuer, chain, fence=fence)
    assert pub.run_pass().submitted == 1
    assert fence.checked == [41] and rows(session_factory)[0].fence_token == 41 and len(chain.txs) == 1
    chain.mine()
    pub.run_pass()
    bump(session_factory, status_list)
    fence.lost, fence.token = True, 42
    with pytest.raises(FenceLost):
        pub.run_pass()
    assert len(chain.txs) == 1  # the stale holder never broadcast
    assert (
        len(rows(session_factory)) == 1
    )  # and wrote nothing: the check failed inside the write-ahead transaction


def test_signer_passes_run_each_outbox_in_turn(session_factory, issuer, chain, status_list):
    order = []

    class Recording(Publisher):
        def run_pass(self):
            order.append(self.name)
            return super().run_pass()

    first, second = (
        Recording(session_factory, FakeSender(chain), FakeAnchor(chain), issuer.id) for _ in "ab"
    )
    first.name, second.name = "first", "second"
    assert SignerPasses(first, second).run_pass().submitted == 1  # the second finds the list in flight
    assert order == ["first", "second"] and SignerPasses(first).address == chain.address
    assert issubclass(Publisher, Outbox)


def test_publication_rows_refuse_illegal_steps(session_factory, issuer, status_list):
    h, b = "0x" + "11" * 32, "0x" + "33" * 32
    with session_factory() as s:
        lst = s.get(StatusList, status_list)
        gone = record_publication(s, lst, revision=0, list_hash=h, nonce=0, tx_hash="0x" + "22" * 32)
        record_publication_dropped(s, gone, "gone")
        with pytest.raises(InvalidTransition, match="dropped -> confirmed"):
            record_publication_confirmed(s, gone, block_number=1, block_hash=b)
        pub = record_publication(s, lst, revision=0, list_hash=h, nonce=1, tx_hash="0x" + "44" * 32)
        with pytest.raises(InvalidTransition, match=r"submitted -> submitted .*starts from confirmed"):
            record_publication_reorg(s, pub, "not confirmed yet")
        record_publication_confirmed(s, pub, block_number=1, block_hash=b, version=1)
        with pytest.raises(InvalidTransition, match=r"confirmed -> submitted .*starts from"):
            stamp_submission(pub, Submission(2, "0x" + "66" * 32))  # a re-submission is not a re-org
        with pytest.raises(InvalidTransition, match="confirmed -> dropped"):
            record_publication_dropped(s, pub, "late")
        record_publication_reorg(s, pub, "block gone")
        assert pub.state == "submitted" and s.get(StatusList, status_list).published_revision is None
