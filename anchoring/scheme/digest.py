"""The credential digest: keccak256(salt || JCS(credential)), with a 32-byte random salt."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from anchoring.scheme.jcs import canonicalize
from anchoring.scheme.keccak import keccak256

SALT_LENGTH = 32


DIGEST_LENGTH = 32


def new_salt() -> bytes:
    """32 fresh random bytes from the OS CSPRNG."""
    return secrets.token_bytes(SALT_LENGTH)


def credential_digest(salt: bytes, canonical: bytes) -> bytes:
    """``keccak256(salt || canonical)``; ``salt`` must be exactly 32 bytes."""
    if not isinstance(salt, (bytes, bytearray)) or len(salt) != SALT_LENGTH:
        raise ValueError(f"salt must be {SALT_LENGTH} bytes")
    if not isinstance(canonical, (bytes, bytearray)):
        raise TypeError("canonical must be bytes")
    return keccak256(bytes(salt) + bytes(canonical))


@dataclass(frozen=True, slots=True)
class HashedCredential:
    canonical: bytes
    salt: bytes
    digest: bytes


def hash_credential(credential: dict, salt: bytes | None = None) -> HashedCredential:
    """Canonicalise, salt (fresh salt unless given) and hash a credential."""
    canonical = canonicalize(credential)
    if salt is None:
        salt = new_salt()
    return HashedCredential(canonical=canonical, salt=bytes(salt), digest=credential_digest(salt, canonical))
