"""Read side: credential status, public proofs, learner bundles, counts for metrics."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from anchoring.hashing import to_hex

from .batcher import load_tree
from .issuance import Problem
from .models import Batch, BatchState, Credential, CredentialStatus, Issuer

__all__ = [
    "batch_counts",
    "bundle_for",
    "credential_status",
    "get_credential",
    "iso",
    "normalize_digest",
    "pending_count",
    "proof_for",
]


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat(timespec="milliseconds") + "Z"


def normalize_digest(digest: str) -> str:
    """Lower-case ``0x`` + 64 hex; raises a 422 Problem naming ``digest`` otherwise."""
    d = (digest or "").strip()
    if not d.startswith(("0x", "0X")):
        d = "0x" + d
    d = "0x" + d[2:].lower()
    if len(d) != 66 or any(c not in "0123456789abcdef" for c in d[2:]):
        raise Problem(422, "invalid-digest", "Invalid digest", "a digest is 0x followed by 64 hex digits",
                      [{"pointer": "", "field": "path.digest", "message": "expected 0x + 64 hex digits"}])
    return d


def get_credential(session: Session, digest: str) -> Credential | None:
    return session.exec(select(Credential).where(Credential.digest == normalize_digest(digest))).first()


def _not_found(digest: str) -> Problem:
    return Problem(404, "not-found", "Not found", f"no credential with digest {digest}",
                   [{"pointer": "", "field": "path.digest", "message": "unknown digest"}])


def _state(cred: Credential, batch: Batch | None) -> str:
    """pending | batched | submitted | anchored | failed (the public lifecycle of one digest)."""
    if cred.status == CredentialStatus.anchored.value:
        return "anchored"
    if batch is None:
        return "pending"
    if batch.state in (BatchState.submitted.value, BatchState.failed.value):
        return batch.state
    return "batched"


def _anchor(batch: Batch, issuer: Issuer) -> dict:
    return {
        "chainId": batch.chain_id,
        "contract": batch.contract_address,
        "txHash": batch.tx_hash,
        "blockNumber": batch.block_number,
        "blockHash": batch.block_hash,
        "issuer": issuer.address,
        "anchoredAt": batch.block_timestamp,  # block timestamp, Unix seconds (as in the bundle)
        "confirmedAt": iso(batch.confirmed_at),
        "confirmations": batch.confirmations,
    }


def _load(session: Session, digest: str) -> tuple[Credential, Batch | None, Issuer]:
    digest = normalize_digest(digest)
    row = session.exec(
        select(Credential, Issuer).join(Issuer, Issuer.id == Credential.issuer_id).where(Credential.digest == digest)
    ).first()
    if row is None:
        raise _not_found(digest)
    cred, issuer = row
    batch = session.get(Batch, cred.batch_id) if cred.batch_id is not None else None
    return cred, batch, issuer


def proof_for(session: Session, digest: str) -> dict:
    """Public proof view (no personal data). Raises a 404 Problem for an unknown digest."""
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


def credential_status(session: Session, digest: str, issuer_id: int) -> dict:
    """Issuer-only status. Another issuer's digest answers 404 (existence is not disclosed)."""
    cred, batch, issuer = _load(session, digest)
    if cred.issuer_id != issuer_id:
        raise _not_found(cred.digest)
    return {
        "digest": cred.digest,
        "status": cred.status,
        "state": _state(cred, batch),
        "id": cred.external_id,
        "profile": cred.profile,
        "createdAt": iso(cred.created_at),
        "batchId": cred.batch_id,
        "leafIndex": cred.leaf_index,
        "root": batch.root if batch else None,
        "anchoredAt": iso(cred.anchored_at),
        "anchor": _anchor(batch, issuer) if cred.status == CredentialStatus.anchored.value else None,
        "lastError": batch.last_error if batch is not None else None,
    }


def bundle_for(session: Session, digest: str, issuer_id: int) -> dict:
    """The learner's proof bundle (format ``credreg-bundle/1``) once anchored.

    404 for unknown / other issuer's digests, 409 before anchoring."""
    cred, batch, issuer = _load(session, digest)
    if cred.issuer_id != issuer_id:
        raise _not_found(cred.digest)
    if cred.status != CredentialStatus.anchored.value or batch is None:
        raise Problem(409, "not-anchored", "Not yet anchored",
                      f"credential {cred.digest} is not yet anchored (state: {_state(cred, batch)}); a bundle "
                      "exists once its batch is confirmed on chain", [{"pointer": "", "field": "path.digest", "message": "not anchored yet"}])
    tree = load_tree(batch)
    proof = tree.proof_at(cred.leaf_index)
    credential = json.loads(bytes(cred.canonical))
    return _make_bundle(credential=credential, salt=bytes(cred.salt), digest=cred.digest,
                        proof=[to_hex(h) for h in proof], root=batch.root, batch=batch, issuer=issuer)


def _make_bundle(*, credential: dict, salt: bytes, digest: str, proof: list[str], root: str, batch: Batch,
                 issuer: Issuer) -> dict:
    from anchoring.bundle import Anchor, ProofBundle
    from anchoring.hashing import from_hex

    missing = [n for n, v in (("chain_id", batch.chain_id), ("contract_address", batch.contract_address),
                              ("tx_hash", batch.tx_hash), ("block_number", batch.block_number),
                              ("block_timestamp", batch.block_timestamp)) if v is None]
    if missing:
        raise Problem(409, "not-anchored", "Anchor incomplete",
                      f"batch {batch.id} is confirmed but lacks {', '.join(missing)}; cannot build a bundle",
                      [{"pointer": "", "field": "path.digest", "message": "anchor data incomplete"}])
    anchor = Anchor(chain_id=int(batch.chain_id), contract=batch.contract_address, tx_hash=from_hex(batch.tx_hash),
                    block_number=int(batch.block_number), issuer=issuer.address,
                    anchored_at=int(batch.block_timestamp))
    pb = ProofBundle(credential=credential, salt=salt, digest=from_hex(digest),
                     proof=tuple(from_hex(p) for p in proof), root=from_hex(root), anchor=anchor)
    return pb.dump()


def pending_count(session: Session, issuer_id: int | None = None) -> int:
    t = Credential.__table__
    q = sa.select(sa.func.count()).where(t.c.status == CredentialStatus.pending.value)
    if issuer_id is not None:
        q = q.where(t.c.issuer_id == issuer_id)
    return int(session.execute(q).scalar() or 0)


def batch_counts(session: Session) -> dict[str, int]:
    t = Batch.__table__
    return {r[0]: int(r[1]) for r in session.execute(sa.select(t.c.state, sa.func.count()).group_by(t.c.state))}
