"""Chain errors a caller can act on: unreachable, reverted (with the contract's custom error decoded), timed out."""

from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector

from anchoring.artifacts import CONTRACT_NAMES, abi


class ChainError(Exception):
    """Base class of everything the chain toolkit raises."""


class ChainUnreachable(ChainError):
    """The RPC endpoint did not answer (connection refused, DNS, timeout)."""


class WrongChain(ChainError):
    """The endpoint answers for another chain id than the deployment file names."""


class TransactionTimeout(ChainError):
    """A transaction was not mined, or not confirmed deep enough, in time."""


class NonceConsumed(ChainError):
    """Another transaction took this nonce: the signed transaction can never be mined; sign a new one."""


class TransactionDropped(ChainError):
    """A transaction that was seen is no longer known to the node (dropped or re-orged away)."""


class ContractRevert(ChainError):
    """A call or transaction reverted; `error` is the custom error's name when the ABI knows it."""

    def __init__(self, error: str, params: dict[str, Any] | None = None, raw: bytes = b""):
        self.error = error
        self.params = params or {}
        self.raw = raw
        super().__init__(str(self))

    def __str__(self) -> str:
        if not self.params:
            return self.error
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.params.items())
        return f"{self.error}({shown})"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _canonical_type(item: dict) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return item["type"]


def _error_table() -> dict[bytes, tuple[str, list[str], list[str]]]:
    table = {}
    for contract in CONTRACT_NAMES:
        for item in abi(contract):
            if item["type"] != "error":
                continue
            types = [_canonical_type(i) for i in item["inputs"]]
            selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
            table[selector] = (item["name"], [i["name"] for i in item["inputs"]], types)
    return table


_ERRORS = _error_table()
_ERROR_STRING = function_signature_to_4byte_selector("Error(string)")
_PANIC = function_signature_to_4byte_selector("Panic(uint256)")


def decode_revert(data: bytes | str | None) -> ContractRevert:
    """Turn revert data into a named error (custom errors of our contracts, Error(string), Panic)."""
    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x"))
    data = data or b""
    selector, body = data[:4], data[4:]
    if selector in _ERRORS:
        name, names, types = _ERRORS[selector]
        values = abi_decode(types, body)
        return ContractRevert(name, dict(zip(names, values)), data)
    if selector == _ERROR_STRING:
        return ContractRevert("Error", {"message": abi_decode(["string"], body)[0]}, data)
    if selector == _PANIC:
        return ContractRevert("Panic", {"code": abi_decode(["uint256"], body)[0]}, data)
    if not data:
        return ContractRevert("Reverted without reason", {}, data)
    return ContractRevert("UnknownError", {"data": data}, data)
