"""Revocation end to end: real API server, pipeline (batcher, anchorer + revoker, indexer) and a real Anvil.

Revoke one in a batch (the others stay valid), refusal for another issuer (API and on chain), suspend then
reinstate, 1,000 revocations in two transactions (gas per credential printed), a crash between write-ahead
and broadcast, the status list hash on chain, and a verifier and another node seeing a revocation.
"""

from __future__ import annotations

import math
import time

import pytest
import sqlalchemy as sa
from sqlmodel import select

from anchoring.chain.contracts import CredentialAnchor, IssuerKind
from anchoring.chain.contracts import CredentialStatus as ChainStatus
from anchoring.chain.transactions import TransactionSender
from anchoring.errors import ContractRevert
from anchoring.scheme.encoding import from_hex, to_hex
from anchoring.scheme.keccak import keccak256
from anchoring.statuslist import check_served_list, decode_list, entry_is_set, get_bit, list_id
from anchoring.verify.context import ChainContext
from anchoring.verify.run import verify_bundles
from node.cli.embedded import EmbeddedNode, node_settings
from node.dev.network import DEV_SCOPE
from node.pipeline.anchorer import Anchorer
from node.pipeline.publisher import Publisher
from node.pipeline.revoker import Revoker
from node.pipeline.sealer import seal_due_batches
from node.storage.models import Batch
from node.storage.revocation_tables import StatusChange, StatusList, StatusListPublication, StatusTx
from node.storage.trees import load_tree
from tests.helpers.chain import CrashBeforeBroadcast
from tests.helpers.credentials import sample_credential as credential
from tests.helpers.nodes import wait_published

pytestmark = [pytest.mark.chain, pytest.mark.slow]


@pytest.fixture(autouse=True)
def fast_publication(monkeypatch):
    monkeypatch.setenv("CREDREG_STATUS_LIST_PUBLISH_INTERVAL_SECONDS", "0")


@pytest.fixture()
def node(dev_network, tmp_path, db_url):
    harness = EmbeddedNode(
        node_settings(
            tmp_path,
            dev_network.chain.rpc_url,
            dev_network.deployment,
            dev_network.issuer.key,
            database_url=db_url,
        )
    )
    yield harness
    harness.stop()


