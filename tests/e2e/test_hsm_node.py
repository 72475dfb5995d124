"""A whole node whose issuer chain key lives in a SoftHSM2 token (CREDREG_PKCS11_*): the pipeline anchors from the
token's address, and the environment key that is also configured is not used."""

from __future__ import annotations

import secrets

import pytest
from eth_account import Account
from pydantic import SecretStr

from anchoring.chain.contracts import IssuerKind
from anchoring.scheme.encoding import from_hex
from anchoring.scheme.keccak import keccak256
from node.auth.pkcs11 import HsmKeyKind, Pkcs11ChainSigner, Pkcs11Token
from node.cli.embedded import EmbeddedNode, node_settings
from tests.helpers.bundles import send_as
from tests.helpers.credentials import sample_credential
from tests.helpers.softhsm import fund_address


@pytest.fixture()
def hsm_issuer(softhsm, dev_network, funder):
    """A fresh secp256k1 key made in the token, funded and accredited as a TI."""
    token = Pkcs11Token.open(softhsm.module, softhsm.token, softhsm.pin)
    key = token.generate(f"node-chain-{secrets.token_hex(4)}", HsmKeyKind.SECP256K1)
    assert key.address is not None
    fund_address(funder, key.address)
    w3 = dev_network.chain.web3()
    did = "did:example:hsm-" + key.address[2:10].lower()
    send_as(
        dev_network,
        dev_network.tao,
        dev_network.registry(w3).accredit(key.address, IssuerKind.TI, did, keccak256(b"doc"), "*"),
    )
    return key, did


def test_the_node_anchors_with_its_hsm_chain_key(softhsm, dev_network, hsm_issuer, tmp_path):
    key, did = hsm_issuer
    decoy = Account.create()
    settings = node_settings(
        tmp_path,
        dev_network.chain.rpc_url,
        dev_network.deployment,
        bytes(decoy.key),
        pkcs11_module=softhsm.module,
        pkcs11_token_label=softhsm.token,
        pkcs11_pin=SecretStr(softhsm.pin),
        pkcs11_chain_key_label=key.label,
    )
    node = EmbeddedNode(settings)
    try:
        assert isinstance(node.runtime.account, Pkcs11ChainSigner)
        assert node.runtime.account.address == key.address
        digests = [node.issue(sample_credential(i, issuer_did=did)) for i in range(3)]
        proofs = node.wait_anchored(digests)
    finally:
        node.stop()
    w3 = dev_network.chain.web3()
    for proof in proofs.values():
        assert proof["anchor"]["issuer"] == key.address
        tx = w3.eth.get_transaction(from_hex(proof["anchor"]["txHash"]))
        assert tx["from"] == key.address
    assert w3.eth.get_transaction_count(decoy.address) == 0
