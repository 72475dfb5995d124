"""The transaction layer against real chains: fees, nonces, confirmations, reverts, unreachable and wrong chains."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from eth_account import Account

from anchoring.chain.deployment import Deployment, DeploymentFileError
from anchoring.chain.rpc import connect
from anchoring.chain.transactions import TransactionSender
from anchoring.errors import (
    ChainUnreachable,
    ContractRevert,
    TransactionDropped,
    TransactionTimeout,
    WrongChain,
)
from node.dev.chains import find_binary, free_port

pytestmark = pytest.mark.chain


def test_unreachable_rpc_is_reported_as_such():
    with pytest.raises(ChainUnreachable, match="cannot reach"):
        connect(f"http://127.0.0.1:{free_port()}", timeout=2)


def test_wrong_chain_is_refused(dev_network):
    wrong = Deployment(
        dev_network.deployment.chain_id + 1,
        dev_network.deployment.issuer_registry,
        dev_network.deployment.credential_anchor,
        0,
    )
    with pytest.raises(WrongChain):
        connect(dev_network.chain.rpc_url, deployment=wrong)


def test_eip1559_fees_on_anvil(dev_network, w3):
    fees = TransactionSender(w3, dev_network.issuer).fees()
    assert set(fees) == {"maxFeePerGas", "maxPriorityFeePerGas"}
    assert fees["maxFeePerGas"] >= fees["maxPriorityFeePerGas"] > 0


def test_legacy_fees_before_london():
    """Chains without a base fee (pre-London, some permissioned networks) get a legacy gas price."""
    port = free_port()
    process = subprocess.Popen(
        [find_binary("anvil"), "--port", str(port), "--hardfork", "berlin", "--silent"]
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                w3 = connect(f"http://127.0.0.1:{port}", timeout=1)
                break
            except ChainUnreachable:
                assert time.monotonic() < deadline, "anvil did not start"
                time.sleep(0.1)
        assert set(TransactionSender(w3, Account.create()).fees()) == {"gasPrice"}
    finally:
        process.terminate()
        process.wait()


def test_sign_then_broadcast_keeps_hash_and_nonce(dev_network, funder):
    w3 = funder.w3
    sender = TransactionSender(w3, dev_network.issuer)
    anchor = dev_network.anchor(w3)
    nonce = sender.next_nonce()
    signed = sender.sign(anchor.anchor(os.urandom(32), 5), nonce=nonce)
    assert signed.nonce == nonce and len(signed.tx_hash) == 32
    sender.broadcast(signed)
    sender.broadcast(signed)  # re-broadcast after a crash is harmless
    confirmation = sender.wait(signed.tx_hash, confirmations=1, timeout=30)
    assert bytes(confirmation.receipt["transactionHash"]) == signed.tx_hash
    assert sender.next_nonce() == nonce + 1


def test_confirmation_depth_waits_for_blocks(dev_network, funder):
    w3 = funder.w3
    sender = TransactionSender(w3, dev_network.issuer)
    signed = sender.sign(dev_network.anchor(w3).anchor(os.urandom(32), 5))
    sender.broadcast(signed)
    with pytest.raises(TransactionTimeout, match="not deep enough"):
        sender.wait(signed.tx_hash, confirmations=3, timeout=1)
    w3.provider.make_request("anvil_mine", [2])
    assert sender.wait(signed.tx_hash, confirmations=3, timeout=5).confirmations >= 3


def test_reorged_receipt_counts_zero_confirmations(dev_network, funder):
    w3 = funder.w3
    sender = TransactionSender(w3, dev_network.issuer)
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    signed = sender.sign(dev_network.anchor(w3).anchor(os.urandom(32), 5))
    sender.broadcast(signed)
    receipt = sender.wait(signed.tx_hash).receipt
    w3.provider.make_request("evm_revert", [snapshot])
    w3.provider.make_request("anvil_mine", [3])  # another history of the same height and more
    assert sender.confirmations(receipt) == 0
    assert sender.receipt(signed.tx_hash) is None
    with pytest.raises(TransactionDropped):
        sender.wait(signed.tx_hash, timeout=2)


def test_revert_reason_of_a_mined_transaction(dev_network, funder):
    w3 = funder.w3
    outsider = funder.account()
    sender = TransactionSender(w3, outsider)
    signed = sender.sign(dev_network.anchor(w3).anchor(os.urandom(32), 5), gas=200_000)
    sender.broadcast(signed)
    with pytest.raises(ContractRevert) as info:
        sender.wait(signed.tx_hash)
    assert info.value.error == "NotActiveIssuer"
    assert info.value.params["caller"].lower() == outsider.address.lower()


def test_deployment_file_round_trip_and_errors(tmp_path, dev_network):
    path = tmp_path / "deployment.json"
    dev_network.deployment.save(path)
    assert Deployment.load(path) == dev_network.deployment
    path.write_text(
        '{"chain_id": 1, "issuer_registry": "0x12", "credential_anchor": "0x12", "deployment_block": 0}'
    )
    with pytest.raises(DeploymentFileError, match="issuer_registry"):
        Deployment.load(path)
    with pytest.raises(DeploymentFileError, match="not found"):
        Deployment.load(tmp_path / "missing.json")
