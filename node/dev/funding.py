"""Funding keys on a local dev chain (Anvil, Ganache, Hardhat Network) through their balance-setting RPC methods.

Only dev chains answer these methods; any other chain refuses them, and :func:`fund` says so in one line
(there, send the key ether from a funded account instead).
"""

from __future__ import annotations

from web3 import Web3

from anchoring.chain.rpc import call_chain
from node.dev.chains import DevChainError

__all__ = ["DEFAULT_FUNDING_WEI", "fund"]

#: what `credreg chain fund` and `credreg issuer add` give a dev key: years of anchoring on a dev chain
DEFAULT_FUNDING_WEI = 100 * 10**18

# Anvil answers the first two, Hardhat Network the second, Ganache the third
_METHODS = ("anvil_setBalance", "hardhat_setBalance", "evm_setAccountBalance")


def fund(w3: Web3, address: str, amount_wei: int = DEFAULT_FUNDING_WEI) -> int:
    """Add `amount_wei` to `address` on a dev chain; returns the new balance in wei."""
    if amount_wei <= 0:
        raise ValueError(f"amount: must be positive, got {amount_wei} wei")
    address = Web3.to_checksum_address(address)
    balance = int(call_chain(lambda: w3.eth.get_balance(address)))
    target = hex(balance + amount_wei)
    for method in _METHODS:
        answer = _request(w3, method, [address, target])
        if "error" not in answer:
            new = int(call_chain(lambda: w3.eth.get_balance(address)))
            if new == balance + amount_wei:
                return new
    raise DevChainError(
        f"the chain does not let balances be set ({', '.join(_METHODS)} refused): it is not a dev chain; "
        f"send {address} ether from a funded account instead"
    )


def _request(w3: Web3, method: str, params: list) -> dict:
    def ask() -> dict:
        return dict(w3.provider.make_request(method, params))  # type: ignore[arg-type]

    return call_chain(ask)
