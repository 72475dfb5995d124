"""Multikey encoding (W3C Controlled Identifiers 1.0, ``publicKeyMultibase``): a multicodec prefix, then the key,
multibase base58btc (``z`` + base58 with the Bitcoin alphabet).

==========  =======================  =========================  ============
key         multicodec (varint)      key bytes                  multibase
==========  =======================  =========================  ============
Ed25519     ``ed25519-pub`` 0xed     32 (RFC 8032)              ``z6Mk…``
P-256       ``p256-pub`` 0x1200      33 (SEC1 compressed point) ``zDn…``
==========  =======================  =========================  ============

Secret keys use ``ed25519-priv`` 0x1300 / ``p256-priv`` 0x1306 (``secretKeyMultibase``; the vc-di-eddsa test
vectors publish one). base58 is the ``base58`` package; the varint prefixes are written here as four byte
constants (hand-written, instead of the ``multiformats`` package, which pulls in far more than four prefixes).
"""

from __future__ import annotations

from enum import StrEnum

import base58

from anchoring.errors import FormatError

__all__ = [
    "KeyType",
    "decode_multibase",
    "decode_public_multikey",
    "decode_secret_multikey",
    "encode_multibase",
    "encode_public_multikey",
    "encode_secret_multikey",
]


class KeyType(StrEnum):
    """The signing key types credreg supports: Ed25519 (EdDSA, required) and P-256 (ES256, where a profile
    needs it)."""

    ED25519 = "Ed25519"
    P256 = "P-256"


#: multicodec varint prefixes (https://github.com/multiformats/multicodec table.csv)
_PUBLIC = {KeyType.ED25519: b"\xed\x01", KeyType.P256: b"\x80\x24"}
_SECRET = {KeyType.ED25519: b"\x80\x26", KeyType.P256: b"\x86\x26"}
_PUBLIC_LENGTH = {KeyType.ED25519: 32, KeyType.P256: 33}
_SECRET_LENGTH = {KeyType.ED25519: 32, KeyType.P256: 32}


def encode_multibase(data: bytes) -> str:
    """Multibase base58btc: ``"z"`` + base58btc(data)."""
    return "z" + base58.b58encode(bytes(data)).decode("ascii")


def decode_multibase(text: str, field: str = "multibase") -> bytes:
    """The bytes of a multibase base58btc string (``z…``); :class:`FormatError` naming `field` otherwise."""
    if not isinstance(text, str) or not text.startswith("z") or len(text) < 2:
        raise FormatError(field, f"{text!r:.60} is not multibase base58btc (it must start with 'z')")
    try:
        return base58.b58decode(text[1:].encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise FormatError(field, f"{text!r:.60} is not valid base58btc") from None


def encode_public_multikey(key_type: KeyType, public: bytes) -> str:
    """``publicKeyMultibase`` of a raw public key (Ed25519: 32 bytes; P-256: the 33-byte compressed point)."""
    if len(public) != _PUBLIC_LENGTH[key_type]:
        raise ValueError(f"a {key_type.value} public key has {_PUBLIC_LENGTH[key_type]} bytes")
    return encode_multibase(_PUBLIC[key_type] + bytes(public))


def decode_public_multikey(text: str, field: str = "publicKeyMultibase") -> tuple[KeyType, bytes]:
    """(key type, raw public key) of a ``publicKeyMultibase``; FormatError for another codec or length."""
    data = decode_multibase(text, field)
    for key_type, prefix in _PUBLIC.items():
        if data.startswith(prefix):
            raw = data[len(prefix) :]
            if len(raw) != _PUBLIC_LENGTH[key_type]:
                raise FormatError(
                    field,
                    f"a {key_type.value} Multikey holds {_PUBLIC_LENGTH[key_type]} bytes, not {len(raw)}",
                )
            return key_type, raw
    raise FormatError(field, f"{text!r:.60} is not an Ed25519 (z6Mk…) or P-256 (zDn…) public Multikey")


def encode_secret_multikey(key_type: KeyType, secret: bytes) -> str:
    """``secretKeyMultibase`` of a raw secret key (Ed25519 seed or P-256 scalar, 32 bytes)."""
    if len(secret) != _SECRET_LENGTH[key_type]:
        raise ValueError(f"a {key_type.value} secret key has {_SECRET_LENGTH[key_type]} bytes")
    return encode_multibase(_SECRET[key_type] + bytes(secret))


def decode_secret_multikey(text: str, field: str = "secretKeyMultibase") -> tuple[KeyType, bytes]:
    data = decode_multibase(text, field)
    for key_type, prefix in _SECRET.items():
        if data.startswith(prefix) and len(data) == len(prefix) + _SECRET_LENGTH[key_type]:
            return key_type, data[len(prefix) :]
    raise FormatError(field, "not an Ed25519 or P-256 secret Multikey")
