"""Verification reports against a real Anvil: every check failing for its own reason, chain errors as `error`,
and batch verification in a handful of RPC calls."""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from anchoring.bundle.v1 import ProofBundle
from anchoring.chain.contracts import IssuerKind, IssuerRegistry, _deploy
from anchoring.chain.deployment import Deployment
from anchoring.chain.transactions import TransactionSender
from anchoring.errors import ContractRevert
from anchoring.scheme.encoding import to_hex
from anchoring.verify.checks import stated_issuer_ids
from anchoring.verify.context import ChainContext
from anchoring.verify.report import CHECKS, ERROR, FAIL, PASS
from anchoring.verify.run import verify_bundle, verify_bundles
from node.dev.chains import free_port
from node.dev.network import DEV_DIDS
from tests.helpers.bundles import Batch, counting_context, fresh_ti, make_batch, send_as, statuses
from tests.helpers.credentials import credential

pytestmark = pytest.mark.chain


@pytest.fixture()
def chain(dev_network) -> ChainContext:
    return ChainContext(dev_network.chain.rpc_url, dev_network.deployment)


@pytest.fixture(scope="module")
def batch(dev_network) -> Batch:
    return make_batch(dev_network, [credential(i) for i in range(5)])


# ------------------------------------------------------------------------------------------ tests
def test_valid_bundle_passes_every_check(dev_network, chain, batch):
    report = verify_bundle(batch.bundles[0], chain)
    assert report.verdict == "valid", report.to_json()
    assert [c.name for c in report.checks] == list(CHECKS)
    assert all(c.status == PASS and c.reason for c in report.checks)
    d = json.loads(json.dumps(report.to_dict()))
    assert d["verdict"] == "valid"
    assert d["summary"]["issuer_did"] == DEV_DIDS["issuer"]
    assert d["summary"]["issuer_address"] == dev_network.issuer.address
    assert d["summary"]["anchored_at_iso"].endswith("Z")
    anchored = report["anchored"].details
    assert anchored["confirmations"] == anchored["head"] - anchored["block"] + 1 >= 1
    assert report["issuer_trusted"].details["current_status"] == "active"
    # JSON text and ProofBundle objects are accepted too
    assert verify_bundle(json.dumps(batch.bundles[1]), chain).verdict == "valid"
    assert verify_bundle(ProofBundle.load(batch.bundles[2]), chain).verdict == "valid"


def test_tampered_credential_fails_integrity(chain, batch):
    b = copy.deepcopy(batch.bundles[0])
    b["credential"]["credentialSubject"]["score"] = 100
    report = verify_bundle(b, chain)
    assert report.verdict == "invalid"
    assert report.failed == ["integrity"]
    assert "altered" in report["integrity"].reason
    assert report["issuer_matches"].status == ERROR and report["issuer_matches"].details["skipped"]


def test_wrong_salt_fails_integrity(chain, batch):
    b = copy.deepcopy(batch.bundles[0])
    b["salt"] = to_hex(os.urandom(32))
    report = verify_bundle(b, chain)
    assert report.failed == ["integrity"]


def test_wrong_proof_fails_inclusion(chain, batch):
    b = copy.deepcopy(batch.bundles[0])
    b["proof"][0] = to_hex(os.urandom(32))
    report = verify_bundle(b, chain)
    assert report.verdict == "invalid"
    assert report.failed == ["inclusion"]
    assert report["not_revoked"].status == ERROR and report["not_revoked"].details["depends_on"] == [
        "inclusion"
    ]


def test_malformed_bundle_fails_format_and_skips_the_rest(chain, batch):
    b = copy.deepcopy(batch.bundles[0])
    del b["anchor"]["txHash"]
    report = verify_bundle(b, chain)
    assert report.verdict == "invalid"
    assert report["format"].status == FAIL and report["format"].details["field"] == "anchor.txHash"
    assert all(c.status == ERROR and c.details["skipped"] for c in report.checks[1:])
    assert verify_bundle("{not json", chain)["format"].status == FAIL


def test_unanchored_root_fails_anchored(chain, dev_network):
    b = make_batch(dev_network, [credential(1), credential(2)], anchor=False)
    report = verify_bundle(b.bundles[0], chain)
    assert report.verdict == "invalid"
    assert report.failed == ["anchored"]
    assert "never anchored" in report["anchored"].reason
    for name in ("issuer_trusted", "not_revoked", "issuer_matches"):
        assert report[name].status == ERROR and "anchored" in report[name].details["depends_on"]


