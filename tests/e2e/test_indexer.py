"""The chain-event indexer against the dev Anvil network, on SQLite and PostgreSQL: history and
point-in-time answers, other nodes' issuers, resuming from the cursor, and re-orgs (evm_snapshot/evm_revert)."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa
from eth_account import Account

from anchoring.chain.contracts import CredentialAnchor, IssuerRegistry, IssuerStatus
from anchoring.scheme.keccak import keccak256
from node.registry import index
from node.registry.indexer import Indexer
from node.storage.registry_tables import IndexerCursor, RegistryAnchor, RegistryEvent, RegistryIssuer
from tests.helpers.chain import advance, send
from tests.helpers.db import count_rows
from tests.helpers.registry import accredit_ti, lifecycle


@pytest.fixture()
def indexer(session_factory, dev_network):
    w3 = dev_network.chain.web3()
    return Indexer(session_factory, w3, dev_network.deployment, confirmations=1)


def test_indexes_other_nodes_issuers_from_the_deployment_block(indexer, session_factory, dev_network):
    stats = indexer.run_once()
    assert stats.from_block == dev_network.deployment.deployment_block
    assert stats.last_block == stats.target and stats.registry_events >= 3
    with session_factory() as s:
        root = s.get(RegistryIssuer, dev_network.root_tao.address)
        tao = s.get(RegistryIssuer, dev_network.tao.address)
        ti = s.get(RegistryIssuer, dev_network.issuer.address)
        assert (root.kind, root.accreditor) == ("root-tao", None)
        assert (tao.kind, tao.accreditor) == ("tao", root.address)
        assert (ti.kind, ti.status, ti.accreditor) == ("ti", "active", tao.address)
        chain = index.accreditation_chain(s, ti)
        assert [c.address for c in chain] == [tao.address, root.address]
    # a second pass finds nothing new
    again = indexer.run_once()
    assert again.ranges == 0 and again.registry_events == 0


def test_history_and_point_in_time_status(indexer, session_factory, dev_network):
    w3 = dev_network.chain.web3()
    life = lifecycle(w3, dev_network)
    ti = life["address"]
    indexer.run_once()
    registry = dev_network.registry(w3)
    with session_factory() as s:
        row = s.get(RegistryIssuer, ti)
        assert row.status == "revoked" and row.country == "NL"
        events = index.issuer_history(s, ti)
        assert [e.action for e in events] == ["accredited", "suspended", "reinstated", "revoked"]
        assert [e.new_status for e in events] == ["active", "suspended", "active", "revoked"]
        assert [e.previous_status for e in events] == [None, "active", "suspended", "active"]
        assert all(e.by == dev_network.tao.address for e in events)
        assert all(e.tx_hash.startswith("0x") and len(e.tx_hash) == 66 for e in events)
        assert events[1].reason_hash == "0x" + keccak256(b"suspend").hex()
        assert [e.reason for e in events] == [None, "suspend", "reinstate", "revoke"]  # the text, as emitted
        t0 = life["accredited"][0]
        probes = {
            t0 - 1: "none",
            t0: "active",
            t0 + 50: "active",
            life["suspend"][0] + 1: "suspended",
            life["reinstate"][0] + 1: "active",
            life["revoke"][0]: "revoked",
            life["revoke"][0] + 10**6: "revoked",
        }
        for when, expected in probes.items():
            got = index.status_at(s, row, timestamp=when)
            assert got.status == expected, when
            assert IssuerStatus[expected.upper()] == registry.status_at(ti, when)  # the chain agrees
        assert index.status_at(s, row, timestamp=life["suspend"][0] + 1).active_ti is False
        assert index.status_at(s, row, timestamp=life["reinstate"][0] + 1).active_ti is True
        for name, expected in (
            ("accredited", "active"),
            ("suspend", "suspended"),
            ("reinstate", "active"),
            ("revoke", "revoked"),
        ):
            assert index.status_at(s, row, block=life[name][1]).status == expected
        assert index.status_at(s, row, block=life["accredited"][1] - 1).status == "none"


def test_resumes_from_the_cursor_in_small_ranges(session_factory, dev_network, db_url):
    w3 = dev_network.chain.web3()
    accredit_ti(w3, dev_network, Account.create().address)
    small = Indexer(
        session_factory, w3, dev_network.deployment, confirmations=1, batch_blocks=2, max_ranges=2
    )
    first = small.run_once()
    assert first.ranges == 2
    with session_factory() as s:
        cursor = s.get(IndexerCursor, small.name)
        assert cursor.last_block == dev_network.deployment.deployment_block + 3
    # a new process (new Indexer) continues where the first stopped
    Indexer(session_factory, w3, dev_network.deployment, confirmations=1, batch_blocks=3).run_once()
    full_engine_counts = _counts(session_factory)
    other = _fresh_copy_counts(db_url, dev_network)
    assert full_engine_counts == other


def _counts(factory):
    with factory() as s:
        return tuple(
            s.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            for t in (RegistryIssuer, RegistryEvent, RegistryAnchor)
        )


def _fresh_copy_counts(db_url, dev_network):
    """Index the same chain into a second, empty SQLite database in one go."""
    import tempfile

    from node.storage.db import make_engine, upgrade
    from node.storage.db import session_factory as make_factory

    with tempfile.TemporaryDirectory() as d:
        eng = make_engine(f"sqlite:///{d}/other.db")
        upgrade(eng)
        try:
            factory = make_factory(eng)
            Indexer(factory, dev_network.chain.web3(), dev_network.deployment, confirmations=1).run_once()
            return _counts(factory)
        finally:
            eng.dispose()


def test_confirmation_depth_holds_back_recent_blocks(session_factory, dev_network):
    w3 = dev_network.chain.web3()
    deep = Indexer(session_factory, w3, dev_network.deployment, confirmations=3)
    addr = Account.create().address
    accredit_ti(w3, dev_network, addr)
    stats = deep.run_once()
    assert stats.last_block == w3.eth.block_number - 2
    with session_factory() as s:
        assert s.get(RegistryIssuer, addr) is None
    advance(w3, 1)
    advance(w3, 1)
    deep.run_once()
    with session_factory() as s:
        assert s.get(RegistryIssuer, addr) is not None


def test_reorg_rolls_back_past_the_fork_and_reindexes(indexer, session_factory, engine, dev_network):
    w3 = dev_network.chain.web3()
    indexer.run_once()
    fork_block = w3.eth.block_number
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    # on the branch that will disappear: a TI, a status change of an older TI, and an anchor
    doomed = Account.create().address
    accredit_ti(w3, dev_network, doomed)
    survivor = Account.create().address  # accredited only on the branch that wins
    root = secrets.token_bytes(32)
    send(w3, dev_network.issuer, dev_network.anchor(w3).anchor(root, 3))
    advance(w3, 5)
    stats = indexer.run_once()
    assert stats.anchors == 1
    with session_factory() as s:
        assert s.get(RegistryIssuer, doomed) is not None
        assert (
            s.execute(sa.select(RegistryAnchor).where(RegistryAnchor.root == "0x" + root.hex()))
            .scalars()
            .first()
        )
    events_before = count_rows(engine, "registry_event")

    # the re-org: back to the fork point, then different blocks (one empty, one with another TI)
    assert w3.provider.make_request("evm_revert", [snapshot])["result"] is True
    assert w3.eth.block_number == fork_block
    advance(w3, 7)
    accredit_ti(w3, dev_network, survivor)
    stats = indexer.run_once()
    assert stats.reorgs == 1 and stats.rolled_back_to is not None and stats.rolled_back_to <= fork_block
    with session_factory() as s:
        assert s.get(RegistryIssuer, doomed) is None  # gone with its branch
        assert s.get(RegistryIssuer, survivor) is not None  # the new branch is indexed
        assert (
            not s.execute(sa.select(RegistryAnchor).where(RegistryAnchor.root == "0x" + root.hex()))
            .scalars()
            .first()
        )
        assert (
            not s.execute(sa.select(RegistryEvent).where(RegistryEvent.address == doomed)).scalars().first()
        )
        assert s.execute(sa.select(sa.func.max(RegistryEvent.block_number))).scalar() <= w3.eth.block_number
        cursor = s.get(IndexerCursor, indexer.name)
        assert cursor.reorgs == 1
        assert cursor.last_block_hash == "0x" + bytes(w3.eth.get_block(cursor.last_block)["hash"]).hex()
        # every indexed row's block hash is canonical
        for ev in s.execute(
            sa.select(RegistryEvent).where(RegistryEvent.block_number > fork_block - 5)
        ).scalars():
            assert ev.block_hash == "0x" + bytes(w3.eth.get_block(ev.block_number)["hash"]).hex()
    assert count_rows(engine, "registry_event") == events_before  # one accreditation removed, one added
    assert indexer.run_once().reorgs == 0


def test_reorg_restores_a_status_changed_on_the_lost_branch(indexer, session_factory, dev_network):
    w3 = dev_network.chain.web3()
    ti = Account.create().address
    accredit_ti(w3, dev_network, ti)
    indexer.run_once()
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    send(w3, dev_network.tao, dev_network.registry(w3).suspend(ti))
    indexer.run_once()
    with session_factory() as s:
        assert s.get(RegistryIssuer, ti).status == "suspended"
    w3.provider.make_request("evm_revert", [snapshot])
    for _ in range(3):
        advance(w3, 1)
    assert indexer.run_once().reorgs == 1
    with session_factory() as s:
        assert s.get(RegistryIssuer, ti).status == "active"
        assert [e.action for e in index.issuer_history(s, ti)] == ["accredited"]


def test_indexer_loop_follows_the_chain_and_stops(session_factory, dev_network):
    import threading
    import time

    from node.registry.indexer import IndexerLoop

    w3 = dev_network.chain.web3()
    loop = IndexerLoop(Indexer(session_factory, w3, dev_network.deployment, confirmations=1), interval=0.05)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        addr = Account.create().address
        accredit_ti(w3, dev_network, addr)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with session_factory() as s:
                if s.get(RegistryIssuer, addr) is not None:
                    break
            time.sleep(0.05)
        else:
            pytest.fail(f"the loop did not index the new TI (last error: {loop.last_error})")
    finally:
        loop.stop()
        thread.join(5)
    assert not thread.is_alive() and loop.last_error is None


def test_indexes_any_uint64_leaf_count_and_one_root_in_two_namespaces(session_factory, funder):
    """On a deployment of its own (the shared dev one keeps its anchors small): anchors with leafCount 2**63 and
    2**64-1 (BIGINT overflowed on both databases) and the same root anchored by two issuers (v2 namespaces; a
    unique root stalled the indexer) are indexed, and the indexer goes on past them."""
    from anchoring.chain.contracts import IssuerKind, deploy_contracts
    from tests.helpers.chain import sender

    w3 = funder.w3
    root_tao, ti_a, ti_b = funder.account(), funder.account(), funder.account()
    deployment = deploy_contracts(sender(w3, root_tao), "did:example:own-root")
    registry = IssuerRegistry(w3, deployment.issuer_registry)
    anchor = CredentialAnchor(w3, deployment.credential_anchor)
    for ti in (ti_a, ti_b):
        send(
            w3,
            root_tao,
            registry.accredit(ti.address, IssuerKind.TI, f"did:example:{ti.address}", b"\1" * 32, "*"),
        )
    huge, half, shared = secrets.token_bytes(32), secrets.token_bytes(32), secrets.token_bytes(32)
    send(w3, ti_a, anchor.anchor(huge, 2**64 - 1))
    send(w3, ti_a, anchor.anchor(half, 2**63))
    send(w3, ti_a, anchor.anchor(shared, 5))
    send(w3, ti_b, anchor.anchor(shared, 7))  # the same root, in B's namespace
    indexer = Indexer(session_factory, w3, deployment, confirmations=1, batch_blocks=3)
    stats = indexer.run_once()
    assert stats.anchors == 4 and stats.last_block == stats.target
    with session_factory() as s:
        rows = {(a.issuer, a.root): a.leaf_count for a in s.execute(sa.select(RegistryAnchor)).scalars()}
        page = index.issuer_anchors(s, ti_a.address)
    assert rows == {
        (ti_a.address, "0x" + huge.hex()): 2**64 - 1,
        (ti_a.address, "0x" + half.hex()): 2**63,
        (ti_a.address, "0x" + shared.hex()): 5,
        (ti_b.address, "0x" + shared.hex()): 7,
    }
    assert page.count == 3 and page.first.leaf_count == 2**64 - 1
    if session_factory.kw["bind"].dialect.name == "postgresql":
        assert page.leaves == 2**64 - 1 + 2**63 + 5  # NUMERIC sums exactly
    # the indexer is not stuck: a later event is indexed too
    send(w3, ti_b, anchor.anchor(secrets.token_bytes(32), 1))
    assert indexer.run_once().anchors == 1
