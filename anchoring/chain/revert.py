"""Decoding reverts into the contracts' custom errors (names and parameters from the shipped ABIs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from anchoring.chain.abi_codec import AbiDecodeError, canonical_type, selector
from anchoring.chain.abi_codec import decode as abi_decode
from anchoring.chain.artifacts import CONTRACT_NAMES, abi
from anchoring.errors import ContractRevert

if TYPE_CHECKING:  # the verifier's light reader decodes reverts without importing web3
    from web3.exceptions import ContractLogicError


def _error_table() -> dict[bytes, tuple[str, list[str], list[str]]]:
    table = {}
    for contract, major in [(c, m) for m in (1, 2) for c in CONTRACT_NAMES]:  # the current ABI wins a clash
        for item in abi(contract, major):
            if item["type"] != "error":
                continue
            types = [canonical_type(i) for i in item["inputs"]]
            table[selector(f"{item['name']}({','.join(types)})")] = (
                item["name"],
                [i["name"] for i in item["inputs"]],
                types,
            )
    return table


_ERRORS = _error_table()


_ERROR_STRING = selector("Error(string)")


_PANIC = selector("Panic(uint256)")


def decode_revert(data: bytes | str | None) -> ContractRevert:
    """Turn revert data into a named error (custom errors of our contracts, Error(string), Panic); data that
    does not decode as its selector says is an ``UnknownError`` carrying the raw bytes."""
    if isinstance(data, str):
        try:
            data = bytes.fromhex(data.removeprefix("0x"))
        except ValueError:
            return ContractRevert("UnknownError", {"data": data})
    data = data or b""
    head, body = data[:4], data[4:]
    try:
        if head in _ERRORS:
            name, names, types = _ERRORS[head]
            return ContractRevert(name, dict(zip(names, abi_decode(types, body), strict=True)), data)
        if head == _ERROR_STRING:
            return ContractRevert("Error", {"message": abi_decode(["string"], body)[0]}, data)
        if head == _PANIC:
            return ContractRevert("Panic", {"code": abi_decode(["uint256"], body)[0]}, data)
    except AbiDecodeError:
        pass
    if not data:
        return ContractRevert("Reverted without reason", {}, data)
    return ContractRevert("UnknownError", {"data": data}, data)


def revert_data(data: Any) -> str | None:
    """The revert data in a JSON-RPC error's ``data``: nodes disagree on where it goes, a hex string (Anvil,
    Geth, Besu) or an object with "data" or "result" (Ganache's eth_estimateGas)."""
    if isinstance(data, dict):
        data = data.get("data") or data.get("result")
    return data if isinstance(data, str) and len(data) > 2 else None


def revert_from(exc: ContractLogicError) -> ContractRevert:
    """The ContractRevert behind a web3 exception raised by a call or a gas estimate."""
    data = revert_data(exc.data)
    if data is not None:
        return decode_revert(data)
    return ContractRevert("Error", {"message": exc.message or str(exc)})