def test_issuer_suspended_before_anchoring_cannot_anchor(dev_network, funder, chain):
    account, did = fresh_ti(dev_network, funder)
    send_as(dev_network, dev_network.tao, dev_network.registry(funder.w3).suspend(account.address))
    with pytest.raises(ContractRevert) as info:
        make_batch(dev_network, [credential(1, did)], account=account)
    assert info.value.error == "NotActiveIssuer"
    # a bundle for that never-anchored root is reported as not anchored
    b = make_batch(dev_network, [credential(1, did)], account=account, anchor=False)
    assert verify_bundle(b.bundles[0], chain).failed == ["anchored"]


def test_issuer_suspended_after_anchoring_passes_with_current_status(dev_network, funder, chain):
    account, did = fresh_ti(dev_network, funder)
    b = make_batch(dev_network, [credential(1, did), credential(2, did)], account=account)
    send_as(dev_network, dev_network.tao, dev_network.registry(funder.w3).suspend(account.address))
    report = verify_bundle(b.bundles[0], chain)
    assert report.verdict == "valid", report.to_json()
    trusted = report["issuer_trusted"]
    assert trusted.details["current_status"] == "suspended"
    assert "currently" in trusted.reason or "current status is suspended" in trusted.reason


def test_bundle_claiming_another_anchoring_issuer_fails(chain, batch):
    b = copy.deepcopy(batch.bundles[0])
    b["anchor"]["issuer"] = Account.create().address
    report = verify_bundle(b, chain)
    assert report.failed == ["anchored"]
    assert "never anchored this root" in report["anchored"].reason  # anchors are looked up in its namespace


def test_issuer_not_trusted_in_the_verifiers_registry(dev_network, funder, batch):
    """Anchoring by a non-TI is impossible on one deployment (the contract checks isActiveTI), so point the
    verifier at the same CredentialAnchor with a *different* IssuerRegistry: unknown there -> fail; known
    there but accredited only after the anchoring time -> fail."""
    w3 = funder.w3
    root = funder.account()
    registry_addr, _ = _deploy(
        TransactionSender(w3, root), "IssuerRegistry", root.address, "did:example:other-root", b"\0" * 32
    )
    other = Deployment(
        dev_network.deployment.chain_id,
        Web3.to_checksum_address(registry_addr),
        dev_network.deployment.credential_anchor,
        dev_network.deployment.deployment_block,
    )
    report = verify_bundle(batch.bundles[0], ChainContext(dev_network.chain.rpc_url, other))
    assert (
        report["issuer_trusted"].status == FAIL
        and "not in the IssuerRegistry" in report["issuer_trusted"].reason
    )
    assert report["issuer_matches"].status == FAIL
    assert report.verdict == "invalid"
    # accredit the dev issuer there now (after the anchoring time)
    TransactionSender(w3, root).transact(
        IssuerRegistry(w3, registry_addr).accredit(
            dev_network.issuer.address, IssuerKind.TI, DEV_DIDS["issuer"], b"\0" * 32, "*"
        )
    )
    report = verify_bundle(batch.bundles[0], ChainContext(dev_network.chain.rpc_url, other))
    assert report.failed == ["issuer_trusted"]
    assert "was not an active trusted issuer" in report["issuer_trusted"].reason
    assert report["issuer_trusted"].details["current_status"] == "active"


def test_revoked_and_suspended_credentials_fail_not_revoked(dev_network, funder, chain):
    account, did = fresh_ti(dev_network, funder)
    b = make_batch(dev_network, [credential(i, did) for i in range(8)], account=account)
    b.revoke(dev_network, account, [1, 2], reason=4)
    b.revoke(dev_network, account, [3], reason=9, suspend=True)
    reports = verify_bundles(b.bundles, ChainContext(dev_network.chain.rpc_url, dev_network.deployment))
    assert [r.verdict for r in reports] == ["valid", "invalid", "invalid", "invalid"] + ["valid"] * 4
    revoked = reports[1]["not_revoked"]
    assert revoked.status == FAIL and revoked.details["status"] == "revoked"
    assert revoked.details["reason_code"] == 4 and revoked.details["changed_at_iso"].endswith("Z")
    assert reports[1].failed == ["not_revoked"]
    suspended = reports[3]["not_revoked"]
    assert suspended.details["status"] == "suspended" and suspended.details["reason_code"] == 9
    # reinstated -> valid again (the last event per digest wins)
    anchor = dev_network.anchor(funder.w3)
    multi = b.tree.multiproof([b.digests[3]])
    send_as(dev_network, account, anchor.reinstate(b.tree.root, multi.leaves, multi.proof, multi.proof_flags))
    assert verify_bundle(b.bundles[3], chain).verdict == "valid"


