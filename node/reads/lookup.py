"""Looking a credential up by digest: the shared part of every read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from node.errors import Invalid, NotFound
from node.storage.models import Batch, BatchState, Credential, CredentialStatus, Issuer


@dataclass(frozen=True)
class BatchAnchor:
    """Where a credential's batch was anchored, as the anchorer recorded it."""

    chain_id: int | None
    contract: str | None
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    issuer: str
    anchored_at: int | None  # the anchoring block's timestamp, Unix seconds (as in the bundle)
    confirmed_at: datetime | None  # when this node saw enough confirmations (naive UTC)
    confirmations: int | None


def normalize_digest(digest: str) -> str:
    """Lower-case ``0x`` + 64 hex; raises :class:`Invalid` naming ``path.digest`` otherwise."""
    d = (digest or "").strip()
    if not d.startswith(("0x", "0X")):
        d = "0x" + d
    d = "0x" + d[2:].lower()
    if len(d) != 66 or d[2:].strip("0123456789abcdef"):  # C-speed: a char-by-char check cost ~10 us per proof
        raise Invalid(
            "a digest is 0x followed by 64 hex digits",
            [{"pointer": "", "field": "path.digest", "message": "expected 0x + 64 hex digits"}],
            slug="invalid-digest",
            title="Invalid digest",
        )
    return d


def get_credential(session: Session, digest: str) -> Credential | None:
    return session.exec(select(Credential).where(Credential.digest == normalize_digest(digest))).first()


def not_found(digest: str) -> NotFound:
    return NotFound(
        f"no credential with digest {digest}",
        [{"pointer": "", "field": "path.digest", "message": "unknown digest"}],
    )


def lifecycle_state(cred: Credential, batch: Batch | None) -> str:
    """pending | batched | submitted | anchored | failed (the public lifecycle of one digest)."""
    return lifecycle_state_of(cred.status, batch.state if batch is not None else None)


def lifecycle_state_of(status: str, batch_state: str | None) -> str:
    """:func:`lifecycle_state` from the credential's status and its batch's state (None: no batch)."""
    if status == CredentialStatus.anchored.value:
        return "anchored"
    if batch_state is None:
        return "pending"
    if batch_state in (BatchState.submitted.value, BatchState.failed.value):
        return batch_state
    return "batched"


def batch_anchor(cred: Credential, batch: Batch | None, issuer: Issuer) -> BatchAnchor | None:
    """The anchor of ``cred``'s batch once the credential is anchored; None before."""
    if cred.status != CredentialStatus.anchored.value or batch is None:
        return None
    return BatchAnchor(
        chain_id=batch.chain_id,
        contract=batch.contract_address,
        tx_hash=batch.tx_hash,
        block_number=batch.block_number,
        block_hash=batch.block_hash,
        issuer=issuer.address,
        anchored_at=batch.block_timestamp,
        confirmed_at=batch.confirmed_at,
        confirmations=batch.confirmations,
    )


def load_credential(session: Session, digest: str) -> tuple[Credential, Batch | None, Issuer]:
    """The credential with ``digest``, its batch (if sealed) and its issuer; :class:`NotFound` otherwise."""
    digest = normalize_digest(digest)
    row = session.exec(
        select(Credential, Issuer)
        .join(Issuer, col(Issuer.id) == Credential.issuer_id)
        .where(Credential.digest == digest)
    ).first()
    if row is None:
        raise not_found(digest)
    cred, issuer = row
    batch = session.get(Batch, cred.batch_id) if cred.batch_id is not None else None
    return cred, batch, issuer
