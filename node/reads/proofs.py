"""Public proofs by digest (no personal data)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from anchoring.scheme.encoding import to_hex
from node.reads.lookup import BatchAnchor, batch_anchor, lifecycle_state, load_credential
from node.storage.trees import load_tree


@dataclass(frozen=True)
class BatchRef:
    id: int
    size: int
    state: str


@dataclass(frozen=True)
class Proof:
    """What anyone may know about a digest: its lifecycle state and, once sealed, its inclusion proof."""

    digest: str
    state: str  # pending | batched | submitted | anchored | failed
    root: str | None = None
    leaf_index: int | None = None
    proof: list[str] | None = None  # sibling hashes, leaf upwards (0x hex)
    batch: BatchRef | None = None
    anchor: BatchAnchor | None = None


def proof_for(session: Session, digest: str) -> Proof:
    """Public proof view (no personal data). Raises NotFound for an unknown digest."""
    cred, batch, issuer = load_credential(session, digest)
    if batch is None:
        return Proof(
            digest=cred.digest, state=lifecycle_state(cred, batch), anchor=batch_anchor(cred, batch, issuer)
        )
    tree = load_tree(batch)
    assert cred.leaf_index is not None  # the sealer sets batch_id and leaf_index together
    assert batch.id is not None  # a stored batch
    return Proof(
        digest=cred.digest,
        state=lifecycle_state(cred, batch),
        root=batch.root,
        leaf_index=cred.leaf_index,
        proof=[to_hex(h) for h in tree.proof_at(cred.leaf_index)],
        batch=BatchRef(batch.id, batch.size, batch.state),
        anchor=batch_anchor(cred, batch, issuer),
    )
