"""Helpers of the contract tests: send as an account, expect a custom error, read the chain clock."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction

from anchoring.chain.rpc import call_chain
from anchoring.chain.transactions import Confirmation, TransactionSender
from anchoring.errors import ContractRevert

#: gas of a transaction that is sent although it must revert (no estimate is possible)
REFUSED_TX_GAS = 3_000_000


def send(w3: Web3, account: LocalAccount, call: ContractFunction) -> Confirmation:
    """Sign `call` as `account`, send it and wait for its receipt (status 1)."""
    return TransactionSender(w3, account).transact(call)


def _expect(revert: ContractRevert, error: str, params: dict[str, Any], where: str) -> None:
    assert revert.error == error, f"{where}: expected {error}, got {revert}"
    got = {name: revert.params.get(name) for name in params}
    assert got == params, f"{where}: {revert} does not carry {params}"


def refuses(w3: Web3, account: LocalAccount, call: ContractFunction, error: str, /,
            gas: int = REFUSED_TX_GAS, **params: Any) -> ContractRevert:
    """`call` as `account` reverts with the custom error `error` carrying `params` (those named; addresses
    checksummed, enums as ints). Checked twice: on the gas estimate, and on a transaction really sent with a
    fixed gas, which must be mined with status 0 (so the refusal is the chain's, not only eth_call's)."""
    sender = TransactionSender(w3, account)
    with pytest.raises(ContractRevert) as estimated:
        sender.estimate(call)
    _expect(estimated.value, error, params, "eth_estimateGas")
    signed = sender.sign(call, gas=gas)
    sender.broadcast(signed)
    with pytest.raises(ContractRevert) as mined:
        sender.wait(signed.tx_hash)
    receipt = sender.receipt(signed.tx_hash)
    assert receipt is not None and receipt["status"] == 0
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
