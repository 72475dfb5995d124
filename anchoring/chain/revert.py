"""Decoding reverts into the contracts' custom errors (names and parameters from the shipped ABIs)."""

from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from web3.exceptions import ContractLogicError

from anchoring.chain.artifacts import CONTRACT_NAMES, abi
from anchoring.errors import ContractRevert


def _canonical_type(item: dict[str, Any]) -> str:
    kind: str = item["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in item["components"])
        return f"({inner}){kind[5:]}"
    return kind


def _error_table() -> dict[bytes, tuple[str, list[str], list[str]]]:
    table = {}
    for contract, major in [(c, m) for m in (1, 2) for c in CONTRACT_NAMES]:  # the current ABI wins a clash
        for item in abi(contract, major):
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
        values = [
            to_checksum_address(v) if t == "address" else v
            for t, v in zip(types, abi_decode(types, body), strict=False)
        ]
        return ContractRevert(name, dict(zip(names, values, strict=False)), data)
    if selector == _ERROR_STRING:
        return ContractRevert("Error", {"message": abi_decode(["string"], body)[0]}, data)
    if selector == _PANIC:
        return ContractRevert("Panic", {"code": abi_decode(["uint256"], body)[0]}, data)
    if not data:
        return ContractRevert("Reverted without reason", {}, data)
    return ContractRevert("UnknownError", {"data": data}, data)


def _revert_data(exc: ContractLogicError) -> str | None:
    # Nodes disagree on where revert data goes: a hex string (Anvil, Geth, Besu) or an object
    # with "data" or "result" (Ganache's eth_estimateGas).
    data = exc.data
    if isinstance(data, dict):
        data = data.get("data") or data.get("result")
    return data if isinstance(data, str) and len(data) > 2 else None


def revert_from(exc: ContractLogicError) -> ContractRevert:
    """The ContractRevert behind a web3 exception raised by a call or a gas estimate."""
    data = _revert_data(exc)
    if data is not None:
        return decode_revert(data)
    return ContractRevert("Error", {"message": exc.message or str(exc)})
