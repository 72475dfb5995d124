"""Sending transactions robustly: local signing, explicit nonces, EIP-1559 fees where the chain has them,
receipts with a confirmation depth, and reverts decoded into the contracts' custom errors.

Signing and broadcasting are separate steps on purpose: a caller that must survive crashes
(the anchorer) stores the signed transaction's hash and nonce before it broadcasts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import TransactionNotFound
from web3.types import BlockIdentifier, TxParams, TxReceipt

from anchoring.chain.rpc import call_chain
from anchoring.errors import (
    ChainRequestFailed,
    ContractRevert,
    InsufficientFunds,
    NonceConsumed,
    TransactionDropped,
    TransactionTimeout,
)

T = TypeVar("T")

GAS_MARGIN = 1.25  # estimates are exact for the state they ran on; leave room for a changed state


@dataclass(frozen=True)
class SignedTx:
    raw: bytes
    tx_hash: bytes
    nonce: int
    sender: str
    gas: int


@dataclass(frozen=True)
class Confirmation:
    receipt: TxReceipt
    confirmations: int

    @property
    def block_number(self) -> int:
        return self.receipt["blockNumber"]

    @property
    def block_hash(self) -> bytes:
        return bytes(self.receipt["blockHash"])

    @property
    def gas_used(self) -> int:
        return self.receipt["gasUsed"]


class SignedTransactionLike(Protocol):
    """What a signer returns: eth-account's ``SignedTransaction`` has these two (and more)."""

    @property
    def raw_transaction(self) -> bytes: ...

    @property
    def hash(self) -> bytes: ...


class ChainSigner(Protocol):
    """The chain key a sender signs with: an eth-account ``LocalAccount`` (keystore or environment) or an HSM
    key (``node.auth.pkcs11.Pkcs11ChainSigner``). ``sign_transaction`` takes a transaction dict with ``nonce``,
    ``gas``, ``chainId`` and fees filled in and returns the signed, RLP-encoded transaction and its hash."""

    @property
    def address(self) -> ChecksumAddress: ...

    def sign_transaction(self, transaction_dict: dict[str, Any], /) -> SignedTransactionLike: ...


@dataclass(frozen=True)
class FeePolicy:
    """How a sender prices its transactions. The default asks the chain: EIP-1559 fields where the latest block
    has a base fee, a legacy ``gasPrice`` otherwise. ``legacy`` forces a legacy (type 0) transaction; the other
    fields, in wei, replace what the chain suggests (``gas_price`` for legacy, ``max_fee`` / ``priority_fee`` for
    EIP-1559). A permissioned network with a minimum gas price of 0 (Besu, EBSI-like) takes ``gas_price=0``."""

    legacy: bool = False
    gas_price: int | None = None
    max_fee: int | None = None
    priority_fee: int | None = None

    def __post_init__(self) -> None:
        for name in ("gas_price", "max_fee", "priority_fee"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name}: a fee cannot be negative ({value})")
        if self.max_fee is not None and self.priority_fee is not None and self.priority_fee > self.max_fee:
            raise ValueError("priority_fee: above max_fee")


