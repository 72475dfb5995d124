"""A chain that hangs (Anvil stopped with SIGSTOP: connections are accepted, nothing answers) must not hang the API:
``/readyz`` answers within its 1 s budget from the pipeline's last known state, and ``POST /v1/verify`` returns
``error`` checks within its chain timeout (then at once, the circuit breaker open). A timeout correctness test with
generous bounds, not a benchmark."""

from __future__ import annotations

import os
import signal
import time

from node.cli.embedded import EmbeddedNode, node_settings
from node.dev.chains import start_local_chain
from node.dev.network import bootstrap_dev_network
from tests.helpers.credentials import sample_credential
from tests.helpers.processes import process_tree

PROBE_TIMEOUT = 0.5  # verify's chain timeout is 2.5x this


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_a_hung_chain_does_not_hang_readyz_or_verify(tmp_path):
    chain = start_local_chain("anvil")
    try:
        network = bootstrap_dev_network(chain)
        settings = node_settings(
            tmp_path,
            chain.rpc_url,
            network.deployment,
            network.issuer.key,
            chain_probe_timeout_seconds=PROBE_TIMEOUT,
            lease_ttl_seconds=3.0,
        )
        node = EmbeddedNode(settings)
        try:
            digest = node.issue(sample_credential(1))
            node.wait_anchored([digest])
            bundle = node.http.get(f"/v1/credentials/{digest}/bundle").json()
            assert node.http.post("/v1/verify", json=bundle).json()["verdict"] == "valid"
            assert chain.process is not None
            frozen = process_tree(chain.process.pid)
            for pid in frozen:
                os.kill(pid, signal.SIGSTOP)
            try:
                ready, took = timed(lambda: node.http.get("/readyz"))
                assert took < 2.0, f"/readyz took {took:.2f}s with the chain hung"
                assert ready.status_code in (200, 503)
                assert {lease["kind"] for lease in ready.json()["pipeline"]["leases"]} == {
                    "signer",
                    "indexer",
                }
                for attempt in range(4):  # the first within the timeout; then the breaker answers at once
                    r, took = timed(lambda: node.http.post("/v1/verify", json=bundle))
                    assert r.status_code == 200
                    report = r.json()
                    assert report["verdict"] == "error"
                    assert {c["name"]: c["status"] for c in report["checks"]}["anchored"] == "error"
                    assert took < PROBE_TIMEOUT * 2.5 * 2 + 1.5, f"verify {attempt} took {took:.2f}s"
                # the pipeline's watcher notices within a few of its intervals: /readyz then says so, still fast
                deadline = time.monotonic() + 15
                while True:
                    ready, took = timed(lambda: node.http.get("/readyz"))
                    assert took < 2.0
                    if ready.status_code == 503 and not ready.json()["checks"]["chain"]["ok"]:
                        break
                    assert time.monotonic() < deadline, ready.text
                    time.sleep(0.3)
                assert chain.rpc_url not in ready.text
            finally:
                for pid in frozen:
                    os.kill(pid, signal.SIGCONT)
        finally:
            node.stop()
    finally:
        chain.stop()
