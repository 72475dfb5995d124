"""Hex at the edges (bytes inside) and EIP-55 checksummed addresses."""

from __future__ import annotations

import re
from typing import Any

from anchoring.scheme.keccak import keccak256


def to_hex(data: bytes) -> str:
    """``0x``-prefixed lower-case hex."""
    return "0x" + bytes(data).hex()


_HEX = re.compile(r"0x[0-9a-fA-F]*")  # with fullmatch: "$" would accept a trailing newline


def from_hex(text: str, length: int | None = 32) -> bytes:
    """Parse ``0x``-prefixed hex; require exactly ``length`` bytes unless ``length`` is None.

    Accepts upper or lower case digits, rejects a missing prefix, odd length and whitespace.
    """
    if not isinstance(text, str) or not _HEX.fullmatch(text) or len(text) % 2:
        raise ValueError(f"expected 0x-prefixed hex, got {text!r:.80}")
    data = bytes.fromhex(text[2:])
    if length is not None and len(data) != length:
        raise ValueError(f"expected {length} bytes of hex, got {len(data)}")
    return data


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")  # use with fullmatch


def to_checksum_address(address: str) -> str:
    """EIP-55 checksum form of a 20-byte hex address."""
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise ValueError(f"not a 20-byte 0x-hex address: {address!r:.60}")
    lower = address[2:].lower()
    h = keccak256(lower.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(h[i], 16) >= 8 else c for i, c in enumerate(lower))


def is_checksum_address(address: Any) -> bool:
    try:
        return bool(to_checksum_address(address) == address)
    except ValueError:
        return False
