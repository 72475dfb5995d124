"""The authorization-server side of the pre-authorized code flow, and ``c_nonce`` values.

Every secret is 256 bits from ``secrets.token_urlsafe`` and stored as ``sha256`` hex only. A transaction code
(6 digits, sent to the learner apart from the offer) is stored as ``sha256(code ":" tx_code)``: bound to its
offer, and limited to ``oid4vci_tx_code_attempts`` wrong tries, after which the offer is spent. Redeeming and
spending are one conditional UPDATE each (``... WHERE redeemed_at IS NULL``), so two concurrent requests with
the same code or nonce cannot both succeed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from node.errors import OAuthError
from node.settings import Settings
from node.storage.models import utcnow
from node.storage.wallet_tables import WalletNonce, WalletOffer, WalletToken

__all__ = [
    "PRE_AUTHORIZED_GRANT",
    "IssuedToken",
    "authenticate",
    "hash_secret",
    "new_nonce",
    "new_secret",
    "redeem",
    "spend_nonce",
    "tx_code_hash",
]

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def tx_code_hash(code: str, tx_code: str) -> str:
    return hash_secret(f"{code}:{tx_code}")


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


def redeem(session: Session, settings: Settings, code: str | None, tx_code: str | None) -> IssuedToken:
    """Exchange a pre-authorized code (and its transaction code, when the offer has one) for an access token.
    ``invalid_request`` / ``invalid_grant`` OAuthError otherwise; the code works once."""
    if not code:
        raise OAuthError("invalid_request", "pre-authorized_code is missing", "body.pre-authorized_code")
    offer = session.exec(select(WalletOffer).where(WalletOffer.code_hash == hash_secret(code))).first()
    now = utcnow()
    if offer is None:
        raise OAuthError("invalid_grant", "unknown pre-authorized code", "body.pre-authorized_code")
    if offer.redeemed_at is not None:
        raise OAuthError(
            "invalid_grant", "the pre-authorized code was already used", "body.pre-authorized_code"
        )
    if offer.expires_at <= now:
        raise OAuthError("invalid_grant", "the credential offer has expired", "body.pre-authorized_code")
    if offer.tx_code_hash is None and tx_code:
        raise OAuthError(
            "invalid_request", "this offer has no transaction code; do not send tx_code", "body.tx_code"
        )
    if offer.tx_code_hash is not None and not hmac.compare_digest(
        offer.tx_code_hash, tx_code_hash(code, tx_code or "")
    ):
        spent = offer.failed_attempts + 1 >= settings.oid4vci_tx_code_attempts
        session.execute(
            sa.update(WalletOffer)
            .where(col(WalletOffer.id) == offer.id)
            .values(
                failed_attempts=WalletOffer.failed_attempts + 1,
                **({"redeemed_at": now} if spent else {}),
            )
        )
        session.commit()
        raise OAuthError(
            "invalid_grant",
            "wrong transaction code"
            + ("; the offer is spent, ask the issuer for a new one" if spent else ""),
            "body.tx_code",
        )
    done = session.execute(
        sa.update(WalletOffer)
        .where(col(WalletOffer.id) == offer.id, col(WalletOffer.redeemed_at).is_(None))
        .values(redeemed_at=now)
    )
    if getattr(done, "rowcount", 0) != 1:
        session.rollback()
        raise OAuthError(
            "invalid_grant", "the pre-authorized code was already used", "body.pre-authorized_code"
        )
    token = new_secret()
    assert offer.id is not None
    session.add(
        WalletToken(
            offer_id=offer.id,
            token_hash=hash_secret(token),
            expires_at=now + timedelta(seconds=settings.oid4vci_token_ttl_seconds),
        )
    )
    session.commit()
    return IssuedToken(token, settings.oid4vci_token_ttl_seconds)


def authenticate(session: Session, token: str | None) -> tuple[WalletToken, WalletOffer]:
    """The access token's row and its offer; ``invalid_token`` (401) when missing, unknown or expired."""
    if not token:
        raise OAuthError(
            "invalid_token", "missing Authorization: Bearer <access token>", "header.Authorization"
        )
    row = session.exec(
        select(WalletToken, WalletOffer)
        .join(WalletOffer, col(WalletOffer.id) == WalletToken.offer_id)
        .where(WalletToken.token_hash == hash_secret(token))
    ).first()
    if row is None:
        raise OAuthError("invalid_token", "unknown access token", "header.Authorization")
    if row[0].expires_at <= utcnow():
        raise OAuthError("invalid_token", "the access token has expired", "header.Authorization")
    return row[0], row[1]


def new_nonce(session: Session, settings: Settings) -> tuple[str, int]:
    """A fresh ``c_nonce`` and its lifetime in seconds."""
    nonce = new_secret()
    now = utcnow()
    session.add(
        WalletNonce(
            nonce_hash=hash_secret(nonce),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.oid4vci_nonce_ttl_seconds),
        )
    )
    # expired nonces are of no use to anyone: drop them as new ones are made
    session.execute(sa.delete(WalletNonce).where(col(WalletNonce.expires_at) < now - timedelta(hours=1)))
    session.commit()
    return nonce, settings.oid4vci_nonce_ttl_seconds


def spend_nonce(session: Session, nonce: object) -> None:
    """Use up `nonce` (one proof per nonce); ``invalid_nonce`` when it is missing, unknown, stale or used."""
    if not isinstance(nonce, str) or not nonce:
        raise OAuthError(
            "invalid_nonce",
            "the proof carries no nonce; get a c_nonce from the nonce endpoint",
            "body.proofs.jwt",
        )
    done = session.execute(
        sa.update(WalletNonce)
        .where(
            col(WalletNonce.nonce_hash) == hash_secret(nonce),
            col(WalletNonce.used_at).is_(None),
            col(WalletNonce.expires_at) > utcnow(),
        )
        .values(used_at=utcnow())
    )
    if getattr(done, "rowcount", 0) != 1:
        session.rollback()
        raise OAuthError(
            "invalid_nonce",
            "the proof's nonce is unknown, expired or already used; get a fresh c_nonce",
            "body.proofs.jwt",
        )
    session.commit()