def wait_request(node: EmbeddedNode, body: dict, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        progress = node.http.get(f"/v1/revocations/{body['requestId']}").json()
        if progress["done"]:
            return progress
        assert time.monotonic() < deadline, f"request not done in {timeout}s: {progress}"
        time.sleep(0.2)


def bundles(node: EmbeddedNode, digests: list[str]) -> list[dict]:
    return [node.http.get(f"/v1/credentials/{d}/bundle").json() for d in digests]


def chain_status(anchor: CredentialAnchor, bundle: dict):
    inclusion = bundle["anchors"][0]
    return anchor.verify(
        inclusion["issuer"],
        from_hex(bundle["digest"]),
        from_hex(inclusion["root"]),
        [from_hex(p) for p in inclusion["proof"]],
    )


def test_revoke_one_in_batch_others_stay_valid(node, dev_network):
    entries = node.http.post("/v1/status/allocate").json()["credentialStatus"]
    digests = [node.issue(credential(0, credentialStatus=entries))] + [
        node.issue(credential(i)) for i in range(1, 5)
    ]
    node.wait_anchored(digests)
    r = node.http.post(f"/v1/credentials/{digests[0]}/revoke", json={"reason": "keyCompromise"})
    assert r.status_code == 202, r.text
    progress = wait_request(node, r.json())
    assert progress["confirmed"] == 1 and progress["items"][0]["txHash"]
    anchor = dev_network.anchor(dev_network.chain.web3())
    docs = bundles(node, digests)
    views = [chain_status(anchor, b) for b in docs]
    assert views[0].status == ChainStatus.REVOKED and views[0].reason == 1 and views[0].status_changed_at > 0
    assert all(v.status == ChainStatus.VALID and v.included for v in views[1:])
    # the verifier's report
    reports = verify_bundles(docs, ChainContext(dev_network.chain.rpc_url, dev_network.deployment))
    assert (
        reports[0]["not_revoked"].status == "fail" and reports[0]["not_revoked"].details["reason_code"] == 1
    )
    assert [r["not_revoked"].status for r in reports[1:]] == ["pass"] * 4
    # idempotent: a second revoke queues nothing and sends nothing
    again = node.http.post(f"/v1/credentials/{digests[0]}/revoke", json={"reason": "keyCompromise"}).json()
    assert again["queued"] == 0
    assert node.http.post(f"/v1/credentials/{digests[0]}/reinstate").status_code == 409
    # the status list: bit set, hash published on chain, the served list matches it
    wait_published(node, "revocation")
    listed = node.http.get(entries[0]["statusListCredential"].removeprefix(node.base_url))
    assert listed.status_code == 200 and "max-age" in listed.headers["cache-control"]
    bits = decode_list(listed.json()["credentialSubject"]["encodedList"])
    assert get_bit(bits, int(entries[0]["statusListIndex"]))
    check = check_served_list(listed.json(), anchor, dev_network.issuer.address)
    assert check.ok, check.reason
    assert listed.headers["x-credreg-published-hash"] == check.onchain_hash
    assert entry_is_set(listed.json(), entries[0]) and not entry_is_set(
        node.http.get(entries[1]["statusListCredential"].removeprefix(node.base_url)).json(), entries[1]
    )
    # a tampered list (the bit cleared) no longer matches the chain
    forged = listed.json()
    forged["credentialSubject"]["encodedList"] = node.http.get(
        entries[1]["statusListCredential"].removeprefix(node.base_url)
    ).json()["credentialSubject"]["encodedList"]
    forged_check = check_served_list(forged, anchor, dev_network.issuer.address)
    assert not forged_check.ok and "differs" in forged_check.reason
    # and a list nobody published is reported as such
    assert not check_served_list(
        {**listed.json(), "id": listed.json()["id"] + "x"}, anchor, dev_network.issuer.address
    ).ok


def test_other_issuer_is_refused(node, dev_network, funder, tmp_path):
    digest = node.issue(credential(1))
    [proof] = node.wait_anchored([digest]).values()
    # a second trusted issuer with its own node and token
    w3 = dev_network.chain.web3()
    other = funder.account()
    registry = dev_network.registry(w3)
    TransactionSender(w3, dev_network.tao).transact(
        registry.accredit(
            other.address,
            IssuerKind.TI,
            f"did:example:other-{other.address[-6:]}",
            keccak256(b"other"),
            DEV_SCOPE,
        )
    )
    second = EmbeddedNode(
        node_settings(
            tmp_path / "second", dev_network.chain.rpc_url, dev_network.deployment, bytes(other.key)
        ),
        pipeline=False,
    )
    try:
        r = second.http.post(f"/v1/credentials/{digest}/revoke")
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    finally:
        second.stop()
    # on chain: another issuer has no such root in its namespace, so it cannot revoke under it
    anchor = dev_network.anchor(w3)
    with node.runtime.factory() as s:
        batch = s.exec(select(Batch).where(Batch.root == proof["root"])).one()
        multi = load_tree(batch).multiproof([from_hex(digest)])
    call = anchor.revoke(
        from_hex(proof["root"]), list(multi.leaves), list(multi.proof), list(multi.proof_flags), 1
    )
    with pytest.raises(ContractRevert) as exc:
        TransactionSender(w3, other).sign(call)
    assert exc.value.error == "UnknownRoot" and exc.value.params["issuer"] == other.address
    assert (
        anchor.verify(
            proof["anchor"]["issuer"],
            from_hex(digest),
            from_hex(proof["root"]),
            [from_hex(p) for p in proof["proof"]],
        ).status
        == ChainStatus.VALID
    )


def test_suspend_then_reinstate(node, dev_network):
    entries = node.http.post("/v1/status/allocate").json()["credentialStatus"]
    digest = node.issue(credential(1, credentialStatus=entries))
    node.wait_anchored([digest])
    anchor = dev_network.anchor(dev_network.chain.web3())
    [doc] = bundles(node, [digest])
    r = node.http.post(f"/v1/credentials/{digest}/suspend", json={"reason": "underInvestigation"})
    assert r.status_code == 202
    wait_request(node, r.json())
    view = chain_status(anchor, doc)
    assert view.status == ChainStatus.SUSPENDED and view.reason == 105
    suspension = entries[1]
    wait_published(node, "suspension")
    bits = decode_list(
        node.http.get(suspension["statusListCredential"].removeprefix(node.base_url)).json()[
            "credentialSubject"
        ]["encodedList"]
    )
    assert get_bit(bits, int(suspension["statusListIndex"]))
    r = node.http.post(f"/v1/credentials/{digest}/reinstate")
    assert r.status_code == 202
    wait_request(node, r.json())
    assert chain_status(anchor, doc).status == ChainStatus.VALID
    wait_published(node, "suspension")
    bits = decode_list(
        node.http.get(suspension["statusListCredential"].removeprefix(node.base_url)).json()[
            "credentialSubject"
        ]["encodedList"]
    )
    assert not any(bits)
    st = node.http.get(f"/v1/credentials/{digest}/revocation").json()
    assert st["status"] == "valid" and [c["action"] for c in st["changes"]] == ["suspend", "reinstate"]


def test_bulk_revocation_of_1000(dev_network, tmp_path):
    harness = EmbeddedNode(
        node_settings(tmp_path, dev_network.chain.rpc_url, dev_network.deployment, dev_network.issuer.key)
    )
    try:
        response = harness.http.post("/v1/credentials/bulk", json=[credential(i) for i in range(1000)])
        assert response.status_code == 202
        digests = response.json()["digests"]
        harness.wait_anchored(digests[:1] + digests[-1:], timeout=120)
        deadline = time.monotonic() + 120
        while harness.http.get(f"/v1/proofs/{digests[500]}").json().get("state") != "anchored":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        started = time.monotonic()
        r = harness.http.post(
            "/v1/revocations", json={"action": "revoke", "reason": "administrativeError", "digests": digests}
        )
        assert r.status_code == 202 and r.json()["queued"] == 1000
        progress = wait_request(harness, r.json(), timeout=120)
        elapsed = time.monotonic() - started
        assert progress["confirmed"] == 1000
        with harness.runtime.factory() as s:
            txs = s.exec(select(StatusTx).where(StatusTx.state == "confirmed")).all()
            batches = s.execute(sa.text("SELECT count(DISTINCT batch_id) FROM credential")).scalar()
            sizes = s.execute(sa.text("SELECT count(*) FROM credential GROUP BY batch_id")).scalars().all()
        expected = sum(math.ceil(n / 512) for n in sizes)
        assert len(txs) == expected
        if batches == 1:
            assert len(txs) <= 2
        gas = sum(t.gas_used for t in txs)
        print(
            f"\nbulk revocation: 1000 credentials in {len(txs)} transactions ({batches} batch(es)), "
            f"{gas} gas = {gas / 1000:.0f} gas per credential, {elapsed:.1f}s from request to confirmed"
        )
        anchor = dev_network.anchor(dev_network.chain.web3())
        for doc in bundles(harness, digests[::97]):
            assert chain_status(anchor, doc).status == ChainStatus.REVOKED
    finally:
        harness.stop()


def test_crash_between_write_ahead_and_broadcast(dev_network, tmp_path):
    harness = EmbeddedNode(
        node_settings(tmp_path, dev_network.chain.rpc_url, dev_network.deployment, dev_network.issuer.key),
        pipeline=False,
    )
    try:
        rt = harness.runtime
        digests = [harness.issue(credential(i)) for i in range(3)]
        assert seal_due_batches(rt.factory, rt.settings, force=True)
        anchorer: Anchorer = rt.anchorer()
        deadline = time.monotonic() + 30
        while harness.http.get(f"/v1/proofs/{digests[0]}").json().get("state") != "anchored":
            anchorer.run_pass()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        r = harness.http.post("/v1/revocations", json={"action": "revoke", "digests": digests[:2]})
        assert r.status_code == 202
        real = rt.revoker()
        crashing = Revoker(
            real.session_factory,
            CrashBeforeBroadcast(real.sender.w3, rt.account),
            real.anchor,
            real.issuer_id,
        )
        with pytest.raises(SystemExit):
            crashing.run_pass()
        with rt.factory() as s:
            [tx] = s.exec(select(StatusTx)).all()
            assert tx.state == "submitted" and tx.tx_hash and tx.nonce is not None  # written ahead
            assert real.sender.receipt(from_hex(tx.tx_hash)) is None  # never reached the chain
        restarted = rt.revoker(drop_grace_seconds=0.0)  # the write-ahead tx is unknown: dropped at once
        deadline = time.monotonic() + 30
        while not harness.http.get(f"/v1/revocations/{r.json()['requestId']}").json()["done"]:
            restarted.run_pass()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        with rt.factory() as s:
            txs = s.exec(select(StatusTx).order_by(StatusTx.id)).all()
            changes = s.exec(select(StatusChange)).all()
        assert [t.state for t in txs] == ["dropped", "confirmed"]  # re-submitted exactly once
        assert all(c.state == "confirmed" and c.attempts == 2 for c in changes)
        anchor = CredentialAnchor(real.sender.w3, dev_network.deployment.credential_anchor)
        for digest in digests[:2]:
            logs = anchor.contract.events.CredentialStatusChanged().get_logs(
                from_block=0, argument_filters={"digest": from_hex(digest)}
            )
            assert len(logs) == 1
    finally:
        harness.stop()


def test_publication_crash_before_broadcast_then_adopted_or_resent(dev_network, funder, tmp_path):
    """A publisher dies after writing a list's publication ahead, twice (one list each time). The first list's
    hash then reaches the chain through another transaction of the same key (an earlier attempt resurfacing):
    the restart adopts that transaction. The second was never sent: dropped after the grace and sent again, once."""
    key = funder.account()  # a key of its own: no other test publishes these lists
    w3 = dev_network.chain.web3()  # CredentialAnchor 2 takes status lists from registered TIs only
    TransactionSender(w3, dev_network.tao).transact(
        dev_network.registry(w3).accredit(
            key.address,
            IssuerKind.TI,
            f"did:example:lists-{key.address[-6:]}",
            keccak256(b"lists"),
            DEV_SCOPE,
        )
    )
    harness = EmbeddedNode(
        node_settings(tmp_path, dev_network.chain.rpc_url, dev_network.deployment, bytes(key.key)),
        pipeline=False,
    )
    try:
        rt = harness.runtime
        assert harness.http.post("/v1/status/allocate").status_code == 201  # both lists exist, unpublished
        real = rt.publisher()

        def crash_once():
            crashing = Publisher(
                real.session_factory,
                CrashBeforeBroadcast(real.sender.w3, rt.account),
                real.anchor,
                real.issuer_id,
                config=real.config,
            )
            with pytest.raises(SystemExit):
                crashing.run_pass()  # inside the grace the earlier row is left alone; the next list crashes

        crash_once()
        crash_once()
        with rt.factory() as s:
            first, second = s.exec(select(StatusListPublication).order_by(StatusListPublication.id)).all()
            lst = s.get(StatusList, first.list_id)
        assert first.list_id != second.list_id
        for pub in (first, second):
            assert pub.state == "submitted" and pub.tx_hash and pub.nonce is not None and pub.submitted_at
            assert (
                real.sender.receipt(from_hex(pub.tx_hash)) is None
            )  # written ahead, never reached the chain
        other = TransactionSender(real.sender.w3, rt.account)  # an earlier attempt (other gas: other hash)
        earlier = other.sign(
            real.anchor.publish_status_list(list_id(lst.url), from_hex(first.list_hash)), gas=150_000
        )
        other.broadcast(earlier)
        other.wait(earlier.tx_hash)
        restarted = rt.publisher(drop_grace_seconds=0.0)
        deadline = time.monotonic() + 30
        while True:
            restarted.run_pass()
            with rt.factory() as s:
                lists = s.exec(select(StatusList).order_by(StatusList.id)).all()
                pubs = s.exec(select(StatusListPublication).order_by(StatusListPublication.id)).all()
            if all(x.published_revision == x.revision for x in lists):
                break
            assert time.monotonic() < deadline, [(p.list_id, p.state, p.last_error) for p in pubs]
            time.sleep(0.1)
        adopted = [p for p in pubs if p.list_id == first.list_id]
        assert [p.state for p in adopted] == ["confirmed"] and adopted[0].tx_hash == to_hex(earlier.tx_hash)
        assert adopted[0].block_number is not None  # pointed at the transaction that did it, with its block
        resent = [p for p in pubs if p.list_id == second.list_id]
        assert [p.state for p in resent] == ["dropped", "confirmed"] and resent[1].nonce == second.nonce + 1
        for x in lists:
            record = real.anchor.status_list_of(rt.account.address, list_id(x.url))
            assert (
                record.list_hash == from_hex(x.published_hash) and x.published_version == record.version == 1
            )
        logs = real.anchor.contract.events.StatusListPublished().get_logs(
            from_block=0, argument_filters={"issuer": rt.account.address}
        )
        assert len(logs) == 2  # one publication per list on chain: nothing sent twice
    finally:
        harness.stop()


def test_verifier_and_other_node_see_a_revocation(node, dev_network, funder, tmp_path):
    """Issuer B revokes through its own node; node A's indexer and a verifier (chain only) both see it."""
    w3 = dev_network.chain.web3()
    other = funder.account()
    did = f"did:example:uni-b-{other.address[-6:]}"
    TransactionSender(w3, dev_network.tao).transact(
        dev_network.registry(w3).accredit(other.address, IssuerKind.TI, did, keccak256(b"uni b"), DEV_SCOPE)
    )
    node_b = EmbeddedNode(
        node_settings(tmp_path / "b", dev_network.chain.rpc_url, dev_network.deployment, bytes(other.key))
    )
    try:
        digest = node_b.issue(credential(1, issuer_did=did))
        node_b.wait_anchored([digest])
        [doc] = bundles(node_b, [digest])
        r = node_b.http.post(f"/v1/credentials/{digest}/revoke", json={"reason": "fraud"})
        assert r.status_code == 202
        wait_request(node_b, r.json())
    finally:
        node_b.stop()
    # node B is gone: the learner's bundle still verifies as revoked against the chain alone
    [report] = verify_bundles([doc], ChainContext(dev_network.chain.rpc_url, dev_network.deployment))
    assert report["not_revoked"].status == "fail" and report["not_revoked"].details["reason_code"] == 100
    assert report["inclusion"].status == "pass" and report["anchored"].status == "pass"
    # node A indexed B's revocation event
    deadline = time.monotonic() + 30
    while True:
        with node.runtime.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT status, reason, issuer FROM registry_credential_status WHERE digest = :d"),
                {"d": digest},
            ).first()
        if row is not None:
            break
        assert time.monotonic() < deadline, "node A's indexer did not see node B's revocation"
        time.sleep(0.3)
    assert row.status == "revoked" and row.reason == 100 and row.issuer == other.address


