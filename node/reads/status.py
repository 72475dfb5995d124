"""Issuer-only credential status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from node.reads.lookup import BatchAnchor, batch_anchor, lifecycle_state, load_credential, not_found


@dataclass(frozen=True)
class CredentialState:
    """Where one of the issuer's credentials stands (times naive UTC)."""

    digest: str
    status: str  # the stored status: pending | batched | anchored
    state: str  # the public lifecycle: pending | batched | submitted | anchored | failed
    external_id: str | None  # the credential's own ``id``
    profile: str | None
    created_at: datetime | None
    batch_id: int | None
    leaf_index: int | None
    root: str | None
    anchored_at: datetime | None
    anchor: BatchAnchor | None
    last_error: str | None  # the batch's last anchoring error (for a failed batch: why it failed)
    error: str | None  # the contract's custom error of that failure (NotActiveIssuer, ...), when a revert


def credential_status(session: Session, digest: str, issuer_id: int) -> CredentialState:
    """Issuer-only status. Another issuer's digest raises NotFound (existence is not disclosed)."""
    cred, batch, issuer = load_credential(session, digest)
    if cred.issuer_id != issuer_id:
        raise not_found(cred.digest)
    return CredentialState(
        digest=cred.digest,
        status=cred.status,
        state=lifecycle_state(cred, batch),
        external_id=cred.external_id,
        profile=cred.profile,
        created_at=cred.created_at,
        batch_id=cred.batch_id,
        leaf_index=cred.leaf_index,
        root=batch.root if batch else None,
        anchored_at=cred.anchored_at,
        anchor=batch_anchor(cred, batch, issuer),
        last_error=batch.last_error if batch is not None else None,
        error=batch.error_code if batch is not None else None,
    )
