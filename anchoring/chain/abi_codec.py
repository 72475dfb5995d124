"""The Solidity ABI as far as a verifier needs it: call data for static arguments, decoding of return data and
event logs, selectors and EIP-55 addresses.

Written here by hand, although eth-abi and eth-utils do all of it, because importing them costs the standalone
verifier 0.23 s of its start-up (eth-utils imports pydantic) and web3 another 0.6 s. The tests hold it to eth-abi
and eth-utils byte for byte (tests/unit/test_abi_codec.py). Decoding is strict, as eth-abi's is: a value that does
not fit its type, dirty padding or an offset out of range raise :class:`AbiDecodeError`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from anchoring.scheme.encoding import to_checksum_address
from anchoring.scheme.keccak import keccak256

__all__ = [
    "AbiDecodeError",
    "canonical_type",
    "checksum_address",
    "decode",
    "encode_call",
    "is_address",
    "selector",
    "topic_address",
]

_WORD = 32
_ELEMENTARY = re.compile(r"(u?int)(\d*)|address|bool|string|bytes(\d*)")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


class AbiDecodeError(ValueError):
    """Return data or a log that is not a valid encoding of the types asked for."""


# ----------------------------------------------------------------------------------------------- addresses
def is_address(value: object) -> bool:
    """A 0x-prefixed 20-byte hex address, in any case (as eth-utils' ``is_address``: the checksum is not
    checked; :func:`checksum_address` gives the canonical spelling)."""
    return isinstance(value, str) and _ADDRESS.fullmatch(value) is not None


def checksum_address(value: str | bytes) -> str:
    """EIP-55 spelling of an address given as 0x-hex (any case) or as its 20 bytes."""
    if isinstance(value, bytes | bytearray):
        if len(value) != 20:
            raise ValueError(f"an address is 20 bytes, not {len(value)}")
        value = "0x" + bytes(value).hex()
    return to_checksum_address(value)


def topic_address(address: str) -> str:
    """An address as an indexed event argument's topic (left-padded to 32 bytes), for eth_getLogs filters."""
    return "0x" + "00" * 12 + address.lower().removeprefix("0x")


# ----------------------------------------------------------------------------------------------- types
def canonical_type(item: dict[str, Any]) -> str:
    """The canonical type of an ABI input or output (tuples spelt out: ``(uint40,address)[]``)."""
    kind: str = item["type"]
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in item["components"])
        return f"({inner}){kind[5:]}"
    return kind


def selector(signature: str) -> bytes:
    """The first four bytes of keccak256 of a function or error signature: ``name(type,...)``."""
    return keccak256(signature.encode("ascii"))[:4]


@cache
def _parse(kind: str) -> tuple[str, Any]:
    """("tuple", [components]) | ("array", (element, length or None)) | ("elementary", name)."""
    if kind.endswith("]"):
        start = kind.rindex("[")
        size = kind[start + 1 : -1]
        return "array", (kind[:start], int(size) if size else None)
    if kind.startswith("("):
        parts, depth, current = [], 0, ""
        for ch in kind[1:-1]:
            if ch == "," and depth == 0:
                parts.append(current)
                current = ""
                continue
            depth += ch == "("
            depth -= ch == ")"
            current += ch
        if current:
            parts.append(current)
        return "tuple", parts
    if not _ELEMENTARY.fullmatch(kind):
        raise ValueError(f"unsupported ABI type {kind!r}")
    return "elementary", kind


@cache
def _dynamic(kind: str) -> bool:
    form, spec = _parse(kind)
    if form == "tuple":
        return any(_dynamic(c) for c in spec)
    if form == "array":
        return spec[1] is None or _dynamic(spec[0])
    return kind in ("string", "bytes")


@cache
def _head_size(kind: str) -> int:
    if _dynamic(kind):
        return _WORD
    form, spec = _parse(kind)
    if form == "tuple":
        return sum(_head_size(c) for c in spec)
    if form == "array":
        return int(spec[1]) * _head_size(spec[0])
    return _WORD


# ----------------------------------------------------------------------------------------------- encoding
def encode_call(sel: bytes, types: Sequence[str], values: Sequence[Any]) -> bytes:
    """Call data for a function whose arguments are all static elementary types (what the verifier's reads
    take: addresses, bytes32, unsigned integers, booleans)."""
    if len(types) != len(values):
        raise ValueError(f"{len(types)} argument types, {len(values)} values")
    return sel + b"".join(_encode_word(t, v) for t, v in zip(types, values, strict=True))


