"""Two nodes, one chain: two universities, each on its own node and database (A on SQLite, B on PostgreSQL), one
chain (Anvil, Ganache and Hardhat Network in turn). A issues and anchors; B's verifier and registry API show A's credential valid; A revokes, B reports it
revoked; the TAO suspends A, both nodes show it (with the reason's words); B's audit of A's backup passes. A
credential beyond A's accreditation scope fails B's `scope` check, naming the level."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from node.cli import build_app
from node.cli.embedded import EmbeddedNode, node_settings
from tests.helpers.chain import Funder, send
from tests.helpers.credentials import sample_credential
from tests.helpers.db import empty_postgres_schema
from tests.helpers.registry import accredit_ti

pytestmark = pytest.mark.postgres


@pytest.fixture()
def pg_url():
    with empty_postgres_schema() as url:
        yield url


def wait(what: str, done, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := done()):
        assert time.monotonic() < deadline, f"{what} not seen in {timeout}s"
        time.sleep(0.2)
    return value


def verdict(node: EmbeddedNode, bundle: dict) -> dict:
    r = node.http.post("/v1/verify", json=bundle)
    assert r.status_code == 200, r.text
    body = r.json()
    return {"verdict": body["verdict"], **{c["name"]: c for c in body["checks"]}}


def registry_status(node: EmbeddedNode, address: str) -> str | None:
    r = node.http.get(f"/v1/registry/issuers/{address}")
    return r.json()["status"] if r.status_code == 200 else None


def test_two_nodes_one_chain(every_chain, tmp_path, pg_url):
    dev_network = every_chain  # Anvil, Ganache and Hardhat Network in turn
    w3 = dev_network.chain.web3()
    funder = Funder(dev_network)
    uni_a, uni_b = funder.account(), funder.account()
    did_a, did_b = f"did:example:uni-a-{uni_a.address[-6:]}", f"did:example:uni-b-{uni_b.address[-6:]}"
    accredit_ti(w3, dev_network, uni_a.address, did=did_a)
    accredit_ti(w3, dev_network, uni_b.address, did=did_b)
    url, dep = dev_network.chain.rpc_url, dev_network.deployment
    node_a = EmbeddedNode(node_settings(tmp_path / "a", url, dep, uni_a.key))
    node_b = EmbeddedNode(node_settings(tmp_path / "b", url, dep, uni_b.key, database_url=pg_url))
    try:
        assert node_a.settings.resolved_database_url.startswith("sqlite")
        assert node_b.runtime.engine.dialect.name == "postgresql"

        # A issues and anchors; B verifies A's bundle and its registry API knows A
        digest = node_a.issue(sample_credential(1, did_a))
        # A is accredited for EQF level 6 (tests.helpers.registry.SCOPE): a level-7 credential is outside it
        beyond = node_a.issue(
            sample_credential(
                3, did_a, credentialSubject={"id": "did:example:l3", "achievement": {"eqfLevel": 7}}
            )
        )
        b_own = node_b.issue(sample_credential(2, did_b))
        node_a.wait_anchored([digest, beyond])
        node_b.wait_anchored([b_own])
        bundle = node_a.http.get(f"/v1/credentials/{digest}/bundle").json()
        seen = verdict(node_b, bundle)
        assert seen["verdict"] == "valid", seen
        assert seen["anchored"]["details"]["issuer"] == uni_a.address
        assert seen["scope"]["status"] == "pass"
        outside = verdict(node_b, node_a.http.get(f"/v1/credentials/{beyond}/bundle").json())
        assert outside["verdict"] == "invalid" and outside["scope"]["status"] == "fail", outside
        assert "EQF level 7" in outside["scope"]["reason"]
        assert [n for n, c in outside.items() if n != "verdict" and c["status"] != "pass"] == ["scope"]
        assert wait("A in B's registry index", lambda: registry_status(node_b, uni_a.address)) == "active"

        # A revokes: B's verifier reports it revoked, with A's reason code
        r = node_a.http.post(f"/v1/credentials/{digest}/revoke", json={"reason": "keyCompromise"})
        assert r.status_code == 202, r.text
        request = r.json()["requestId"]
        wait("A's revocation", lambda: node_a.http.get(f"/v1/revocations/{request}").json()["done"])
        seen = verdict(node_b, bundle)
        assert seen["verdict"] == "invalid" and seen["not_revoked"]["status"] == "fail", seen
        assert seen["not_revoked"]["details"]["reason_code"] == 1

        # the TAO suspends A: both nodes' registry APIs show it, with the reason's words
        send(w3, dev_network.tao, dev_network.registry(w3).suspend(uni_a.address, "annual audit pending"))
        for node in (node_a, node_b):
            wait("the suspension", lambda node=node: registry_status(node, uni_a.address) == "suspended")
            history = node.http.get(f"/v1/registry/issuers/{uni_a.address}/history").json()["items"]
            assert history[-1]["action"] == "suspended" and history[-1]["reason"] == "annual audit pending"
        # B's own credential is untouched by A's suspension
        assert (
            verdict(node_b, node_b.http.get(f"/v1/credentials/{b_own}/bundle").json())["verdict"] == "valid"
        )

        # B's audit of A's backup: `credreg db backup` on A, `credreg audit` with B's deployment file and chain
        wait(
            "A's index caught up",
            lambda: registry_status(node_a, uni_a.address) == "suspended",
        )
        backup = tmp_path / "a-backup.db"
        cli = CliRunner(env={"COLUMNS": "250"})
        result = cli.invoke(
            build_app(),
            [
                "db",
                "backup",
                str(backup),
                "--database-url",
                node_a.settings.resolved_database_url,
                "--no-progress",
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        report_file = tmp_path / "audit.json"
        result = cli.invoke(
            build_app(),
            [
                *["audit", "--database-url", f"sqlite:///{backup}", "--rpc", url],
                *["--deployment", str(node_b.settings.resolved_deployment_file), "--no-progress"],
                *["--json", str(report_file)],
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        report = json.loads(report_file.read_text())
        assert report["result"] == "pass" and report["summary"]["fail"] == 0
        assert report["summary"]["batches"] >= 1 and report["summary"]["statusChanges"]["pass"] >= 1
    finally:
        node_a.stop()
        node_b.stop()
