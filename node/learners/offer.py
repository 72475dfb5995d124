"""What a share link offers the learner, in one place: the credential (as the node stores it; the node's signed VC
once issuance signs), its human content, its status in words, the issuer's registry name, the proof bundle once
anchored, and the PDF. The share page, the downloads, the PDF and the e-mail all read an :class:`Offer`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from anchoring.chain.deployment import Deployment
from anchoring.reasons import reason_name, reason_words
from node.learners.human import HumanView, human_view
from node.learners.links import ResolvedLink
from node.reads.bundles import bundle_for
from node.reads.lookup import lifecycle_state
from node.registry.accreditation import organisation_name
from node.registry.index import get_index_issuer
from node.storage.models import CredentialStatus
from node.storage.revocation_tables import CredentialStatusState

__all__ = ["Offer", "credential_document", "offer_bundle", "offer_for"]

#: the media type of the offered credential: the node stores a JSON(-LD) VC
CREDENTIAL_MEDIA_TYPE = "application/vc+ld+json"


@dataclass(frozen=True)
class Offer:
    digest: str
    credential: dict[str, Any]
    human: HumanView
    issuer_name: str  # the registry's name (accreditation document), else the node's name for the issuer
    issuer_address: str
    issuer_did: str | None
    state: str  # pending | batched | submitted | anchored | failed
    status: str  # valid | suspended | revoked (as confirmed on chain)
    status_reason: str | None  # the reason's name (academicMisconduct), None while valid
    status_reason_text: str | None  # the reason in words
    status_changed_at: datetime | None
    anchored_at: datetime | None
    expires_at: datetime | None  # the share link's expiry

    @property
    def anchored(self) -> bool:
        return self.state == CredentialStatus.anchored.value

    @property
    def status_words(self) -> str:
        if self.status == "valid":
            return "valid" if self.anchored else f"valid, not yet anchored ({self.state})"
        return f"{self.status}: {self.status_reason_text}" if self.status_reason_text else self.status


def offer_for(session: Session, found: ResolvedLink) -> Offer:
    cred, batch, issuer = found.credential, found.batch, found.issuer
    indexed = get_index_issuer(session, issuer.address)
    registry_name = organisation_name(session, issuer.address, indexed.document_hash if indexed else None)
    state_row = session.get(CredentialStatusState, cred.id)
    status, code, changed = "valid", None, None
    if state_row is not None and state_row.confirmed != "valid":
        status, code, changed = state_row.confirmed, state_row.confirmed_reason, state_row.confirmed_at
    credential = json.loads(bytes(cred.canonical))
    return Offer(
        digest=cred.digest,
        credential=credential,
        human=human_view(credential),
        issuer_name=registry_name or issuer.name,
        issuer_address=issuer.address,
        issuer_did=(indexed.did if indexed is not None else None) or issuer.did,
        state=lifecycle_state(cred, batch),
        status=status,
        status_reason=reason_name(code),
        status_reason_text=reason_words(code),
        status_changed_at=changed,
        anchored_at=cred.anchored_at,
        expires_at=found.link.expires_at,
    )


def credential_document(offer: Offer) -> bytes:
    """The credential to download (for a wallet): the stored VC as JSON."""
    return json.dumps(offer.credential, indent=2, ensure_ascii=False).encode("utf-8")


def offer_bundle(
    session: Session, found: ResolvedLink, deployment: Callable[[], Deployment]
) -> dict[str, Any]:
    """The proof bundle (Conflict until anchored)."""
    return bundle_for(session, found.credential.digest, found.credential.issuer_id, deployment)
