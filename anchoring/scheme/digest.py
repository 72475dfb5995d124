"""The credential digest: the credential's public identifier, the value hashed into the Merkle tree.

Three rules, named in every bundle (``digestRule``) and documented with vectors in docs/scheme.md:

``salted-jcs``  ``keccak256(salt || JCS(credential))``, a 32-byte random salt: for unsigned credentials, where
                the salt keeps a guessable credential from being confirmed by hashing candidates.
``jcs``         ``keccak256(JCS(credential))``: for a credential that carries its issuer's signature (a Data
                Integrity ``proof``); the signature, unguessable without the issuer's key, does the salt's job,
                and anyone holding the signed credential can compute the digest and look its anchor up.
``compact``     ``keccak256(UTF-8 bytes of the compact serialisation)``: a VC-JWT or SD-JWT exactly as issued.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from anchoring.errors import FormatError
from anchoring.scheme.jcs import canonicalize
from anchoring.scheme.keccak import keccak256

__all__ = [
    "DIGEST_LENGTH",
    "SALT_LENGTH",
    "DigestRule",
    "HashedCredential",
    "credential_digest",
    "digest_of",
    "hash_credential",
    "new_salt",
]

SALT_LENGTH = 32
DIGEST_LENGTH = 32


class DigestRule(StrEnum):
    SALTED_JCS = "salted-jcs"
    JCS = "jcs"
    COMPACT = "compact"


def new_salt() -> bytes:
    """32 fresh random bytes from the OS CSPRNG."""
    return secrets.token_bytes(SALT_LENGTH)


def credential_digest(salt: bytes, canonical: bytes) -> bytes:
    """``keccak256(salt || canonical)`` (rule ``salted-jcs``); ``salt`` must be exactly 32 bytes."""
    if not isinstance(salt, (bytes, bytearray)) or len(salt) != SALT_LENGTH:
        raise ValueError(f"salt must be {SALT_LENGTH} bytes")
    if not isinstance(canonical, (bytes, bytearray)):
        raise TypeError("canonical must be bytes")
    return keccak256(bytes(salt) + bytes(canonical))


def digest_of(
    rule: DigestRule, credential: Any, salt: bytes | None = None, canonical: bytes | None = None
) -> bytes:
    """The digest of `credential` under `rule`; `canonical` may pass JCS(credential) already computed."""
    if rule == DigestRule.COMPACT:
        if not isinstance(credential, str):
            raise FormatError("credential", "rule compact hashes a compact serialisation (a string)")
        return keccak256(credential.encode("utf-8"))
    if not isinstance(credential, dict):
        raise FormatError("credential", f"rule {rule.value} hashes a credential JSON object")
    canonical = canonical if canonical is not None else canonicalize(credential)
    if rule == DigestRule.JCS:
        return keccak256(canonical)
    if salt is None:
        raise FormatError("salt", "rule salted-jcs needs the 32-byte salt")
    return credential_digest(salt, canonical)


@dataclass(frozen=True, slots=True)
class HashedCredential:
    canonical: bytes
    salt: bytes
    digest: bytes


def hash_credential(credential: dict[str, Any], salt: bytes | None = None) -> HashedCredential:
    """Canonicalise, salt (fresh salt unless given) and hash a credential (rule ``salted-jcs``)."""
    canonical = canonicalize(credential)
    if salt is None:
        salt = new_salt()
    return HashedCredential(canonical=canonical, salt=bytes(salt), digest=credential_digest(salt, canonical))
