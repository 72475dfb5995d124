"""keccak256 (the Ethereum variant, *not* NIST SHA3-256) through the C implementation in safe-pysha3.

`hashlib.sha3_256` uses different padding and gives different results; `Web3.keccak`, `eth_hash` and
pycryptodome are 6-20x slower per call and must stay out of hot loops (tree building, proof folding).
"""

from __future__ import annotations

from sha3 import keccak_256 as _keccak_256

__all__ = ["KECCAK_EMPTY", "keccak256"]


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte keccak256 hash of ``data`` (bytes, bytearray or memoryview)."""
    digest: bytes = _keccak_256(data).digest()
    return digest


#: keccak256(b"") - a well-known constant, used by the tests as a sanity check of the backend.
KECCAK_EMPTY = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