def _encode_word(kind: str, value: Any) -> bytes:
    if kind == "address":
        if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
            raise ValueError(f"not an address: {value!r}")
        return bytes(12) + bytes.fromhex(value[2:])
    if kind == "bool":
        return int(bool(value)).to_bytes(_WORD, "big")
    match = _ELEMENTARY.fullmatch(kind)
    if match and match.group(1) == "uint":
        bits = int(match.group(2) or 256)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << bits:
            raise ValueError(f"{value!r} is not a {kind}")
        return value.to_bytes(_WORD, "big")
    if match and match.group(3):
        size = int(match.group(3))
        if not isinstance(value, bytes | bytearray) or len(value) != size:
            raise ValueError(f"a {kind} is {size} bytes")
        return bytes(value).ljust(_WORD, b"\0")
    raise ValueError(f"encode_call takes static elementary arguments, not {kind!r}")


# ----------------------------------------------------------------------------------------------- decoding
def decode(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    """The values `data` encodes as the sequence `types`, as eth-abi gives them (tuples and arrays as tuples,
    bytesN and bytes as bytes, strings as str) but for addresses: in EIP-55, as web3 hands them on."""
    return tuple(_decode_sequence(list(types), memoryview(bytes(data)), 0))


def _word(data: memoryview, at: int) -> int:
    if at < 0 or at + _WORD > len(data):
        raise AbiDecodeError(f"the data ends at {len(data)} bytes, a word at {at} was expected")
    return int.from_bytes(data[at : at + _WORD], "big")


def _decode_sequence(types: list[str], data: memoryview, base: int) -> list[Any]:
    out, head = [], base
    for kind in types:
        if _dynamic(kind):
            offset = _word(data, head)
            if offset > len(data):
                raise AbiDecodeError(f"offset {offset} past the end of the data ({len(data)} bytes)")
            out.append(_decode_one(kind, data, base + offset))
        else:
            out.append(_decode_one(kind, data, head))
        head += _head_size(kind)
    return out


def _decode_one(kind: str, data: memoryview, at: int) -> Any:
    form, spec = _parse(kind)
    if form == "tuple":
        return tuple(_decode_sequence(spec, data, at))
    if form == "array":
        element, length = spec
        if length is None:
            length = _word(data, at)
            at += _WORD
            if length * _head_size(element) > len(data) - at:
                raise AbiDecodeError(f"an array of {length} elements does not fit in the data")
        return tuple(_decode_sequence([element] * length, data, at))
    return _decode_elementary(kind, data, at)


def _decode_elementary(kind: str, data: memoryview, at: int) -> Any:
    value = _word(data, at)
    if kind in ("string", "bytes"):
        start, end = at + _WORD, at + _WORD + value
        if end > len(data):
            raise AbiDecodeError(f"a {kind} of {value} bytes does not fit in the data")
        padded = -(-value // _WORD) * _WORD
        if any(data[end : start + padded]):
            raise AbiDecodeError(f"a {kind}'s padding is not zero")
        raw = bytes(data[start:end])
        if kind == "bytes":
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AbiDecodeError(f"a string is not UTF-8: {exc}") from None
    if kind == "address":
        if value >> 160:
            raise AbiDecodeError("an address with dirty high bytes")
        return checksum_address(value.to_bytes(20, "big"))
    if kind == "bool":
        if value > 1:
            raise AbiDecodeError(f"a bool of {value}")
        return bool(value)
    match = _ELEMENTARY.fullmatch(kind)
    assert match is not None  # _parse checked it
    if match.group(3):
        size = int(match.group(3))
        raw = bytes(data[at : at + _WORD])
        if any(raw[size:]):
            raise AbiDecodeError(f"a {kind} with dirty low bytes")
        return raw[:size]
    bits = int(match.group(2) or 256)
    if match.group(1) == "int":
        signed = value - (1 << 256) if value >> 255 else value
        if not -(1 << (bits - 1)) <= signed < 1 << (bits - 1):
            raise AbiDecodeError(f"{signed} does not fit a {kind}")
        return signed
    if value >> bits:
        raise AbiDecodeError(f"{value} does not fit a {kind}")
    return value