def test_cli_revoke_with_file_and_suspend(node, dev_network, tmp_path):
    from typer.testing import CliRunner

    from node.cli import app

    digests = [node.issue(credential(i)) for i in range(3)]
    node.wait_anchored(digests)
    listing = tmp_path / "digests.txt"
    listing.write_text(f"# to suspend\n{digests[1]}  bundles/a.bundle.json\n{digests[2]}\n")
    runner = CliRunner()
    base = ["--url", node.base_url, "--token", node.token, "--timeout", "60"]
    result = runner.invoke(app, ["revoke", digests[0], "--reason", "academicMisconduct", *base])
    assert result.exit_code == 0, result.output
    assert "1 confirmed on chain" in result.output
    result = runner.invoke(app, ["revoke", "--file", str(listing), "--suspend", *base])
    assert result.exit_code == 0, result.output
    again = runner.invoke(app, ["revoke", digests[0], *base])  # idempotent
    assert again.exit_code == 0 and "0 queued" in again.output
    bad = runner.invoke(app, ["revoke", digests[0], "--reason", "bogus", *base])
    assert bad.exit_code == 1 and "reason" in bad.output
    final = runner.invoke(app, ["revoke", digests[0], "--reinstate", *base])
    assert final.exit_code == 1 and "409" in final.output
    anchor = dev_network.anchor(dev_network.chain.web3())
    states = [chain_status(anchor, b).status for b in bundles(node, digests)]
    assert states == [ChainStatus.REVOKED, ChainStatus.SUSPENDED, ChainStatus.SUSPENDED]


