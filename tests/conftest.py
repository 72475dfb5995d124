"""Shared fixtures: real local chains (Anvil, Ganache) started from the npm packages, one per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.chain.transactions import TransactionSender
from node.dev.chains import LocalChain, start_local_chain
from node.dev.network import DevNetwork, bootstrap_dev_network

if (Path(__file__).parent / "db_fixtures.py").exists():
    pytest_plugins = ["tests.db_fixtures"]

IN_CI = os.environ.get("CI") == "true"
REPO = Path(__file__).resolve().parent.parent


def require(condition: bool, reason: str) -> None:
    """Skip with a visible reason on a developer machine; fail in CI, where everything must run."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


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
        tx = {"to": fresh.address, "value": ether * 10**18, "gas": 21000, "nonce": self.sender.next_nonce(),
              "chainId": self.sender.chain_id, **self.sender.fees()}
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


def sample_credential(n: int, issuer_did: str = "did:example:dev-university", **extra) -> dict:
    """A small Open Badges 3.0 credential, unique on every call (random id)."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"urn:uuid:test-{os.urandom(8).hex()}-{n}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer_did, "name": "Dev University"},
        "validFrom": "2026-06-30T00:00:00Z",
        "credentialSubject": {"id": f"did:example:learner-{n}", "achievement": {"name": f"Course {n}"}},
        **extra,
    }
