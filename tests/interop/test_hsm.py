"""Keys in a real SoftHSM2 token, judged by third parties: an issuer whose chain key (secp256k1) and credential key
(Ed25519) live in the token registers that key and anchors a credential the token signed (eddsa-jcs-2022), with
transactions Anvil accepts from the token's address; the bundle verifies VALID with the key bound; and the npm
verifiers (@digitalbazaar/vc for the Data Integrity proof, `jose` for a P-256 ES256 VC-JWT) accept what the token
signed and reject a tampered copy."""

from __future__ import annotations

import copy
import json

import pytest

from anchoring.chain.contracts import IssuerKind
from anchoring.chain.transactions import TransactionSender
from anchoring.scheme.keccak import keccak256
from anchoring.signing import add_proof, did_key, sign_vc_jwt
from anchoring.verify import ChainContext, WebContext, verify_bundle
from node.auth.pkcs11 import Pkcs11Token
from tests.helpers.bundles import send_as
from tests.helpers.interop import run_js
from tests.helpers.signed import Issuer, anchor_signed, register_key
from tests.helpers.softhsm import LABELS, fund_address
from tests.helpers.vectors import vc2_credential


@pytest.fixture(scope="module")
def token(softhsm) -> Pkcs11Token:
    return Pkcs11Token.open(softhsm.module, softhsm.token, softhsm.pin)


def test_an_issuer_whose_keys_live_in_the_hsm_anchors_a_credential_that_verifies_valid(
    dev_network, funder, token
):
    chain_key = token.chain_signer(LABELS["secp256k1"])
    credential_key = token.credential_signer(LABELS["ed25519"])
    w3 = dev_network.chain.web3()
    did = did_key(credential_key.public_key)
    fund_address(funder, chain_key.address)
    send_as(
        dev_network,
        dev_network.tao,
        dev_network.registry(w3).accredit(chain_key.address, IssuerKind.TI, did, keccak256(b"doc"), "*"),
    )
    issuer = Issuer(chain_key, did, credential_key)
    registered = register_key(
        dev_network, issuer, credential_key
    )  # sent by TransactionSender with the HSM key
    held = add_proof(vc2_credential(did, 41), credential_key, cryptosuite="eddsa-jcs-2022")
    anchored = anchor_signed(dev_network, issuer, [held])
    for tx_hash in (bytes(registered.receipt["transactionHash"]), anchored.inclusions[0].tx_hash):
        assert w3.eth.get_transaction(tx_hash)["from"] == chain_key.address
    report = verify_bundle(
        anchored.bundles[0],
        ChainContext(dev_network.chain.rpc_url, dev_network.deployment),
        web=WebContext.offline(),
    )
    assert report.verdict == "valid", json.dumps(report.to_dict(), indent=1)
    assert report["signature"].details["binding"] == "bound"
    # a nonce the sender reads from the chain, fees from the chain: a second transaction goes through as well
    sender = TransactionSender(w3, chain_key, poll_interval=0.01)
    assert sender.next_nonce() == 2
    second = add_proof(vc2_credential(did, 42), credential_key, cryptosuite="eddsa-jcs-2022")
    assert anchor_signed(dev_network, issuer, [second]).inclusions[0].issuer == chain_key.address


def test_npm_verifiers_accept_what_the_hsm_signs_and_reject_tampering(token):
    ed = token.credential_signer(LABELS["ed25519"])
    p256 = token.credential_signer(LABELS["p256"])
    jcs = add_proof(vc2_credential(did_key(ed.public_key), 43), ed, cryptosuite="eddsa-jcs-2022")
    tampered = copy.deepcopy(jcs)
    tampered["credentialSubject"]["achievement"]["name"] = "Forged"
    jwt = sign_vc_jwt(vc2_credential(did_key(p256.public_key), 44), p256)
    head, payload, signature = jwt.split(".")
    forged_jwt = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    result = run_js(
        {
            "verify": [
                {"name": "jcs", "credential": jcs},
                {"name": "jcs/tampered", "credential": tampered},
                {"name": "jwt-es256", "jwt": jwt},
                {"name": "jwt-es256/forged", "jwt": forged_jwt},
            ]
        }
    )
    assert result["verified"]["jcs"] == {"verified": True}, result["verified"]["jcs"]
    assert result["verified"]["jwt-es256"] == {"verified": True}, result["verified"]["jwt-es256"]
    assert result["verified"]["jcs/tampered"]["verified"] is False
    assert result["verified"]["jwt-es256/forged"]["verified"] is False
