"""keccak256 (the Ethereum variant, *not* NIST SHA3-256): tiny-keccak (Rust, the ``node`` extra; about half the
cost per call) for ``bytes`` where it is installed, safe-pysha3's C implementation otherwise and for other buffers.

`hashlib.sha3_256` uses different padding and gives different results; `Web3.keccak`, `eth_hash` and
pycryptodome are 6-20x slower per call and must stay out of hot loops (tree building, proof folding).
"""

from __future__ import annotations

from collections.abc import Callable

from sha3 import keccak_256 as _keccak_256

_tiny_keccak: Callable[[bytes], bytes] | None
try:
    from tiny_keccak import keccak256 as _tiny_keccak  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # an install without the node extra
    _tiny_keccak = None

__all__ = ["KECCAK_EMPTY", "keccak256"]


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte keccak256 hash of ``data`` (bytes, bytearray or memoryview)."""
    if _tiny_keccak is not None and type(data) is bytes:  # tiny-keccak takes bytes only
        return _tiny_keccak(data)
    digest: bytes = _keccak_256(data).digest()
    return digest


#: keccak256(b"") - a well-known constant, used by the tests as a sanity check of the backend.
KECCAK_EMPTY = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
