"""Credential offers: one per call, for one of the issuer's credentials, as an ``openid-credential-offer://``
URI and a QR code of it (``segno``).

The offer is made by the issuer (an issuer token), which hands the URI / QR to the learner (share page, PDF,
mail) and, when asked for one, the transaction code by a second channel. The pre-authorized code in the offer
expires after ``oid4vci_offer_ttl_seconds`` and works once.
"""

from __future__ import annotations

import io
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import segno
from sqlmodel import Session

from node.auth.credential_keys import can_sign
from node.errors import Invalid
from node.reads.lookup import load_credential, not_found
from node.settings import Settings
from node.storage.models import utcnow
from node.storage.wallet_tables import WalletOffer
from node.wallet.issuance import configurations_for, stored_form
from node.wallet.oauth import PRE_AUTHORIZED_GRANT, hash_secret, new_secret, tx_code_hash

__all__ = ["OFFER_SCHEME", "CreatedOffer", "create_offer", "qr_png", "qr_svg"]

OFFER_SCHEME = "openid-credential-offer://"
TX_CODE_LENGTH = 6


@dataclass(frozen=True)
class CreatedOffer:
    offer: dict[str, Any]
    uri: str
    tx_code: str | None
    expires_at: datetime
    configurations: list[str]


def create_offer(
    session: Session,
    settings: Settings,
    *,
    issuer_id: int,
    digest: str,
    credential_issuer: str,
    tx_code: bool = False,
    formats: list[str] | None = None,
) -> CreatedOffer:
    """A new offer of the credential `digest` (NotFound unless it is `issuer_id`'s); `formats` narrows the
    credential configuration ids offered (Invalid for one the credential cannot be issued as)."""
    cred, _, issuer = load_credential(session, digest)
    if cred.issuer_id != issuer_id:
        raise not_found(cred.digest)
    available = configurations_for(stored_form(cred), signs=can_sign(issuer))
    chosen = available if not formats else list(dict.fromkeys(formats))
    if not available:
        raise Invalid(
            "this credential is stored unsigned and its issuer has no credential-signing key: there is no form "
            "a wallet could verify (configure the issuer's key, docs/scheme.md section 8.7)",
            [{"pointer": "", "field": "path.digest", "message": "nothing to offer"}],
            slug="invalid-offer",
            title="Invalid offer",
        )
    unknown = [f for f in chosen if f not in available]
    if unknown or not chosen:
        raise Invalid(
            f"this credential can be offered as {', '.join(available)}; not {', '.join(unknown) or 'nothing'}",
            [{"pointer": "/formats", "field": "body.formats", "message": "unknown credential configuration"}],
            slug="invalid-offer",
            title="Invalid offer",
        )
    code = new_secret()
    pin = "".join(secrets.choice("0123456789") for _ in range(TX_CODE_LENGTH)) if tx_code else None
    expires = utcnow() + timedelta(seconds=settings.oid4vci_offer_ttl_seconds)
    assert cred.id is not None
    session.add(
        WalletOffer(
            issuer_id=issuer_id,
            credential_id=cred.id,
            code_hash=hash_secret(code),
            tx_code_hash=tx_code_hash(code, pin) if pin else None,
            configurations=" ".join(chosen),
            expires_at=expires,
        )
    )
    session.commit()
    grant: dict[str, Any] = {"pre-authorized_code": code}
    if pin:
        grant["tx_code"] = {
            "length": TX_CODE_LENGTH,
            "input_mode": "numeric",
            "description": "the code your university sent you apart from this offer",
        }
    offer = {
        "credential_issuer": credential_issuer,
        "credential_configuration_ids": chosen,
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    }
    uri = OFFER_SCHEME + "?credential_offer=" + quote(json.dumps(offer, separators=(",", ":")), safe="")
    return CreatedOffer(offer, uri, pin, expires, chosen)


def qr_svg(uri: str) -> str:
    """The QR code of `uri` as an SVG document (error correction M)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, border=4, xmldecl=False)
    return out.getvalue().decode("utf-8")


def qr_png(uri: str, scale: int = 6) -> bytes:
    """The QR code of `uri` as a PNG."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
