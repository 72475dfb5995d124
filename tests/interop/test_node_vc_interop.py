"""A real node (API + pipeline on Anvil) issues signed credentials, and third parties judge them:
@digitalbazaar/vc (eddsa-jcs-2022, eddsa-rdfc-2022) and `jose` (VC-JWT) verify the learner's plain VC and reject
a tampered copy; the README path (issue -> anchor -> bundle -> `credreg verify`) ends VALID, every check passing
(signature bound to the registry key, signed status lists matching their on-chain hash), and the plain VC
verifies with `credreg verify --node`. One node for the module."""

from __future__ import annotations

import base64
import copy
import json
import time

import pytest
from click.testing import CliRunner

from anchoring.cli import command
from anchoring.signing import unenvelope
from anchoring.signing.vcjwt import decode_vc_jwt
from anchoring.verify import ChainContext, WebContext, verify_bundle
from node.cli.embedded import EmbeddedNode, node_settings
from node.dev.network import DEV_DIDS
from tests.helpers.interop import run_js
from tests.helpers.samples import example
from tests.helpers.vectors import vc2_credential

PROOFS = {"jcs": None, "rdfc": "eddsa-rdfc-2022", "jwt": "vc-jwt"}
app = command
runner = CliRunner()


def _published(node: EmbeddedNode, url: str) -> bool:
    r = node.http.get(url)
    published = (r.headers.get("X-Credreg-Published-Hash") or "").removeprefix("0x")
    return r.status_code == 200 and published == r.headers["ETag"].strip('"')


@pytest.fixture(scope="module")
def node(dev_network, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("signing-node")
    settings = node_settings(
        tmp,
        dev_network.chain.rpc_url,
        dev_network.deployment,
        dev_network.issuer.key,
        status_list_publish_interval_seconds=0,
    )
    embedded = EmbeddedNode(settings)
    try:
        yield embedded
    finally:
        embedded.stop()


@pytest.fixture(scope="module")
def issued(node):
    """One credential per proof type plus the README example, anchored, with bundles and plain VCs."""
    digests = {}
    for i, (name, proof) in enumerate(PROOFS.items()):
        params = {"proof": proof} if proof else {}
        cred = vc2_credential(DEV_DIDS["issuer"], 100 + i)
        r = node.http.post("/v1/credentials", json=cred, params=params)
        assert r.status_code == 202, r.text
        digests[name] = r.json()["digest"]
    for name, file in (("readme", "ob3-microcredential.json"), ("readme-elm", "elm-microcredential.json")):
        r = node.http.post("/v1/credentials", json=example(file))
        assert r.status_code == 202, r.text
        digests[name] = r.json()["digest"]
    node.wait_anchored(list(digests.values()))
    out = {}
    for name, digest in digests.items():
        plain = node.http.get(f"/v1/credentials/{digest}/vc").json()
        bundle = node.http.get(f"/v1/credentials/{digest}/bundle").json()
        out[name] = {"digest": digest, "plain": unenvelope(plain) or plain, "bundle": bundle}
    lists = {
        e["statusListCredential"]
        for item in out.values()
        for e in _credential(item["plain"])["credentialStatus"]
    }
    deadline = time.monotonic() + 60
    while not all(_published(node, url) for url in lists):
        assert time.monotonic() < deadline, "status lists not published on chain"
        time.sleep(0.2)
    return out


def _credential(held):
    return decode_vc_jwt(held)[1] if isinstance(held, str) else held


def _tamper(held):
    if isinstance(held, str):
        head, _, sig = held.split(".")
        payload = decode_vc_jwt(held)[1]
        payload["name"] = "Forged"
        body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
        return f"{head}.{body}.{sig}"
    out = copy.deepcopy(held)
    out["name"] = "Forged"
    return out


def test_third_party_verifiers_accept_each_node_issued_proof_type_and_reject_tampering(issued, node):
    verify_items = []
    for name in PROOFS:
        held = issued[name]["plain"]
        key = "jwt" if isinstance(held, str) else "credential"
        verify_items += [{"name": name, key: held}, {"name": name + "/tampered", key: _tamper(held)}]
    lists = {
        e["statusListCredential"]: node.http.get(e["statusListCredential"]).json()
        for name in PROOFS
        for e in _credential(issued[name]["plain"])["credentialStatus"]
    }
    result = run_js({"verify": verify_items, "statusLists": lists})
    for name in PROOFS:
        assert result["verified"][name] == {"verified": True}, (name, result["verified"][name])
        assert result["verified"][name + "/tampered"]["verified"] is False


def test_node_issued_bundles_verify_valid_with_every_check(dev_network, issued, node):
    chain = ChainContext(dev_network.chain.rpc_url, dev_network.deployment)
    for name, item in issued.items():
        assert item["bundle"]["digestRule"] == ("compact" if name == "jwt" else "jcs")
        report = verify_bundle(item["bundle"], chain, web=WebContext())
        assert report.verdict == "valid", (name, json.dumps(report.to_dict(), indent=1))
        assert report["signature"].details["binding"] == "bound"
        assert "bit" in report["status_list"].reason  # two signed lists fetched, on-chain hash matched


def test_readme_path_ends_valid_in_credreg_verify_and_the_plain_vc_with_node(
    dev_network, issued, node, tmp_path
):
    dev_network.deployment.save(tmp_path / "deployment.json")
    chain_args = ["--rpc", dev_network.chain.rpc_url, "--deployment", str(tmp_path / "deployment.json")]
    bundle_file = tmp_path / "alice.bundle.json"
    bundle_file.write_text(json.dumps(issued["readme"]["bundle"]))
    result = runner.invoke(app, [str(bundle_file), *chain_args])
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output
    plain = issued["readme"]["plain"]
    assert plain["issuer"]["id"] == DEV_DIDS["issuer"] and plain["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    vc_file = tmp_path / "alice.vc.json"
    vc_file.write_text(json.dumps(plain))
    result = runner.invoke(app, [str(vc_file), *chain_args, "--node", node.base_url])
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output
    jwt_file = tmp_path / "alice.jwt"
    jwt_file.write_text(issued["jwt"]["plain"])
    result = runner.invoke(app, [str(jwt_file), *chain_args, "--node", node.base_url])
    assert result.exit_code == 0, result.output
