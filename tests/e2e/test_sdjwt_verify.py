"""SD-JWT VC presentations verified end to end on a real Anvil: signature bound to the anchoring issuer's
registered key, the disclosed claims listed, key binding (aud / nonce), the anchor of ``credreg_digest``,
revocation; through ``credreg verify`` (with --node) and ``POST /v1/verify``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from anchoring.cli import EXIT_INVALID, command
from anchoring.scheme.encoding import to_hex
from anchoring.signing import KeyType, LocalSigner, add_proof, issue_sd_jwt_vc, present_sd_jwt
from anchoring.statuslist import list_hash, list_id
from anchoring.verify import ChainContext, WebContext
from anchoring.verify.sdjwt import verify_sd_jwt_presentation
from node.wallet.issuance import VCT
from tests.helpers.bundles import send_as
from tests.helpers.chain import Funder
from tests.helpers.nodes import build_app
from tests.helpers.signed import anchor_signed, credential_for, local_web, new_issuer, node_proof, secure
from tests.helpers.vectors import status_entry, status_list_credential

pytestmark = pytest.mark.chain

HOLDER = LocalSigner.generate(KeyType.P256)
AUD = "https://employer.example"
CLAIMS = {"title": "Data Science 101", "level": 6, "workload": {"ects": 5}, "dateOfIssuing": "2026-01-01"}
runner = CliRunner()
cli = command


@pytest.fixture(scope="module")
def anchored(dev_network):
    issuer = new_issuer(dev_network, Funder(dev_network))
    held = [secure(credential_for(issuer.did, n), issuer.signer, "eddsa-jcs-2022") for n in range(2)]
    return issuer, anchor_signed(dev_network, issuer, held)


def _sd(signer, digest: bytes, status: dict | None = None) -> str:
    claims = {**CLAIMS, "credreg_digest": to_hex(digest)}
    return issue_sd_jwt_vc(
        claims, signer, vct=VCT, disclosable=list(CLAIMS), holder_jwk=HOLDER.public_jwk, status=status
    )


def test_presentation_valid_with_disclosed_claims_and_binding(dev_network, anchored):
    issuer, a = anchored
    chain = ChainContext(dev_network.chain.rpc_url, dev_network.deployment)
    shown = present_sd_jwt(
        _sd(issuer.signer, a.digests[0]), ["level", "workload"], holder=HOLDER, audience=AUD, nonce="n1"
    )
    proof = node_proof(a.digests[0], a.inclusions[0])
    report = verify_sd_jwt_presentation(
        shown, chain, proof=proof, web=WebContext.offline(), audience=AUD, nonce="n1"
    )
    assert report.verdict == "valid", report.to_json()
    assert [c.name for c in report.checks] == [
        "format",
        "signature",
        "disclosures",
        "key_binding",
        "validity_period",
        "inclusion",
        "anchored",
        "issuer_trusted",
        "not_revoked",
        "status_list",
    ]
    assert report["disclosures"].details == {
        "disclosed": {"level": 6, "workload": {"ects": 5}},
        "withheld": 2,
    }
    assert report["signature"].details["binding"] == "bound"
    assert report.summary["disclosed"] == ["level", "workload"] and report.summary["issuer_did"] == issuer.did

    # the verifier's nonce differs: key binding fails; no anchor proof: signed, not anchored
    stale = verify_sd_jwt_presentation(
        shown, chain, proof=proof, web=WebContext.offline(), audience=AUD, nonce="n2"
    )
    assert stale.verdict == "invalid" and stale.failed == ["key_binding"]
    alone = verify_sd_jwt_presentation(shown, chain, web=WebContext.offline())
    assert alone.verdict == "signed-not-anchored"


def test_a_key_not_registered_for_the_anchoring_issuer_fails(dev_network, anchored):
    _, a = anchored
    chain = ChainContext(dev_network.chain.rpc_url, dev_network.deployment)
    stranger = LocalSigner.generate()
    shown = present_sd_jwt(_sd(stranger, a.digests[1]), ["level"])
    report = verify_sd_jwt_presentation(
        shown, chain, proof=node_proof(a.digests[1], a.inclusions[1]), web=WebContext.offline()
    )
    assert report.verdict == "invalid" and report.failed == ["signature"]
    assert "not bound" in report["signature"].reason


def test_credreg_verify_and_post_verify_revoked(dev_network, anchored, tmp_path):
    issuer, a = anchored
    shown = present_sd_jwt(
        _sd(issuer.signer, a.digests[1]), ["title"], holder=HOLDER, audience=AUD, nonce="n3"
    )
    (tmp_path / "vp.sd-jwt").write_text(shown)
    dev_network.deployment.save(tmp_path / "deployment.json")
    base = [
        "--rpc",
        dev_network.chain.rpc_url,
        "--deployment",
        str(tmp_path / "deployment.json"),
        "--offline",
    ]
    with local_web() as node:
        node.put(f"/v1/proofs/{to_hex(a.digests[1])}", json.dumps(node_proof(a.digests[1], a.inclusions[1])))
        args = [str(tmp_path / "vp.sd-jwt"), *base, "--node", node.base, "--audience", AUD, "--nonce", "n3"]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "disclosed: title (3 withheld)" in result.output
        multi = a.tree.multiproof([a.digests[1]])
        anchor = dev_network.anchor(dev_network.chain.web3())
        send_as(
            dev_network,
            issuer.account,
            anchor.revoke(a.tree.root, multi.leaves, multi.proof, multi.proof_flags, 1),
        )
        result = runner.invoke(cli, [*args, "--json"])
        assert result.exit_code == EXIT_INVALID, result.output
        doc = json.loads(result.output)["reports"][0]
        assert [c["name"] for c in doc["checks"] if c["status"] == "fail"] == ["not_revoked"]

    (tmp_path / "app").mkdir()
    with TestClient(build_app(tmp_path / "app", dev_network.chain.rpc_url, dev_network.deployment)) as client:
        r = client.post("/v1/verify", json={"presentation": shown, "audience": AUD, "nonce": "n3"})
        assert r.status_code == 200, r.text
        assert r.json()["verdict"] == "signed-not-anchored"  # this node does not hold the digest
        assert r.json()["summary"]["disclosed"] == ["title"]
        r = client.post("/v1/verify", json={"presentation": "not~an~sd-jwt"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "presentation"


def test_bitstring_status_list_entry_is_checked(dev_network, anchored):
    """The SD-JWT's status names the same Bitstring Status List bit as the W3C form: signed list, on-chain hash."""
    issuer, a = anchored
    chain = ChainContext(dev_network.chain.rpc_url, dev_network.deployment)
    with local_web() as web:
        url = f"{web.base}/status/sd"
        anchor = dev_network.anchor(dev_network.chain.web3())

        def publish(bits):
            lst = add_proof(status_list_credential(url, issuer.did, "revocation", bits), issuer.signer)
            web.put("/status/sd", json.dumps(lst))
            encoded = lst["credentialSubject"]["encodedList"]
            send_as(dev_network, issuer.account, anchor.publish_status_list(list_id(url), list_hash(encoded)))

        publish(())
        status = {"bitstring_status_list": [status_entry(url, 7)]}
        shown = present_sd_jwt(_sd(issuer.signer, a.digests[0], status), ["level"])
        proof = node_proof(a.digests[0], a.inclusions[0])
        report = verify_sd_jwt_presentation(shown, chain, proof=proof, web=WebContext(timeout=2))
        assert report.verdict == "valid", report.to_json()
        assert "matches version" in report["status_list"].reason
        publish((7,))
        chain = ChainContext(dev_network.chain.rpc_url, dev_network.deployment)  # a fresh snapshot
        report = verify_sd_jwt_presentation(shown, chain, proof=proof, web=WebContext(timeout=2))
        assert report.failed == ["status_list"] and "revoked by status list" in report["status_list"].reason