def test_reorg_that_drops_a_revocation_is_detected_and_resent(tmp_path):
    from tests.helpers.nodes import PrivateNode

    p = PrivateNode(tmp_path)
    try:
        anchorer = p.node.runtime.anchorer()
        for _ in range(3):
            anchorer.run_pass()
        r = p.node.http.post(f"/v1/credentials/{p.digest}/revoke", json={"reason": "superseded"})
        assert r.status_code == 202, r.text
        revoker = p.node.runtime.revoker(drop_grace_seconds=0.0)
        snapshot = p.w3.provider.make_request("evm_snapshot", [])["result"]
        for _ in range(2):
            revoker.run_pass()
        with p.node.runtime.factory() as s:
            [tx] = s.exec(select(StatusTx)).all()
        assert tx.state == "confirmed"
        root = from_hex(p.batch().root)
        assert (
            p.anchor.status_of(p.network.issuer.address, root, from_hex(p.digest)).status
            == ChainStatus.REVOKED
        )
        p.w3.provider.make_request("evm_revert", [snapshot])  # the revocation's block leaves the chain
        p.w3.provider.make_request("anvil_mine", [3])
        assert (
            p.anchor.status_of(p.network.issuer.address, root, from_hex(p.digest)).status == ChainStatus.VALID
        )
        reorged = 0
        for _ in range(6):
            reorged += revoker.run_pass().reorged
        assert reorged == 1
        with p.node.runtime.factory() as s:
            txs = s.exec(select(StatusTx).order_by(StatusTx.id)).all()
        assert txs[-1].state == "confirmed" and txs[-1].block_hash != tx.block_hash
        assert (
            p.anchor.status_of(p.network.issuer.address, root, from_hex(p.digest)).status
            == ChainStatus.REVOKED
        )
        st = p.node.http.get(f"/v1/credentials/{p.digest}/revocation").json()
        assert st["status"] == "revoked" and st["reasonCode"] == 4
    finally:
        p.close()
