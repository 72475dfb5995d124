"""Interop with third-party npm libraries, both ways: @digitalbazaar/vc with the eddsa-rdfc-2022 and
eddsa-jcs-2022 cryptosuites and `jose` (VC-JWT) verify what anchoring signs, every proof type, and reject
tampered copies; anchoring verifies what those libraries sign, and such a credential, anchored by an issuer that
registered the npm-made key, verifies VALID against a real chain. One node process for the module."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from anchoring.signing import (
    KeyType,
    LocalSigner,
    PublicKey,
    add_proof,
    did_key,
    did_web_document,
    sign_vc_jwt,
)
from anchoring.signing.vcjwt import decode_vc_jwt
from anchoring.verify import NOT_ANCHORED, ChainContext, WebContext, verify_bundle, verify_credential
from tests.helpers.bundles import fresh_ti, send_as
from tests.helpers.interop import run_js
from tests.helpers.signed import Issuer, anchor_signed
from tests.helpers.vectors import vc2_credential

ED = LocalSigner.generate()
P256 = LocalSigner.generate(KeyType.P256)
CO = LocalSigner.generate()
WEB_DID = "did:web:uni.example:issuers:law"
WEB = LocalSigner.generate().with_verification_method(WEB_DID + "#key-1")
WEB_DOC = did_web_document(
    WEB_DID, [{"id": "#key-1", "type": "Multikey", "publicKeyMultibase": WEB.public_key_multibase}]
)


def _tamper(held):
    if isinstance(held, str):  # a changed payload under the original header and signature
        head, _, sig = held.split(".")
        _, payload = decode_vc_jwt(held)
        payload["credentialSubject"]["achievement"]["name"] = "Forged"
        body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
        return f"{head}.{body}.{sig}"
    out = copy.deepcopy(held)
    out["credentialSubject"]["achievement"]["name"] = "Forged"
    return out


def _elm(issuer: str) -> dict:
    """A Europass ELM 3 credential (VC 1.1 + EDC application profile; VC 1.1 needs issuanceDate)."""
    return {
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "http://data.europa.eu/snb/model/context/edc-ap",
        ],
        "id": "urn:credential:7b8f1b8e-2f0a-4c62-9d8b-1f0c6f4f2a10",
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "credentialSubject": {
            "id": "urn:epass:person:1",
            "type": "Person",
            "hasClaim": {
                "id": "urn:epass:learningAchievement:1",
                "type": "LearningAchievement",
                "title": {"en": "Data Science 101"},
            },
        },
        "issuer": {"id": issuer, "type": "Organisation", "legalName": {"en": "Example University"}},
        "issuanceDate": "2026-01-01T00:00:00Z",
    }


def _tamper_elm(held: dict) -> dict:
    out = copy.deepcopy(held)
    out["credentialSubject"]["hasClaim"]["title"]["en"] = "Forged"
    return out


def _ours() -> dict[str, dict]:
    """Credentials anchoring signs, one per proof type (and a proof set, and a did:web issuer)."""
    ed = vc2_credential(did_key(ED.public_key), 1)
    return {
        "rdfc": {"credential": add_proof(ed, ED, cryptosuite="eddsa-rdfc-2022")},
        "jcs": {"credential": add_proof(ed, ED, cryptosuite="eddsa-jcs-2022")},
        "proof-set": {
            "credential": add_proof(
                add_proof(ed, ED, cryptosuite="eddsa-rdfc-2022"), CO, cryptosuite="eddsa-jcs-2022"
            )
        },
        "did-web-rdfc": {
            "credential": add_proof(vc2_credential(WEB_DID, 2), WEB, cryptosuite="eddsa-rdfc-2022")
        },
        "elm-vc11-rdfc": {
            "credential": add_proof(_elm(did_key(ED.public_key)), ED, cryptosuite="eddsa-rdfc-2022")
        },
        "jwt-eddsa": {"jwt": sign_vc_jwt(ed, ED)},
        "jwt-es256": {"jwt": sign_vc_jwt(vc2_credential(did_key(P256.public_key), 3), P256)},
    }


ISSUED_BY_NPM = ("eddsa-rdfc-2022", "eddsa-jcs-2022", "jwt-eddsa", "jwt-es256")


@pytest.fixture(scope="module")
def interop() -> dict:
    ours = _ours()
    verify = []
    for name, item in ours.items():
        verify.append({"name": name, **item})
        key = "jwt" if "jwt" in item else "credential"
        tamper = _tamper_elm if name.startswith("elm") else _tamper
        verify.append({"name": name + "/tampered", key: tamper(item[key])})
    issue = [
        {"name": suite, "suite": suite, "credential": vc2_credential("did:example:replaced", 10 + i)}
        for i, suite in enumerate(ISSUED_BY_NPM)
    ]
    result = run_js({"didDocuments": [WEB_DOC], "verify": verify, "issue": issue})
    result["ours"] = ours
    return result


@pytest.mark.parametrize(
    "name", ["rdfc", "jcs", "proof-set", "did-web-rdfc", "elm-vc11-rdfc", "jwt-eddsa", "jwt-es256"]
)
def test_npm_libraries_verify_what_anchoring_signs_and_reject_tampering(interop, name):
    assert interop["verified"][name] == {"verified": True}, interop["verified"][name]
    tampered = interop["verified"][name + "/tampered"]
    assert tampered["verified"] is False, tampered


@pytest.mark.parametrize("suite", ISSUED_BY_NPM)
def test_anchoring_verifies_what_the_npm_libraries_sign(interop, suite):
    issued = interop["issued"][suite]
    held = issued.get("jwt") or issued["credential"]
    report = verify_credential(held, None, web=WebContext.offline())
    assert report.verdict == NOT_ANCHORED, report.to_json()
    assert report["signature"].status == "pass"
    assert issued["did"] in report["signature"].reason
    tampered = verify_credential(_tamper(held), None, web=WebContext.offline())
    assert tampered.verdict == "invalid" and tampered["signature"].status == "fail"


@pytest.mark.parametrize("suite", ISSUED_BY_NPM)
def test_npm_signed_credential_anchored_by_its_registered_issuer_is_valid(
    interop, dev_network, funder, suite
):
    """A credential that arrives already signed by the issuer's own tooling: the issuer registers that key,
    anchors the credential as it is (no re-signing), and the bundle verifies VALID."""
    issued = interop["issued"][suite]
    held = issued.get("jwt") or issued["credential"]
    account, did = fresh_ti(dev_network, funder, did=issued["did"])
    npm_key = PublicKey.from_multibase(issued["publicKeyMultibase"])
    registry = dev_network.registry(dev_network.chain.web3())
    send_as(dev_network, account, registry.add_verification_key(account.address, npm_key.key_hash))
    issuer = Issuer(account, did, LocalSigner.generate())  # anchors only: its own key signs nothing here
    anchored = anchor_signed(dev_network, issuer, [held])
    chain = ChainContext(dev_network.chain.rpc_url, dev_network.deployment)
    report = verify_bundle(anchored.bundles[0], chain, web=WebContext.offline())
    assert report.verdict == "valid", json.dumps(report.to_dict(), indent=1)
    assert report["signature"].details["binding"] == "bound"
    # and the plain credential, taken out of its bundle, verifies with the npm verifier as well
    again = run_js({"verify": [{"name": "x", "jwt" if isinstance(held, str) else "credential": held}]})
    assert again["verified"]["x"] == {"verified": True}
