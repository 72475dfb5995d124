"""Issuer-only credential status."""

from __future__ import annotations

from sqlmodel import Session

from node.reads.lookup import _anchor, _load, _not_found, _state, iso
from node.storage.models import CredentialStatus


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
