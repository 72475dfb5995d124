"""What every bundle format version holds, as the verifier reads it: the credential, how its digest is computed,
and one inclusion per anchoring (a joint credential is anchored by each co-issuer in its own namespace)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Inclusion"]


@dataclass(frozen=True, slots=True)
class Inclusion:
    """The digest's leaf under one anchored root: the Merkle proof, and where and by whom the root was anchored."""

    root: bytes
    proof: tuple[bytes, ...]
    chain_id: int
    contract: str  # CredentialAnchor address, EIP-55
    contract_version: str | None  # None in format 1 (the deployment file says)
    tx_hash: bytes
    block_number: int
    issuer: str  # the address that anchored the root (the record's namespace), EIP-55
    anchored_at: int  # block.timestamp of the anchoring block, Unix seconds UTC
