"""Failed batches are visible and recoverable: a node's issuer is suspended, its next batch fails for good
(the status API and /metrics say so, with the reason); `credreg batches retry` refuses while the issuer is
suspended, re-submits after its reinstatement, and re-seals on request; every credential ends anchored and its
bundle verifies. Real API server, pipeline and Anvil; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from anchoring.verify.context import ChainContext
from anchoring.verify.run import verify_bundle
from node.cli import build_app
from node.cli.embedded import EmbeddedNode, node_settings
from node.storage.models import Batch
from tests.helpers.chain import send
from tests.helpers.credentials import sample_credential
from tests.helpers.registry import accredit_ti


@pytest.fixture()
def own_issuer(dev_network, funder):
    """A TI of this test's own (suspending the shared dev issuer would disturb other tests)."""
    w3 = dev_network.chain.web3()
    ti = funder.account()
    accredit_ti(w3, dev_network, ti.address, did=f"did:example:{ti.address}")
    return ti


@pytest.fixture()
def node(dev_network, own_issuer, tmp_path, db_url):
    harness = EmbeddedNode(
        node_settings(
            tmp_path, dev_network.chain.rpc_url, dev_network.deployment, own_issuer.key, database_url=db_url
        )
    )
    yield harness
    harness.stop()


def wait_state(node: EmbeddedNode, digest: str, state: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = node.http.get(f"/v1/credentials/{digest}").json()
        if body["state"] == state:
            return body
        assert time.monotonic() < deadline, f"{digest} not {state} in {timeout}s: {body}"
        time.sleep(0.2)


def batches_cli(node: EmbeddedNode, *args: str):
    s = node.settings
    common = ["--database-url", s.database_url]
    if args[0] == "retry":
        common += ["--rpc", s.rpc_url, "--deployment", str(s.deployment_file)]
    return CliRunner(env={"COLUMNS": "250"}).invoke(
        build_app(), ["batches", *args, *common], catch_exceptions=False, terminal_width=250
    )


def test_a_batch_failed_by_a_suspension_is_retried_and_resealed(node, dev_network, own_issuer):
    w3 = dev_network.chain.web3()
    registry = dev_network.registry(w3)
    # /readyz answers within 1 s from what the pipeline last reported (a probe that runs out of its budget on a
    # loaded machine reports the chain "not checked" and leaves the contracts out, or reports the contracts
    # unread): wait until it has read both contracts' versions
    deadline = time.monotonic() + 60
    while "versions" not in (ready := node.http.get("/readyz").json()).get("checks", {}).get("contracts", {}):
        assert time.monotonic() < deadline, ready
        time.sleep(0.2)
    assert ready["checks"]["contracts"]["versions"] == {
        "IssuerRegistry": "2.0.0",
        "CredentialAnchor": "2.0.0",
    }
    first = node.issue(sample_credential(1, f"did:example:{own_issuer.address}"))
    node.wait_anchored([first])

    send(w3, dev_network.tao, registry.suspend(own_issuer.address, "quality review"))
    second = node.issue(sample_credential(2, f"did:example:{own_issuer.address}"))
    failed = wait_state(node, second, "failed")
    assert failed["error"] == "NotActiveIssuer"
    assert "suspended" in failed["lastError"] and "credreg batches retry" in failed["lastError"]
    batch_id = failed["batchId"]
    metrics = node.http.get("/metrics").text
    assert 'credreg_failed_batches{error="NotActiveIssuer"} 1.0' in metrics
    assert 'credreg_failed_credentials{error="NotActiveIssuer"} 1.0' in metrics

    listed = batches_cli(node, "list", "--failed", "--json")
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert (row["id"], row["state"], row["error"], row["credentials"]) == (
        batch_id,
        "failed",
        "NotActiveIssuer",
        1,
    )
    table = batches_cli(node, "list", "--failed")
    assert "NotActiveIssuer" in table.output and "credreg batches retry" in table.output

    # still suspended: refused, nothing changes
    refused = batches_cli(node, "retry", str(batch_id))
    assert refused.exit_code == 1 and "its registry status is suspended" in refused.output
    assert wait_state(node, second, "failed")["batchId"] == batch_id

    # reinstated: sent again as it is (same root), anchored, verifiable
    send(w3, dev_network.tao, registry.reinstate(own_issuer.address, "review passed"))
    retried = batches_cli(node, "retry", str(batch_id), "--json")
    assert retried.exit_code == 0, retried.output
    assert json.loads(retried.output)["action"] == "resubmit"
    node.wait_anchored([second])
    assert node.http.get(f"/v1/credentials/{second}").json()["batchId"] == batch_id
    assert "credreg_failed_batches{" not in node.http.get("/metrics").text

    # a second failure, re-sealed: the same credential under a fresh root
    send(w3, dev_network.tao, registry.suspend(own_issuer.address, "second review"))
    third = node.issue(sample_credential(3, f"did:example:{own_issuer.address}"))
    old = wait_state(node, third, "failed")
    send(w3, dev_network.tao, registry.reinstate(own_issuer.address, "ok again"))
    resealed = batches_cli(node, "retry", str(old["batchId"]), "--reseal", "--json")
    assert resealed.exit_code == 0, resealed.output
    outcome = json.loads(resealed.output)
    assert outcome["action"] == "reseal" and outcome["newRoot"] != old["root"]
    node.wait_anchored([third])
    now = node.http.get(f"/v1/credentials/{third}").json()
    assert (now["batchId"], now["root"], now["leafIndex"]) == (outcome["newBatch"], outcome["newRoot"], 0)
    with node.runtime.factory() as s:
        gone = s.get(Batch, old["batchId"])
        assert (gone.state, gone.superseded_by) == ("resealed", outcome["newBatch"])
        assert s.get(Batch, outcome["newBatch"]).size == 2  # the credential and the nonce leaf
    again = batches_cli(node, "retry", str(old["batchId"]))
    assert again.exit_code == 1 and "is resealed, not failed" in again.output

    chain = ChainContext(dev_network.chain.rpc_url, dev_network.deployment)
    for digest in (first, second, third):
        bundle = node.http.get(f"/v1/credentials/{digest}/bundle").json()
        report = verify_bundle(bundle, chain)
        assert report.verdict == "valid", (digest, report.failed)


def test_help_has_examples():
    for command in ("list", "retry"):
        out = CliRunner().invoke(build_app(), ["batches", command, "--help"], terminal_width=200).output
        assert "Example: credreg batches" in out
