"""Public proofs by digest (no personal data)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from anchoring.scheme.encoding import to_hex
from node.reads.lookup import _anchor, _load, _state
from node.storage.models import CredentialStatus
from node.storage.trees import load_tree


def proof_for(session: Session, digest: str) -> dict:
    """Public proof view (no personal data). Raises NotFound for an unknown digest."""
    cred, batch, issuer = _load(session, digest)
    out: dict[str, Any] = {"digest": cred.digest, "state": _state(cred, batch)}
    if batch is not None:
        tree = load_tree(batch)
        out["root"] = batch.root
        out["leafIndex"] = cred.leaf_index
        out["proof"] = [to_hex(h) for h in tree.proof_at(cred.leaf_index)]
        out["batch"] = {"id": batch.id, "size": batch.size, "state": batch.state}
    out["anchor"] = _anchor(batch, issuer) if cred.status == CredentialStatus.anchored.value else None
    return out
