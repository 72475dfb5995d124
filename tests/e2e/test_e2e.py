"""End to end: a real API server, the batcher and anchorer, and a real Anvil.

Covers the main job (issue -> anchored -> proof verifies on chain), bulk issuance, crashes of the
anchoring process at the worst moments, a chain outage, and a re-org that drops an anchor transaction.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from anchoring.scheme.encoding import from_hex
from node.cli.embedded import EmbeddedNode, node_settings
from node.dev.chains import start_local_chain
from node.dev.network import bootstrap_dev_network
from node.pipeline.anchorer import Anchorer
from node.pipeline.sealer import seal_due_batches
from node.storage.models import Batch, BatchState
from tests.helpers.chain import CrashBeforeBroadcast
from tests.helpers.credentials import sample_credential as credential
from tests.helpers.nodes import PrivateNode, anchored_events
from tests.helpers.paths import REPO

pytestmark = [pytest.mark.chain, pytest.mark.slow]


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


@pytest.fixture()
def private_node(tmp_path):
    node = PrivateNode(tmp_path)
    yield node
    node.close()


def test_issue_anchor_and_prove_on_chain(node, dev_network):
    digests = [node.issue(credential(i)) for i in range(5)]
    proofs = node.wait_anchored(digests)
    w3 = dev_network.chain.web3()
    anchor = dev_network.anchor(w3)
    for digest, body in proofs.items():
        issuer = body["anchor"]["issuer"]
        view = anchor.verify(
            issuer, from_hex(digest), from_hex(body["root"]), [from_hex(p) for p in body["proof"]]
        )
        assert view.included and view.anchored
        assert issuer == dev_network.issuer.address
        assert body["anchor"]["txHash"] and body["anchor"]["blockNumber"] == view.anchored_block
    # the learner's bundle is served once anchored, and holds what a verifier needs
    bundle = node.http.get(f"/v1/credentials/{digests[0]}/bundle").json()
    assert (
        bundle["digest"] == digests[0]
        and bundle["anchors"][0]["contract"] == dev_network.deployment.credential_anchor
    )
    # the public proof carries no personal data
    assert "credentialSubject" not in str(proofs[digests[0]])


def test_idempotent_issue_does_not_anchor_twice(node):
    cred = credential(1)
    first = node.http.post("/v1/credentials", json=cred, headers={"Idempotency-Key": "k-1"})
    again = node.http.post("/v1/credentials", json=cred, headers={"Idempotency-Key": "k-1"})
    assert first.json()["digest"] == again.json()["digest"]
    node.wait_anchored([first.json()["digest"]])
    with node.runtime.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM credential")).scalar() == 1


def test_bulk_of_ten_thousand(dev_network, tmp_path):
    harness = EmbeddedNode(
        node_settings(tmp_path, dev_network.chain.rpc_url, dev_network.deployment, dev_network.issuer.key)
    )
    try:
        creds = [credential(i) for i in range(10_000)]
        digests = []
        for start in range(0, len(creds), 5_000):
            response = harness.http.post("/v1/credentials/bulk", json=creds[start : start + 5_000])
            assert response.status_code == 202, response.text
            digests += [item["digest"] for item in response.json()["items"]]
        assert len(set(digests)) == 10_000
        deadline = time.monotonic() + 120
        while True:
            with harness.runtime.engine.connect() as conn:
                anchored = conn.execute(
                    sa.text("SELECT count(*) FROM credential WHERE status='anchored'")
                ).scalar()
            if anchored == 10_000:
                break
            assert time.monotonic() < deadline, f"only {anchored} of 10,000 anchored"
            time.sleep(0.5)
        sample = random.sample(digests, 20)
        anchor = dev_network.anchor(dev_network.chain.web3())
        for digest in sample:
            body = harness.http.get(f"/v1/proofs/{digest}").json()
            assert anchor.verify(
                body["anchor"]["issuer"],
                from_hex(digest),
                from_hex(body["root"]),
                [from_hex(p) for p in body["proof"]],
            ).included
    finally:
        harness.stop()


def w3_receipt_ok(anchorer: Anchorer, tx_hash: str) -> bool:
    receipt = anchorer.sender.receipt(from_hex(tx_hash))
    return receipt is not None and receipt["status"] == 1


def test_crash_before_broadcast_resubmits_once(dev_network, tmp_path):
    harness = EmbeddedNode(
        node_settings(tmp_path, dev_network.chain.rpc_url, dev_network.deployment, dev_network.issuer.key),
        pipeline=False,
    )
    try:
        digest = harness.issue(credential(1))
        assert seal_due_batches(harness.runtime.factory, harness.settings, force=True)
        anchorer = harness.runtime.anchorer(
            drop_grace_seconds=0.0
        )  # the restart treats unknown as dropped at once
        crashing = Anchorer(
            anchorer.session_factory,
            CrashBeforeBroadcast(anchorer.sender.w3, anchorer.sender.account),
            anchorer.anchor,
            anchorer.issuer_id,
        )
        with pytest.raises(SystemExit):
            crashing.run_pass()
        with harness.runtime.factory() as session:
            batch = session.get(Batch, 1)
            assert batch.state == BatchState.submitted.value and batch.tx_hash  # written before the crash
            assert not anchorer.sender.is_known(from_hex(batch.tx_hash))  # never reached the network
        for _ in range(4):  # restart: dropped -> sealed -> submitted again -> confirmed
            anchorer.run_pass()
        with harness.runtime.factory() as session:
            batch = session.get(Batch, 1)
            assert batch.state == BatchState.confirmed.value
            # same nonce and fees re-sign to the same transaction (deterministic signatures): sent once now
            assert batch.attempts == 2 and w3_receipt_ok(anchorer, batch.tx_hash)
        assert len(anchored_events(anchorer.anchor, from_hex(batch.root))) == 1
        assert harness.http.get(f"/v1/proofs/{digest}").json()["state"] == "anchored"
    finally:
        harness.stop()


CRASH_SCRIPT = """
import sys, time, logging
from node.settings import Settings
from node.pipeline.runtime import NodeRuntime
logging.basicConfig(level=logging.INFO)
runtime = NodeRuntime.from_settings(Settings())
anchorer = runtime.anchorer()
while True:
    anchorer.run_pass()
    time.sleep(0.05)
