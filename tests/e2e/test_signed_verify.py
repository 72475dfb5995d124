"""Signed credentials anchored on a real Anvil and verified end to end: bundles of format 2 (digest rules jcs
and compact) for every securing mechanism, the key binding rule against the registry, did:web, status lists
with their on-chain hashes, joint credentials, and plain VCs found through a node's proof endpoint."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from anchoring.cli import EXIT_NOT_ANCHORED, command
from anchoring.scheme.encoding import to_hex
from anchoring.signing import KeyType, LocalSigner, add_proof, did_web_document, sign_vc_jwt
from anchoring.statuslist import list_hash, list_id
from anchoring.verify import CHECKS, NOT_ANCHORED, ChainContext, WebContext, verify_bundle, verify_credential
from tests.helpers.bundles import send_as, statuses
from tests.helpers.signed import (
    MECHANISMS,
    anchor_signed,
    credential_for,
    local_web,
    new_issuer,
    node_proof,
    register_key,
    revoke_key,
    secure,
)
from tests.helpers.vectors import status_entry, status_list_credential

pytestmark = pytest.mark.chain

runner = CliRunner()
cli = command


@pytest.fixture()
def chain(dev_network) -> ChainContext:
    return ChainContext(dev_network.chain.rpc_url, dev_network.deployment)


def _signer_for(issuer, mechanism: str) -> LocalSigner:
    return issuer.signer


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_signed_bundle_of_each_mechanism_is_valid_and_bound(dev_network, funder, chain, mechanism):
    key_type = KeyType.P256 if mechanism == "vc-jwt-es256" else KeyType.ED25519
    issuer = new_issuer(dev_network, funder, key_type=key_type)
    held = [secure(credential_for(issuer.did, n), issuer.signer, mechanism) for n in range(3)]
    anchored = anchor_signed(dev_network, issuer, held)
    report = verify_bundle(anchored.bundles[1], chain, web=WebContext.offline())
    assert report.verdict == "valid", report.to_json()
    assert [c.name for c in report.checks] == list(CHECKS)
    sig = report["signature"]
    assert "registered for" in sig.reason and sig.details["binding"] == "bound"
    assert sig.details["key_hash"] == to_hex(issuer.signer.public_key.key_hash)
    assert report["integrity"].details["digest_rule"] == (
        "compact" if mechanism.startswith("vc-jwt") else "jcs"
    )


def test_tampered_signed_bundle_fails_integrity_and_signature(dev_network, funder, chain):
    issuer = new_issuer(dev_network, funder)
    anchored = anchor_signed(
        dev_network, issuer, [secure(credential_for(issuer.did, 0), issuer.signer, "eddsa-rdfc-2022")]
    )
    tampered = copy.deepcopy(anchored.bundles[0])
    tampered["credential"]["credentialSubject"]["achievement"]["name"] = "Forged"
    report = verify_bundle(tampered, chain, web=WebContext.offline())
    assert report.verdict == "invalid"
    assert statuses(report)["integrity"] == "fail" and statuses(report)["signature"] == "fail"


def test_unregistered_key_and_key_of_another_issuer_fail_the_binding(dev_network, funder, chain):
    issuer = new_issuer(dev_network, funder, register=False)
    anchored = anchor_signed(
        dev_network, issuer, [secure(credential_for(issuer.did, 0), issuer.signer, "eddsa-jcs-2022")]
    )
    report = verify_bundle(anchored.bundles[0], chain, web=WebContext.offline())
    assert report.verdict == "invalid"
    assert report["signature"].status == "fail" and "not registered" in report["signature"].reason
    # a key registered, but for another issuer: still not bound to this anchoring address
    other = new_issuer(dev_network, funder)
    register_key(dev_network, other, issuer.signer)
    report = verify_bundle(anchored.bundles[0], chain, web=WebContext.offline())
    assert report["signature"].status == "fail"


def test_key_added_after_anchoring_fails_and_key_revoked_after_anchoring_stays_valid(
    dev_network, funder, chain
):
    issuer = new_issuer(dev_network, funder, register=False)
    early = anchor_signed(
        dev_network, issuer, [secure(credential_for(issuer.did, 1), issuer.signer, "eddsa-jcs-2022")]
    )
    register_key(dev_network, issuer, issuer.signer)
    late = anchor_signed(
        dev_network, issuer, [secure(credential_for(issuer.did, 2), issuer.signer, "eddsa-jcs-2022")]
    )
    first = verify_bundle(early.bundles[0], chain, web=WebContext.offline())
    assert first["signature"].status == "fail" and "after block" in first["signature"].reason
    assert (
        verify_bundle(
            late.bundles[0], ChainContext(chain.rpc_url, chain.deployment), web=WebContext.offline()
        ).verdict
        == "valid"
    )
    revoke_key(dev_network, issuer, issuer.signer)
    again = verify_bundle(
        late.bundles[0], ChainContext(chain.rpc_url, chain.deployment), web=WebContext.offline()
    )
    assert again.verdict == "valid" and "revoked later" in again["signature"].reason
    after = anchor_signed(
        dev_network, issuer, [secure(credential_for(issuer.did, 3), issuer.signer, "eddsa-jcs-2022")]
    )
    revoked = verify_bundle(
        after.bundles[0], ChainContext(chain.rpc_url, chain.deployment), web=WebContext.offline()
    )
    assert revoked["signature"].status == "fail" and "was revoked in block" in revoked["signature"].reason


def test_jcs_bundle_without_a_proof_fails_the_signature(dev_network, funder, chain):
    issuer = new_issuer(dev_network, funder)
    anchored = anchor_signed(dev_network, issuer, [credential_for(issuer.did, 0)])
    report = verify_bundle(anchored.bundles[0], chain, web=WebContext.offline())
    assert report["signature"].status == "fail" and "carries no proof" in report["signature"].reason


def test_did_web_issuer_key_from_the_document_or_the_bundle(dev_network, funder, chain):
    with local_web() as web:
        did = f"{web.host_did}:issuers:law"
        issuer = new_issuer(dev_network, funder, did=did)
        vm = {
            "id": f"{did}#key-1",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": issuer.signer.public_key_multibase,
        }
        web.put("/issuers/law/did.json", json.dumps(did_web_document(did, [vm])))
        held = [secure(credential_for(did, n), issuer.signer, "eddsa-rdfc-2022") for n in range(2)]
        bare = anchor_signed(dev_network, issuer, held)
        others = [secure(credential_for(did, n), issuer.signer, "eddsa-rdfc-2022") for n in range(2, 4)]
        with_methods = anchor_signed(dev_network, issuer, others, methods=[vm])
        online = WebContext(did_web_scheme="http")
        report = verify_bundle(bare.bundles[0], chain, web=online)
        assert report.verdict == "valid", report.to_json()
        assert report["signature"].details["proofs"][0]["key_source"] == "did:web"
        # the bundle's method plus a matching DID document: valid, the match noted
        report = verify_bundle(with_methods.bundles[0], chain, web=WebContext(did_web_scheme="http"))
        assert (
            report.verdict == "valid"
            and "matches its did:web document" in report["signature"].details["did_web"][0]
        )
        # a DID document that publishes another key under the same id: fail
        rogue = dict(vm, publicKeyMultibase=LocalSigner.generate().public_key_multibase)
        web.put("/issuers/law/did.json", json.dumps(did_web_document(did, [rogue])))
        report = verify_bundle(with_methods.bundles[0], chain, web=WebContext(did_web_scheme="http"))
        assert report["signature"].status == "fail" and "publishes another key" in report["signature"].reason
        # the bundle's own key never needs the document: offline it is still bound and valid
        assert verify_bundle(with_methods.bundles[0], chain, web=WebContext.offline()).verdict == "valid"
    # the server is gone: without the bundle's method the key cannot be found -> error, not invalid
    report = verify_bundle(bare.bundles[1], chain, web=WebContext(did_web_scheme="http", timeout=2))
    assert report.verdict == "error" and report["signature"].status == "error"


def test_status_list_entry_checked_against_its_on_chain_hash(dev_network, funder, chain):
    with local_web() as web:
        issuer = new_issuer(dev_network, funder)
        url = f"{web.base}/status/1"
        w3 = dev_network.chain.web3()
        anchor = dev_network.anchor(w3)

        def publish(bits):
            lst = add_proof(status_list_credential(url, issuer.did, "revocation", bits), issuer.signer)
            web.put("/status/1", json.dumps(lst))
            encoded = lst["credentialSubject"]["encodedList"]
            send_as(dev_network, issuer.account, anchor.publish_status_list(list_id(url), list_hash(encoded)))
            return lst

        publish(())
        cred = credential_for(issuer.did, 0, credentialStatus=status_entry(url, 42))
        anchored = anchor_signed(dev_network, issuer, [secure(cred, issuer.signer, "eddsa-jcs-2022")])
        report = verify_bundle(anchored.bundles[0], ChainContext(chain.rpc_url, chain.deployment))
        assert report.verdict == "valid", report.to_json()
        assert "matches version 1 published on chain" in report["status_list"].reason
        publish((42,))
        report = verify_bundle(anchored.bundles[0], ChainContext(chain.rpc_url, chain.deployment))
        assert (
            report["status_list"].status == "fail"
            and "revoked by status list" in report["status_list"].reason
        )
        # served list no longer the published one (changed since, or tampered): undecided, never "not revoked"
        web.put("/status/1", json.dumps(add_proof(status_list_credential(url, issuer.did), issuer.signer)))
        report = verify_bundle(anchored.bundles[0], ChainContext(chain.rpc_url, chain.deployment))
        assert (
            report["status_list"].status == "error"
            and "differs from version 2" in report["status_list"].reason
        )
    report = verify_bundle(
        anchored.bundles[0], ChainContext(chain.rpc_url, chain.deployment), web=WebContext(timeout=2)
    )
    assert report.verdict == "error" and "unreachable" in report["status_list"].reason


def test_joint_credential_two_issuers_two_proofs_two_anchors(dev_network, funder, chain):
    a, b = new_issuer(dev_network, funder), new_issuer(dev_network, funder)
    cred = credential_for(a.did, 7)
    signed = add_proof(
        add_proof(cred, a.signer, cryptosuite="eddsa-rdfc-2022"), b.signer, cryptosuite="eddsa-rdfc-2022"
    )
    first = anchor_signed(dev_network, a, [signed])
    second = anchor_signed(dev_network, b, [signed])
    bundle = copy.deepcopy(first.bundles[0])
    bundle["anchors"].append(second.bundles[0]["anchors"][0])
    report = verify_bundle(bundle, chain, web=WebContext.offline())
    # issuer_matches holds for the stated issuer a only; the signature check binds each anchor to its own key
    assert report["signature"].status == "pass", report["signature"].to_dict()
    assert [p["status"] for p in report["signature"].details["anchors"]] == ["pass", "pass"]
    only_a = add_proof(cred, a.signer, cryptosuite="eddsa-rdfc-2022")
    one = anchor_signed(dev_network, a, [only_a])
    two = anchor_signed(dev_network, b, [only_a])
    bundle = copy.deepcopy(one.bundles[0])
    bundle["anchors"].append(two.bundles[0]["anchors"][0])
    report = verify_bundle(bundle, ChainContext(chain.rpc_url, chain.deployment), web=WebContext.offline())
    assert report["signature"].status == "fail"  # b anchored but never signed


# ------------------------------------------------------------------------------------------ plain VCs
@pytest.mark.parametrize("mechanism", ["eddsa-rdfc-2022", "vc-jwt-eddsa"])
def test_plain_vc_with_a_supplied_proof_or_a_node_lookup(dev_network, funder, chain, mechanism):
    issuer = new_issuer(dev_network, funder)
    held = secure(credential_for(issuer.did, 0), issuer.signer, mechanism)
    anchored = anchor_signed(dev_network, issuer, [held])
    proof = node_proof(anchored.digests[0], anchored.inclusions[0])
    report = verify_credential(held, chain, proof=proof, web=WebContext.offline())
    assert report.verdict == "valid", report.to_json()
    assert [c.name for c in report.checks] == list(CHECKS)
    with local_web() as node:
        node.put(f"/v1/proofs/{to_hex(anchored.digests[0])}", json.dumps(proof))
        found = verify_credential(held, ChainContext(chain.rpc_url, chain.deployment), node=node.base)
        assert found.verdict == "valid" and found.summary["anchor_source"] == f"node {node.base}"
        other = secure(credential_for(issuer.did, 99), issuer.signer, mechanism)
        missing = verify_credential(other, chain, node=node.base)
        assert missing.verdict == NOT_ANCHORED


def test_credreg_verify_reads_plain_vcs_and_vc_jwts(dev_network, funder, tmp_path):
    issuer = new_issuer(dev_network, funder)
    vc = secure(credential_for(issuer.did, 0), issuer.signer, "eddsa-jcs-2022")
    token = sign_vc_jwt(credential_for(issuer.did, 1), issuer.signer)
    anchored = anchor_signed(dev_network, issuer, [vc, token])
    dev_network.deployment.save(tmp_path / "deployment.json")
    (tmp_path / "vc.json").write_text(json.dumps(vc))
    (tmp_path / "vc.jwt").write_text(token + "\n")
    (tmp_path / "bundle.json").write_text(json.dumps(anchored.bundles[0]))
    base = [
        "--rpc",
        dev_network.chain.rpc_url,
        "--deployment",
        str(tmp_path / "deployment.json"),
        "--offline",
    ]
    with local_web() as node:
        for digest, inc in zip(anchored.digests, anchored.inclusions, strict=True):
            node.put(f"/v1/proofs/{to_hex(digest)}", json.dumps(node_proof(digest, inc)))
        args = [str(tmp_path / n) for n in ("vc.json", "vc.jwt", "bundle.json")]
        result = runner.invoke(cli, [*args, *base, "--node", node.base, "--json"])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.output)
        assert [r["verdict"] for r in doc["reports"]] == ["valid"] * 3
        assert [r["source"] for r in doc["reports"]] == args
    result = runner.invoke(cli, [str(tmp_path / "vc.json"), *base])
    assert result.exit_code == EXIT_NOT_ANCHORED and "NOT ANCHORED" in result.output
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(json.dumps(node_proof(anchored.digests[1], anchored.inclusions[1])))
    result = runner.invoke(cli, [str(tmp_path / "vc.jwt"), *base, "--proof", str(proof_file)])
    assert result.exit_code == 0, result.output


def test_credreg_verify_did_web_offline_with_a_cached_did_document(dev_network, funder, tmp_path):
    did = "did:web:uni.example:issuers:offline"
    issuer = new_issuer(dev_network, funder, did=did)
    vm = {"id": f"{did}#key-1", "type": "Multikey", "publicKeyMultibase": issuer.signer.public_key_multibase}
    anchored = anchor_signed(
        dev_network, issuer, [secure(credential_for(did, 0), issuer.signer, "eddsa-jcs-2022")]
    )
    dev_network.deployment.save(tmp_path / "deployment.json")
    (tmp_path / "bundle.json").write_text(json.dumps(anchored.bundles[0]))
    (tmp_path / "did.json").write_text(json.dumps(did_web_document(did, [vm])))
    base = [str(tmp_path / "bundle.json"), "--rpc", dev_network.chain.rpc_url]
    base += ["--deployment", str(tmp_path / "deployment.json"), "--offline"]
    without = runner.invoke(cli, base)
    assert without.exit_code == 2, without.output  # the key is only in the DID document: undecided offline
    result = runner.invoke(cli, [*base, "--did-document", str(tmp_path / "did.json")])
    assert result.exit_code == 0, result.output
    (tmp_path / "bad.json").write_text('{"no": "id"}')
    bad = runner.invoke(cli, [*base, "--did-document", str(tmp_path / "bad.json")])
    assert bad.exit_code == 2 and "bad --did-document" in bad.output