def test_issuer_did_mismatch(dev_network, chain):
    b = make_batch(
        dev_network,
        [
            credential(1, {"id": "did:web:impostor.example"}),
            credential(2, "did:web:x"),
            credential(3, DEV_DIDS["issuer"]),
            credential(
                4,
                {
                    "id": "urn:epass:org:1",
                    "type": "Organisation",
                    "identifier": [{"notation": DEV_DIDS["issuer"]}],
                },
            ),
        ],
    )
    reports = verify_bundles(b.bundles, chain)
    assert reports[0].failed == ["issuer_matches"]
    assert "did:web:impostor.example" in reports[0]["issuer_matches"].reason
    assert reports[1].failed == ["issuer_matches"]
    assert reports[2].verdict == "valid"
    assert reports[3].verdict == "valid"  # ELM: the DID as an identifier notation


def test_stated_issuer_shapes():
    assert stated_issuer_ids({"issuer": "did:a"}) == ["did:a"]
    assert stated_issuer_ids({"issuer": {"id": "did:b"}}) == ["did:b"]
    assert stated_issuer_ids({"issuer": {"id": "urn:x", "identifier": {"notation": "did:c"}}}) == [
        "urn:x",
        "did:c",
    ]
    assert stated_issuer_ids({}) == []


def test_chain_down_is_error_not_invalid(dev_network, batch):
    down = ChainContext(f"http://127.0.0.1:{free_port()}", dev_network.deployment, timeout=2)
    reports = verify_bundles(batch.bundles[:3], down)
    for report in reports:
        assert report.verdict == "error"
        assert statuses(report) == {
            "format": PASS,
            "integrity": PASS,
            "inclusion": PASS,
            "anchored": ERROR,
            "issuer_trusted": ERROR,
            "not_revoked": ERROR,
            "issuer_matches": ERROR,
            # unsigned (salted-jcs) credentials: nothing to sign-check; dates and status need no chain
            "signature": PASS,
            "validity_period": PASS,
            "status_list": PASS,
            "scope": ERROR,  # the registry entry's scope could not be read
            "joint": PASS,  # not a joint credential: nothing to ask the chain
            "stack": PASS,  # not a stack credential
        }
        assert "cannot reach" in report["anchored"].reason
        assert report["signature"].details["applicable"] is False
    # a tampered bundle is still invalid without a chain: fail beats error
    b = copy.deepcopy(batch.bundles[0])
    b["credential"]["name"] = "forged"
    assert verify_bundle(b, down).verdict == "invalid"


def test_wrong_chain_id_is_error(dev_network, batch):
    d = dev_network.deployment
    wrong = Deployment(d.chain_id + 1, d.issuer_registry, d.credential_anchor, d.deployment_block)
    report = verify_bundle(batch.bundles[0], ChainContext(dev_network.chain.rpc_url, wrong))
    assert report.verdict == "error"
    assert report["anchored"].status == ERROR and "serves chain" in report["anchored"].reason
    # a bundle that says it was anchored on another chain than the one the verifier is connected to
    b = copy.deepcopy(batch.bundles[0])
    b["anchor"]["chainId"] = d.chain_id + 7
    b2 = ChainContext(dev_network.chain.rpc_url, d)
    report = verify_bundle(b, b2)
    assert report.verdict == "error" and "anchored on chain" in report["anchored"].reason


