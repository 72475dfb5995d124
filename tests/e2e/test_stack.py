"""Stackable credentials on a real Anvil: two micro-credentials anchored, a stack credential naming them by digest
anchored in another batch; verified together the stack is valid with its ECTS total; a revoked or missing
component is a named fail of the stack check; POST /v1/verify takes the components beside the stack."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from anchoring.cli import command as verify_command
from anchoring.verify import ChainContext, WebContext, verify_bundle, verify_bundles
from tests.helpers.bundles import make_batch
from tests.helpers.credentials import credential
from tests.helpers.nodes import build_app

pytestmark = pytest.mark.chain


def micro(n: int, ects: float) -> dict:
    c = credential(n)
    c["credentialSubject"]["achievement"] = {"name": f"Module {n}", "creditsAvailable": ects}
    return c


@pytest.fixture()
def anchored(dev_network):
    """Two components anchored in one batch, then a stack credential naming them (ECTS stated for the first)."""
    parts = make_batch(dev_network, [micro(1, 5), micro(2, 2.5)])
    digests = [b["digest"] for b in parts.bundles]
    stack = credential(3)
    stack["name"] = "Certificate in Sustainable Engineering (stack of 2)"
    stack["credentialSubject"]["achievement"] = {"name": "Certificate", "creditsAvailable": 7.5}
    stack["stackOf"] = [{"digest": digests[0], "ects": 5}, {"digest": digests[1]}]
    top = make_batch(dev_network, [stack])
    return parts, top.bundles[0], digests


def run(bundles, dev_network):
    chain = ChainContext(dev_network.chain.rpc_url, dev_network.deployment)
    return verify_bundles(bundles, chain, web=WebContext.offline())


def test_stack_with_its_components_is_valid_with_the_ects_total(dev_network, anchored):
    parts, stack, digests = anchored
    reports = run([stack, *parts.bundles], dev_network)
    assert [r.verdict for r in reports] == ["valid"] * 3, reports[0].to_json()
    check = reports[0]["stack"]
    assert check.details["ects_total"] == 7.5
    assert [c["digest"] for c in check.details["components"]] == digests
    assert [c["ects"] for c in check.details["components"]] == [5, 2.5]
    assert "a stack of 2 components" in check.reason and "7.5 ECTS" in check.reason
    # the components themselves are not stacks
    assert reports[1]["stack"].details == {"applicable": False}


def test_a_revoked_component_fails_the_stack_naming_it(dev_network, anchored):
    parts, stack, digests = anchored
    parts.revoke(dev_network, dev_network.issuer, [1])
    reports = run([stack, *parts.bundles], dev_network)
    assert [r.verdict for r in reports] == ["invalid", "valid", "invalid"]
    assert reports[0].failed == ["stack"]  # the stack credential itself is anchored and not revoked
    reason = reports[0]["stack"].reason
    assert f"component {digests[1]} invalid" in reason and "not_revoked" in reason
    assert digests[0] not in reason


def test_a_missing_component_fails_the_stack(dev_network, anchored):
    parts, stack, digests = anchored
    report = run([stack, parts.bundles[0]], dev_network)[0]
    assert report.verdict == "invalid" and report.failed == ["stack"]
    assert report["stack"].details["missing"] == [digests[1]]
    assert f"component {digests[1]} missing" in report["stack"].reason
    alone = verify_bundle(
        stack, ChainContext(dev_network.chain.rpc_url, dev_network.deployment), web=WebContext.offline()
    )
    assert alone["stack"].details["missing"] == digests


def test_post_verify_takes_the_components_beside_the_stack(dev_network, anchored, tmp_path):
    parts, stack, _ = anchored
    with TestClient(build_app(tmp_path, dev_network.chain.rpc_url, dev_network.deployment)) as client:
        r = client.post("/v1/verify", json={"bundles": [stack, *parts.bundles]})
        assert r.status_code == 200, r.text
        first = r.json()["reports"][0]
        assert first["verdict"] == "valid", first
        check = next(c for c in first["checks"] if c["name"] == "stack")
        assert check["details"]["ects_total"] == 7.5
        r = client.post("/v1/verify", json=stack)  # alone: its components are missing
        assert r.status_code == 200 and r.json()["verdict"] == "invalid"


def test_credreg_verify_takes_the_components_as_files(dev_network, anchored, tmp_path):
    """The README's example: `credreg verify certificate.bundle.json module-1.bundle.json ... --json`."""
    parts, stack, _ = anchored
    dev_network.deployment.save(tmp_path / "deployment.json")
    names = ["certificate.bundle.json", "module-1.bundle.json", "module-2.bundle.json"]
    for name, bundle in zip(names, [stack, *parts.bundles], strict=True):
        (tmp_path / name).write_text(json.dumps(bundle))
    app = verify_command
    args = [str(tmp_path / n) for n in names]
    args += ["--rpc", dev_network.chain.rpc_url, "--deployment", str(tmp_path / "deployment.json"), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["verdict"] == "valid" and doc["counts"]["valid"] == 3
    check = next(c for c in doc["reports"][0]["checks"] if c["name"] == "stack")
    assert check["details"]["ects_total"] == 7.5
    result = CliRunner().invoke(app, [args[0], *args[2:]])  # module-2 left out
    assert result.exit_code == 1
    assert "missing" in json.loads(result.output)["reports"][0]["checks"][-1]["reason"]


def test_two_processes_decide_a_stack_whose_components_the_other_one_verified(
    dev_network, anchored, tmp_path
):
    """`--processes 2` splits the files in two shares: the stack in the first, its components in the second; the
    stack is decided over both shares' reports, as in one process."""
    import subprocess
    import sys

    parts, stack, _ = anchored
    dev_network.deployment.save(tmp_path / "deployment.json")
    names = ["certificate.bundle.json", "module-1.bundle.json", "module-2.bundle.json", "again.bundle.json"]
    for name, bundle in zip(names, [stack, *parts.bundles, stack], strict=True):
        (tmp_path / name).write_text(json.dumps(bundle))
    args = [sys.executable, "-m", "anchoring.cli", *(str(tmp_path / n) for n in names), "--json"]
    args += ["--rpc", dev_network.chain.rpc_url, "--deployment", str(tmp_path / "deployment.json")]
    docs = {}
    for processes in ("1", "2"):
        out = subprocess.run([*args, "--processes", processes], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "one core" not in out.stderr  # no fallback: the second process answered
        docs[processes] = json.loads(out.stdout)
    for doc in docs.values():
        assert doc["counts"]["valid"] == 4
        for i in (0, 3):  # the stack, in the first share and in the second
            check = next(c for c in doc["reports"][i]["checks"] if c["name"] == "stack")
            assert check["status"] == "pass" and check["details"]["ects_total"] == 7.5
