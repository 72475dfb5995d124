"""Real local chains (Anvil, Ganache from the npm packages) as fixtures, funded accounts, and the helpers of tests that send transactions."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction

from anchoring.chain.rpc import call_chain
from anchoring.chain.transactions import Confirmation, TransactionSender
from anchoring.errors import ContractRevert
from node.dev.chains import LocalChain, start_local_chain
from node.dev.network import DevNetwork, bootstrap_dev_network
from tests.helpers.paths import REPO, require


def _network(kind: str) -> tuple[LocalChain, DevNetwork]:
    binary = REPO / "node_modules" / ".bin" / kind
    require(binary.exists(), f"{kind} is not installed (run `npm ci`)")
    chain = start_local_chain(kind)
    try:
        return chain, bootstrap_dev_network(chain)
    except BaseException:
        chain.stop()
        raise


@pytest.fixture(scope="session")
def dev_network():
    """Anvil with both contracts deployed and a dev RootTAO -> TAO -> TI accredited."""
    chain, network = _network("anvil")
    yield network
    chain.stop()


@pytest.fixture(scope="session", params=["anvil", "ganache"])
def any_network(request):
    """The same set-up on Anvil and on Ganache: contract tests must pass on both."""
    if request.param == "anvil":
        yield request.getfixturevalue("dev_network")
        return
    chain, network = _network(request.param)
    yield network
    chain.stop()


@pytest.fixture(scope="session", params=["anvil", "ganache", "hardhat"])
def every_chain(request):
    """The dev set-up on each of the three npm dev chains (Anvil, Ganache, Hardhat Network), for the end-to-end
    tests an alliance must see pass on any EVM chain."""
    if request.param == "anvil":
        yield request.getfixturevalue("dev_network")
        return
    chain, network = _network(request.param)
    yield network
    chain.stop()


@pytest.fixture()
def w3(dev_network) -> Web3:
    return dev_network.chain.web3()


class Funder:
    """Creates fresh funded accounts, so tests that change registry state never disturb each other."""

    def __init__(self, network: DevNetwork):
        self.network = network
        self.w3 = network.chain.web3()
        self.sender = TransactionSender(self.w3, network.chain.accounts[-1])

    def account(self, ether: int = 10) -> LocalAccount:
        fresh = Account.create()
        tx = {
            "to": fresh.address,
            "value": ether * 10**18,
            "gas": 21000,
            "nonce": self.sender.next_nonce(),
            "chainId": self.sender.chain_id,
            **self.sender.fees(),
        }
        signed = self.sender.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        return fresh


@pytest.fixture()
def funder(dev_network) -> Funder:
    return Funder(dev_network)


@pytest.fixture()
def any_funder(any_network) -> Funder:
    return Funder(any_network)


class CrashBeforeBroadcast(TransactionSender):
    """A sender whose process "dies" right after the write-ahead record, before the network sees the
    transaction: for the crash-recovery tests of the anchorer and the revoker."""

    def broadcast(self, signed):
        raise SystemExit("simulated crash before broadcast")


#: gas limit of the tests' transactions. A fixed limit skips eth_estimateGas, which takes Ganache over 100 ms
#: for a registry write; a transaction that reverts still raises ContractRevert (replayed from its receipt).
TX_GAS = 5_000_000


#: gas of a transaction that is sent although it must revert
REFUSED_TX_GAS = 3_000_000


#: local chains mine at once; the default 0.2 s between receipt polls would dominate the run
POLL_INTERVAL = 0.01


def sender(w3: Web3, account: LocalAccount) -> TransactionSender:
    return TransactionSender(w3, account, poll_interval=POLL_INTERVAL)


def send(w3: Web3, account: LocalAccount, call: ContractFunction, gas: int = TX_GAS) -> Confirmation:
    """Sign `call` as `account`, send it and wait for its receipt (status 1, else ContractRevert)."""
    tx = sender(w3, account)
    signed = tx.sign(call, gas=gas)
    tx.broadcast(signed)
    return tx.wait(signed.tx_hash)


def _expect(revert: ContractRevert, error: str, params: dict[str, Any], where: str) -> None:
    assert revert.error == error, f"{where}: expected {error}, got {revert}"
    got = {name: revert.params.get(name) for name in params}
    assert got == params, f"{where}: {revert} does not carry {params}"


def refuses(
    w3: Web3,
    account: LocalAccount,
    call: ContractFunction,
    error: str,
    /,
    gas: int = REFUSED_TX_GAS,
    **params: Any,
) -> ContractRevert:
    """`call` as `account` reverts with the custom error `error` carrying `params` (those named; addresses
    checksummed, enums as ints). Checked twice: on the gas estimate, and on a transaction really sent with a
    fixed gas, which must be mined with status 0 (so the refusal is the chain's, not only eth_call's)."""
    tx = sender(w3, account)
    with pytest.raises(ContractRevert) as estimated:
        tx.estimate(call)
    _expect(estimated.value, error, params, "eth_estimateGas")
    signed = tx.sign(call, gas=gas)
    tx.broadcast(signed)
    with pytest.raises(ContractRevert) as mined:  # wait() raises only for a receipt with status 0
        tx.wait(signed.tx_hash)
    _expect(mined.value, error, params, "mined transaction")
    return estimated.value


def read_refuses(call: ContractFunction, error: str, /, **params: Any) -> ContractRevert:
    """A view `call` reverts with `error` (and `params`)."""
    with pytest.raises(ContractRevert) as info:
        call_chain(call.call)
    _expect(info.value, error, params, "eth_call")
    return info.value


def read(call: ContractFunction) -> Any:
    """A view the typed wrappers do not offer, with reverts decoded."""
    return call_chain(call.call)


def chain_time(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def advance(w3: Web3, seconds: int) -> None:
    """Move the chain clock forward and mine a block (Anvil and Ganache both speak evm_*)."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def block_time(w3: Web3, conf) -> int:
    return int(w3.eth.get_block(conf.block_number)["timestamp"])
