"""Looking a credential up by digest: the shared part of every read."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from node.errors import Invalid, NotFound
from node.storage.models import Batch, BatchState, Credential, CredentialStatus, Issuer


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat(timespec="milliseconds") + "Z"


def normalize_digest(digest: str) -> str:
    """Lower-case ``0x`` + 64 hex; raises :class:`Invalid` naming ``path.digest`` otherwise."""
    d = (digest or "").strip()
    if not d.startswith(("0x", "0X")):
        d = "0x" + d
    d = "0x" + d[2:].lower()
    if len(d) != 66 or any(c not in "0123456789abcdef" for c in d[2:]):
        raise Invalid("a digest is 0x followed by 64 hex digits",
                      [{"pointer": "", "field": "path.digest", "message": "expected 0x + 64 hex digits"}],
                      slug="invalid-digest", title="Invalid digest")
    return d


def get_credential(session: Session, digest: str) -> Credential | None:
    return session.exec(select(Credential).where(Credential.digest == normalize_digest(digest))).first()


def _not_found(digest: str) -> NotFound:
    return NotFound(f"no credential with digest {digest}",
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