"""


def test_process_killed_between_broadcast_and_receipt(private_node, tmp_path):
    """A real anchorer process is SIGKILLed while its transaction sits unmined; the next one finishes it."""
    p = private_node
    p.w3.provider.make_request("evm_setAutomine", [False])  # broadcast works, no receipt comes
    env = dict(
        os.environ,
        CREDREG_DATA_DIR=str(tmp_path),
        CREDREG_DATABASE_URL=p.settings.database_url,
        CREDREG_RPC_URL=p.chain.rpc_url,
        CREDREG_DEPLOYMENT_FILE=str(p.settings.deployment_file),
        CREDREG_ISSUER_PRIVATE_KEY=p.settings.issuer_private_key.get_secret_value(),
    )
    process = subprocess.Popen(
        [sys.executable, "-c", CRASH_SCRIPT],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while p.batch().state != BatchState.submitted.value:
            assert time.monotonic() < deadline and process.poll() is None, "anchorer never submitted"
            time.sleep(0.05)
        time.sleep(0.3)  # let the broadcast reach the node
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    submitted_tx = p.batch().tx_hash
    assert p.w3.eth.get_transaction(from_hex(submitted_tx))["blockNumber"] is None  # broadcast, unmined
    p.w3.provider.make_request("evm_setAutomine", [True])
    p.w3.provider.make_request("evm_mine", [])
    anchorer = p.node.runtime.anchorer()
    for _ in range(3):
        anchorer.run_pass()
    batch = p.batch()
    assert batch.state == BatchState.confirmed.value
    assert batch.tx_hash == submitted_tx and batch.attempts == 1  # resumed, not re-sent
    assert len(anchored_events(p.anchor, from_hex(batch.root))) == 1
    assert p.node.http.get(f"/v1/proofs/{p.digest}").json()["state"] == "anchored"


def test_chain_outage_queues_then_anchors(tmp_path):
    state = tmp_path / "anvil-state.json"
    chain = start_local_chain("anvil", state_file=state)
    network = bootstrap_dev_network(chain)
    settings = node_settings(tmp_path, chain.rpc_url, network.deployment, network.issuer.key)
    harness = EmbeddedNode(settings)
    try:
        first = harness.issue(credential(0))
        harness.wait_anchored([first])
        chain.stop()  # the chain goes away; the API keeps accepting
        queued = [harness.issue(credential(i)) for i in range(1, 6)]
        time.sleep(1.0)
        for digest in queued:
            assert harness.http.get(f"/v1/proofs/{digest}").json()["state"] != "anchored"
        # /readyz reports what the pipeline last saw of the chain (it re-checks every third of the lease ttl)
        deadline = time.monotonic() + 3 * settings.lease_ttl_seconds
        while (ready := harness.http.get("/readyz")).status_code != 503 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ready.status_code == 503 and ready.json()["checks"]["chain"]["ok"] is False
        restarted = start_local_chain("anvil", port=chain.port, state_file=state)
        try:
            harness.wait_anchored(queued, timeout=60)
        finally:
            harness.stop()
            restarted.stop()
    finally:
        chain.stop()


def test_reorg_that_drops_an_anchor_is_detected_and_reanchored(private_node):
    p = private_node
    anchorer = p.node.runtime.anchorer(drop_grace_seconds=0.0)
    snapshot = p.w3.provider.make_request("evm_snapshot", [])["result"]
    for _ in range(2):
        anchorer.run_pass()
    batch = p.batch()
    assert batch.state == BatchState.confirmed.value
    first_block_hash, root = batch.block_hash, from_hex(batch.root)
    p.w3.provider.make_request("evm_revert", [snapshot])  # the anchoring block leaves the chain
    p.w3.provider.make_request("anvil_mine", [3])
    assert p.anchor.anchor_of(p.network.issuer.address, root) is None
    for _ in range(5):
        anchorer.run_pass()
    batch = p.batch()
    assert batch.state == BatchState.confirmed.value
    assert batch.block_hash != first_block_hash
    assert p.anchor.anchor_of(p.network.issuer.address, root) is not None
    assert p.node.http.get(f"/v1/proofs/{p.digest}").json()["state"] == "anchored"


def test_backlog_is_submitted_together_and_a_partial_reorg_rolls_back_only_newer_batches(tmp_path):
    chain = start_local_chain("anvil")
    try:
        network = bootstrap_dev_network(chain)
        w3 = chain.web3()
        settings = node_settings(
            tmp_path, chain.rpc_url, network.deployment, network.issuer.key, batch_max_size=1
        )
        node = EmbeddedNode(settings, pipeline=False)
        try:
            anchorer = node.runtime.anchorer()
            node.issue(credential(0))
            seal_due_batches(node.runtime.factory, settings, force=True)
            anchorer.run_pass()
            anchorer.run_pass()
            snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # batch 1 is below the fork
            for i in range(1, 4):
                node.issue(credential(i))
            assert len(seal_due_batches(node.runtime.factory, settings, force=True)) == 3
            result = anchorer.run_pass()
            assert result.submitted == 3  # one pass, consecutive nonces, no waiting between them
            anchorer.run_pass()
            with node.runtime.factory() as session:
                batches = [session.get(Batch, i) for i in range(1, 5)]
            assert all(b.state == BatchState.confirmed.value for b in batches)
            assert [b.nonce for b in batches[1:]] == [batches[1].nonce + k for k in range(3)]
            w3.provider.make_request("evm_revert", [snapshot])
            w3.provider.make_request("anvil_mine", [5])
            result = anchorer.run_pass()
            assert result.reorged == 3
            with node.runtime.factory() as session:
                assert session.get(Batch, 1).state == BatchState.confirmed.value  # below the fork: untouched
        finally:
            node.stop()
    finally:
        chain.stop()