class TransactionSender:
    """Signs with one key (local or in an HSM) and sends to one chain. Not thread-safe; one per key and process."""

    def __init__(
        self, w3: Web3, account: ChainSigner, poll_interval: float = 0.2, fee_policy: FeePolicy | None = None
    ):
        self.w3 = w3
        self.endpoint = getattr(w3.provider, "endpoint_uri", None)
        self.account = account
        self.poll_interval = poll_interval
        self.fee_policy = fee_policy or FeePolicy()
        self._chain_id: int | None = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self._rpc(lambda: self.w3.eth.chain_id)
        return self._chain_id

    def _rpc(self, fn: Callable[[], T]) -> T:
        return call_chain(fn, self.endpoint)

    def next_nonce(self, pending: bool = True) -> int:
        block: BlockIdentifier = "pending" if pending else "latest"
        return self._rpc(lambda: self.w3.eth.get_transaction_count(self.account.address, block))

    def fees(self, latest: Mapping[str, Any] | None = None) -> dict[str, int]:
        """EIP-1559 fee fields when the chain has a base fee, a legacy gas price otherwise."""
        policy = self.fee_policy
        block: Mapping[str, Any] = latest or self._rpc(lambda: self.w3.eth.get_block("latest"))
        base_fee = block.get("baseFeePerGas")
        if base_fee is None or policy.legacy:
            if policy.gas_price is not None:
                return {"gasPrice": policy.gas_price}
            return {"gasPrice": int(self._rpc(lambda: self.w3.eth.gas_price))}
        tip: int
        if policy.priority_fee is not None:
            tip = policy.priority_fee
        else:
            try:
                tip = int(self._rpc(lambda: self.w3.eth.max_priority_fee))
            except ChainRequestFailed:  # endpoints without eth_maxPriorityFeePerGas
                tip = 10**9
        max_fee = policy.max_fee if policy.max_fee is not None else 2 * int(base_fee) + tip
        return {"maxFeePerGas": max_fee, "maxPriorityFeePerGas": min(tip, max_fee)}

    def estimate(self, call: ContractFunction | ContractConstructor) -> int:
        """Gas for `call`, raising ContractRevert (decoded) when it would revert."""
        try:
            return self._rpc(lambda: call.estimate_gas({"from": self.account.address}))
        except ChainRequestFailed as exc:
            if "insufficient funds" not in str(exc).lower():
                raise
            balance = int(self._rpc(lambda: self.w3.eth.get_balance(self.account.address)))
            raise InsufficientFunds(self.account.address, balance, 1, self.chain_id) from None
        except ContractRevert as exc:
            if not exc.raw and isinstance(
                call, ContractFunction
            ):  # some nodes give revert data to eth_call only
                try:
                    self._rpc(lambda: call.call({"from": self.account.address}))
                except ContractRevert as call_exc:
                    raise call_exc from None
            raise

    def sign(
        self,
        call: ContractFunction | ContractConstructor,
        nonce: int | None = None,
        gas: int | None = None,
        fees: dict[str, int] | None = None,
    ) -> SignedTx:
        """Build and sign `call` without sending it."""
        latest: Mapping[str, Any] | None = None
        if gas is None or fees is None:
            latest = self._rpc(lambda: self.w3.eth.get_block("latest"))
        if gas is None:
            assert latest is not None
            estimate = self.estimate(call)
            gas = min(int(estimate * GAS_MARGIN), max(estimate, int(latest["gasLimit"])))
        params: dict[str, Any] = {
            "from": self.account.address,
            "nonce": self.next_nonce() if nonce is None else nonce,
            "gas": gas,
            "chainId": self.chain_id,
            **(fees or self.fees(latest)),
        }
        self.check_funds(gas, params)
        tx = call.build_transaction(cast(TxParams, params))
        signed = self.account.sign_transaction(cast(dict[str, Any], tx))
        return SignedTx(
            bytes(signed.raw_transaction), bytes(signed.hash), int(params["nonce"]), self.account.address, gas
        )

    def check_funds(self, gas: int, params: Mapping[str, Any], value: int = 0) -> None:
        """Raise InsufficientFunds (one line: address, balance, what to do) when the key cannot pay ``gas`` at
        the transaction's highest fee: before anything is written ahead or broadcast, never a node's raw error."""
        price = int(params.get("maxFeePerGas") or params.get("gasPrice") or 0)
        needed = gas * price + value
        if needed == 0:
            return  # a zero-gas-price chain (a permissioned Besu network): nothing to pay
        balance = int(self._rpc(lambda: self.w3.eth.get_balance(self.account.address)))
        if balance < needed:
            raise InsufficientFunds(self.account.address, balance, needed, self.chain_id)

    def broadcast(self, signed: SignedTx) -> None:
        """Send a signed transaction; sending one the node already knows is not an error."""
        try:
            self._rpc(lambda: self.w3.eth.send_raw_transaction(signed.raw))
        except ChainRequestFailed as exc:
            message = str(exc).lower()
            if "already known" in message or "already imported" in message or "known transaction" in message:
                return
            if "insufficient funds" in message:
                balance = int(
                    self._rpc(lambda: self.w3.eth.get_balance(Web3.to_checksum_address(signed.sender)))
                )
                raise InsufficientFunds(signed.sender, balance, signed.gas, self.chain_id) from None
            if "nonce too low" in message or "nonce is too low" in message:
                if self.is_known(signed.tx_hash):
                    return  # it was mined already: a re-broadcast after a crash
                raise NonceConsumed(
                    f"nonce {signed.nonce} of {signed.sender} was used by another transaction"
                ) from exc
            raise

    def receipt(self, tx_hash: bytes) -> TxReceipt | None:
        try:
            return self._rpc(lambda: self.w3.eth.get_transaction_receipt(HexBytes(tx_hash)))
        except TransactionNotFound:
            return None

    def is_known(self, tx_hash: bytes) -> bool:
        """True while the node still has the transaction (pending or mined)."""
        try:
            self._rpc(lambda: self.w3.eth.get_transaction(HexBytes(tx_hash)))
            return True
        except TransactionNotFound:
            return False

    def confirmations(self, receipt: TxReceipt) -> int:
        """Blocks on top of the receipt's block, counting it; 0 when that block left the canonical chain."""
        head = self._rpc(lambda: self.w3.eth.block_number)
        number = receipt["blockNumber"]
        if number > head:
            return 0
        block = self._rpc(lambda: self.w3.eth.get_block(number))
        if bytes(block["hash"]) != bytes(receipt["blockHash"]):
            return 0
        return head - number + 1

    def wait(self, tx_hash: bytes, confirmations: int = 1, timeout: float = 60.0) -> Confirmation:
        """Wait until the transaction is mined `confirmations` deep; raise ContractRevert if it failed."""
        deadline = time.monotonic() + timeout
        while True:
            receipt = self.receipt(tx_hash)
            if receipt is not None:
                if receipt["status"] == 0:
                    raise self.failure_reason(tx_hash, receipt)
                depth = self.confirmations(receipt)
                if depth >= confirmations:
                    return Confirmation(receipt, depth)
            elif not self.is_known(tx_hash):
                raise TransactionDropped(f"transaction 0x{tx_hash.hex()} is unknown to the node")
            if time.monotonic() > deadline:
                state = "mined but not deep enough" if receipt else "not mined"
                raise TransactionTimeout(f"transaction 0x{tx_hash.hex()} {state} after {timeout:.0f}s")
            time.sleep(self.poll_interval)

    def failure_reason(self, tx_hash: bytes, receipt: TxReceipt) -> ContractRevert:
        """Replay a failed transaction at its block to recover the revert reason."""
        tx = self._rpc(lambda: self.w3.eth.get_transaction(HexBytes(tx_hash)))
        call = cast(TxParams, {"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]})
        try:
            self._rpc(lambda: self.w3.eth.call(call, receipt["blockNumber"] - 1))
        except ContractRevert as exc:
            return exc
        if receipt["gasUsed"] >= tx["gas"]:
            return ContractRevert("OutOfGas", {"gas": tx["gas"]})
        return ContractRevert("Reverted without reason", {})

    def transact(
        self, call: ContractFunction | ContractConstructor, confirmations: int = 1, timeout: float = 60.0
    ) -> Confirmation:
        """Sign, send and wait: for one-off operations that need no crash recovery."""
        signed = self.sign(call)
        self.broadcast(signed)
        return self.wait(signed.tx_hash, confirmations, timeout)
