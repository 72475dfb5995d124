"""`credreg issue` against a running node: bulk through the API, bundles written once anchored, re-runs safe."""

from __future__ import annotations

import json
import shutil

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from anchoring.bundle import loads
from node.cli import app
from node.cli.embedded import EmbeddedNode, node_settings
from tests.helpers.paths import REPO

pytestmark = pytest.mark.chain
runner = CliRunner()


@pytest.fixture()
def node(dev_network, tmp_path):
    harness = EmbeddedNode(
        node_settings(
            tmp_path / "node", dev_network.chain.rpc_url, dev_network.deployment, dev_network.issuer.key
        )
    )
    yield harness
    harness.stop()


def test_issue_folder_writes_verifiable_bundles_and_is_idempotent(node, tmp_path):
    source = tmp_path / "creds"
    shutil.copytree(REPO / "scripts" / "examples", source)
    (source / "ob3-microcredential-incomplete.json").unlink()
    (source / "cohort.json").write_text(
        json.dumps(
            [
                {  # a minimal W3C VC 2.0: the node fills in its issuer and signs it
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "id": f"urn:x:cohort-{i}",
                    "type": ["VerifiableCredential"],
                    "name": f"n{i}",
                    "credentialSubject": {"id": f"did:example:learner-{i}"},
                }
                for i in range(25)
            ]
        )
    )
    out = tmp_path / "bundles"
    args = [
        "issue",
        str(source),
        "--url",
        node.base_url,
        "--token",
        node.token,
        "--out",
        str(out),
        "--timeout",
        "60",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    bundles = sorted(out.glob("*.bundle.json"))
    assert len(bundles) == 27
    for path in bundles:
        bundle = loads(path.read_text())
        assert bundle.inclusions[0].contract == node.runtime.deployment.credential_anchor
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    with node.runtime.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM credential")).scalar() == 27


def test_issue_reports_a_rejected_profile_naming_the_missing_elements(node, tmp_path):
    args = [
        "issue",
        str(REPO / "scripts" / "examples" / "ob3-microcredential-incomplete.json"),
        "--url",
        node.base_url,
        "--token",
        node.token,
        "--profile",
        "eu-microcredential",
        "--no-wait",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "rejected" in result.output
    with node.runtime.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM credential")).scalar() == 0


def test_issue_with_a_bad_token_fails_cleanly(node, tmp_path):
    args = [
        "issue",
        str(REPO / "scripts" / "examples" / "ob3-microcredential.json"),
        "--url",
        node.base_url,
        "--token",
        "crt_wrong",
        "--no-wait",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "401" in result.output
