"""A node's public proof of a digest (``GET /v1/proofs/{digest}``) read as an :class:`Inclusion`: shared by the
plain-credential and the SD-JWT VC verifiers."""

from __future__ import annotations

from typing import Any

from anchoring.bundle import Inclusion
from anchoring.errors import FormatError
from anchoring.scheme.encoding import from_hex, is_checksum_address

__all__ = ["inclusion_from_proof"]


def inclusion_from_proof(proof: Any) -> Inclusion | None:
    """An inclusion from a node's proof (the JSON of ``GET /v1/proofs/{digest}``: ``root``, ``proof``,
    ``anchor``), or None when the node says it is not anchored yet. FormatError for a malformed answer."""
    if isinstance(proof, Inclusion):
        return proof
    if not isinstance(proof, dict):
        raise FormatError("proof", "a proof is a JSON object (GET /v1/proofs/{digest})")
    state = proof.get("state", "anchored")
    anchor = proof.get("anchor")
    if state != "anchored" or not isinstance(anchor, dict) or proof.get("root") is None:
        return None
    try:
        root = from_hex(proof["root"])
        path = tuple(from_hex(p) for p in proof.get("proof") or [])
        tx_hash = from_hex(anchor["txHash"])
        fields = {k: anchor[k] for k in ("chainId", "blockNumber", "anchoredAt")}
        contract, issuer = anchor["contract"], anchor["issuer"]
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError("proof", f"not a node proof (root, proof, anchor): {exc}") from None
    if not all(type(v) is int and v >= 0 for v in fields.values()):
        raise FormatError("proof.anchor", "chainId, blockNumber and anchoredAt are integers")
    for name, value in (("contract", contract), ("issuer", issuer)):
        if not is_checksum_address(value):
            raise FormatError(f"proof.anchor.{name}", f"{value!r:.60} is not an EIP-55 address")
    version = anchor.get("contractVersion")
    return Inclusion(
        root=root,
        proof=path,
        chain_id=fields["chainId"],
        contract=contract,
        contract_version=version if isinstance(version, str) and version else None,
        tx_hash=tx_hash,
        block_number=fields["blockNumber"],
        issuer=issuer,
        anchored_at=fields["anchoredAt"],
    )