def test_batch_of_10000_bundles_over_10_roots_costs_a_handful_of_rpc_calls(dev_network, funder):
    account, did = fresh_ti(dev_network, funder)
    batches = [
        make_batch(dev_network, [credential(i, did) for i in range(1000)], account=account) for _ in range(10)
    ]
    batches[4].revoke(dev_network, account, [10, 11, 12], reason=3)
    batches[7].revoke(dev_network, account, [5], reason=1, suspend=True)
    bundles = [b for batch in batches for b in batch.bundles]
    chain, provider = counting_context(dev_network)
    started = time.perf_counter()
    reports = verify_bundles(bundles, chain)
    elapsed = time.perf_counter() - started
    invalid = [i for i, r in enumerate(reports) if r.verdict != "valid"]
    assert invalid == [4010, 4011, 4012, 7005], [reports[i].to_dict() for i in invalid[:3]]
    assert len(provider.calls) <= 40, provider.calls
    assert provider.calls.count("eth_getLogs") == 1
    print(
        f"\n10,000 bundles: {len(provider.calls)} RPC calls, {elapsed:.2f} s, {10000 / elapsed:.0f} bundles/s"
    )


def test_logs_unavailable_falls_back_to_status_calls(dev_network, funder):
    account, did = fresh_ti(dev_network, funder)
    b = make_batch(dev_network, [credential(i, did) for i in range(4)], account=account)
    b.revoke(dev_network, account, [2], reason=5)
    chain, provider = counting_context(dev_network)
    original = provider.make_request

    def no_logs(method, params):
        if method == "eth_getLogs":  # what a provider capping log queries answers
            return {
                "jsonrpc": "2.0",
                "id": 1,
                "error": {"code": -32005, "message": "query returned more than 10000 results"},
            }
        return original(method, params)

    provider.make_request = no_logs
    reports = verify_bundles(b.bundles, chain)
    assert [r.verdict for r in reports] == ["valid", "valid", "invalid", "valid"]
    assert reports[2]["not_revoked"].details["reason_code"] == 5


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda b: b.update(salt=b["salt"].upper().replace("0X", "0x")), "salt"),
        (
            lambda b: b.update(root=b["root"] + "\n"),
            "root",
        ),  # schema `$` lets it through; the fullmatch check names it
        (lambda b: b["anchor"].update(chainId=True), "anchor.chainId"),
        (lambda b: b["anchor"].update(blockNumber=1.0), "anchor.blockNumber"),
        (lambda b: b["anchor"].update(issuer=b["anchor"]["issuer"].lower()), "anchor.issuer"),
        (lambda b: b.update(extra=1), "extra"),
        (lambda b: b["credential"].update(big=2**60), "credential.big"),
        (lambda b: b.update(proof=b["proof"] * 40), "proof"),
    ],
)
def test_fast_format_path_agrees_with_the_schema(chain, batch, mutate, field):
    b = copy.deepcopy(batch.bundles[0])
    mutate(b)
    report = verify_bundle(b, chain)
    assert report["format"].status == FAIL and report["format"].details["field"] == field


def test_duplicate_keys_in_json_text_fail_format(chain, batch):
    text = json.dumps(batch.bundles[0])
    text = text[:-1] + ', "salt": ' + json.dumps(batch.bundles[0]["salt"]) + "}"
    report = verify_bundle(text, chain)
    assert report["format"].status == FAIL and report["format"].details["field"] == "salt"


def test_fast_canonicalization_equals_rfc8785():
    from anchoring.scheme.jcs import canonicalize, fast_canonicalize

    vectors = json.loads((Path(__file__).resolve().parents[2] / "docs" / "test-vectors.json").read_text())
    docs = [v["credential"] for v in vectors["credentials"]]
    for f in (Path(__file__).resolve().parents[2] / "scripts" / "examples").glob("*.json"):
        docs.append(json.loads(f.read_text()))
    docs += [
        {
            "s": 'ctl \x00\x01\x08\t\n\x0b\x0c\r\x1f \x7f \u2028 "q" \\ / é 日本 😀',
            "n": [0, -1, 2**53 - 1, -(2**53 - 1)],
            "b": [True, False, None],
            "nested": {"z": {}, "a": [], "B": [{"y": 1, "x": "2"}]},
        },
        {"zz": 1, "Z": 2, "a_": 3, "a": 4, "_": 5, "1": 6, "": 7},
    ]
    checked = 0
    for d in docs:
        fast = fast_canonicalize(d)
        if fast is not None:
            assert fast == canonicalize(d), d
            checked += 1
    assert checked >= 4
    # what the fast path must hand over to the full implementation
    for d in ({"f": 1.5}, {"f": 5.0}, {"big": 2**53}, {"é": 1}, {"s": "\ud800"}, {1: "x"}):
        assert fast_canonicalize(d) is None
