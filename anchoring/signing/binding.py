"""Key binding: does the key that signed a credential belong to the trusted issuer that anchored it?

The registry pins issuer keys (IssuerRegistry 2: ``addVerificationKey(account, keyHash)`` by the issuer's
accreditor or a RootTAO, ``revokeVerificationKey``), with ``keyHash = keccak256(UTF-8 bytes of the key's
publicKeyMultibase)`` (:func:`~anchoring.signing.keys.key_hash`). A signature is bound when the key its
proof names is registered for the *anchoring* address and was valid at the *anchoring block*: added in or
before it and not revoked in or before it (``KeyRecord.valid_at_block``). A key revoked after the anchoring
keeps the credentials anchored before valid: the anchor proves they were signed while the key was good.

The chain is the only authority here: where the key material came from (did:key, a bundle's
``verificationMethods``, a did:web document) does not matter once its hash is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from anchoring.scheme.encoding import to_hex
from anchoring.signing.keys import PublicKey, key_hash

if TYPE_CHECKING:
    from anchoring.chain.records import KeyRecord

__all__ = ["BOUND", "NOT_REGISTERED", "NOT_YET_VALID", "REVOKED", "KeyBinding", "check_key_binding"]

BOUND, NOT_REGISTERED, NOT_YET_VALID, REVOKED = "bound", "not-registered", "not-yet-valid", "revoked"

#: (issuer address, key hash) -> the registry's record of that key, or None when never added
KeyLookup = Callable[[str, bytes], "KeyRecord | None"]


@dataclass(frozen=True)
class KeyBinding:
    state: str  # bound | not-registered | not-yet-valid | revoked
    reason: str
    key_hash: bytes
    issuer: str
    block: int
    record: KeyRecord | None = None

    @property
    def bound(self) -> bool:
        return self.state == BOUND

    def details(self) -> dict[str, object]:
        out: dict[str, object] = {
            "key_hash": to_hex(self.key_hash),
            "binding": self.state,
            "at_block": self.block,
        }
        if self.record is not None:
            out["key_added_block"] = self.record.added_block
            if self.record.revoked_block:
                out["key_revoked_block"] = self.record.revoked_block
        return out


def check_key_binding(lookup: KeyLookup, issuer_address: str, key: PublicKey | str, block: int) -> KeyBinding:
    """Is `key` (a PublicKey or its publicKeyMultibase) registered for `issuer_address` and valid at `block`?

    `lookup` reads the registry, e.g. ``lambda acct, h: chain.verification_key(contracts, acct, h)`` with a
    :class:`~anchoring.verify.context.ChainContext`, or ``IssuerRegistry.verification_key``. ChainErrors
    from it propagate (the caller reports ``error``: the question could not be asked)."""
    multibase = key.multibase if isinstance(key, PublicKey) else PublicKey.from_multibase(key).multibase
    digest = key_hash(multibase)
    record = lookup(issuer_address, digest)
    if record is None:
        return KeyBinding(
            NOT_REGISTERED,
            f"key {multibase} (hash {to_hex(digest)}) is not registered for {issuer_address} in the IssuerRegistry",
            digest,
            issuer_address,
            block,
        )
    if record.valid_at_block(block):
        later = f"; revoked later, in block {record.revoked_block}" if record.revoked_block else ""
        return KeyBinding(
            BOUND,
            f"key {multibase} is registered for {issuer_address} since block {record.added_block}{later}",
            digest,
            issuer_address,
            block,
            record,
        )
    if record.added_block > block:
        return KeyBinding(
            NOT_YET_VALID,
            f"key {multibase} was registered for {issuer_address} in block {record.added_block}, after block {block}",
            digest,
            issuer_address,
            block,
            record,
        )
    return KeyBinding(
        REVOKED,
        f"key {multibase} of {issuer_address} was revoked in block {record.revoked_block}, at or before block {block}",
        digest,
        issuer_address,
        block,
        record,
    )
