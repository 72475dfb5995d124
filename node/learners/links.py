"""Share links: an unguessable capability URL per credential (``/s/<token>``), made by the issuer at issuance or
later, revocable, with an optional expiry.

The token is 32 random bytes from ``secrets`` (url-safe base64, 43 characters); only its SHA-256 is stored, as for
API tokens (``node.auth.tokens``): with 256 bits of entropy a fast unsalted hash leaves nothing to brute-force.
Whoever holds the URL sees the credential, so nothing about it is public without the token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from node.errors import Gone, Invalid, NotFound
from node.reads.lookup import load_credential, not_found
from node.storage.learner_tables import ShareLink
from node.storage.models import Batch, Credential, Issuer, utcnow

__all__ = [
    "MAX_TTL",
    "NewShareLink",
    "ResolvedLink",
    "create_share_link",
    "list_share_links",
    "resolve_share_link",
    "revoke_share_link",
    "share_path",
]

#: the longest expiry a link may be given (ten years); None = no expiry
MAX_TTL = timedelta(days=3650)
_TOKEN_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class NewShareLink:
    token: str  # the plaintext: shown once, never stored
    record: ShareLink


@dataclass(frozen=True)
class ResolvedLink:
    link: ShareLink
    credential: Credential
    batch: Batch | None
    issuer: Issuer


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def share_path(token: str) -> str:
    """The link's path on the node (``/s/<token>``); prefix it with the node's public base URL."""
    return f"/s/{token}"


def _expiry(expires_at: datetime | None, ttl: timedelta | None, now: datetime) -> datetime | None:
    if expires_at is not None and ttl is not None:
        raise Invalid(
            "give an expiry time or a lifetime, not both",
            [{"pointer": "/expiresInDays", "field": "expiresInDays", "message": "not with expiresAt"}],
        )
    if ttl is not None:
        if ttl <= timedelta(0) or ttl > MAX_TTL:
            raise Invalid(
                f"a share link lives between 1 day and {MAX_TTL.days} days",
                [{"pointer": "/expiresInDays", "field": "expiresInDays", "message": "out of range"}],
            )
        return now + ttl
    if expires_at is not None:
        if expires_at.tzinfo is not None:
            expires_at = expires_at.astimezone(UTC).replace(tzinfo=None)
        if expires_at <= now or expires_at - now > MAX_TTL:
            raise Invalid(
                f"expiresAt must lie in the future, at most {MAX_TTL.days} days ahead",
                [{"pointer": "/expiresAt", "field": "expiresAt", "message": "in the past or too far ahead"}],
            )
    return expires_at


def create_share_link(
    session: Session,
    digest: str,
    issuer_id: int,
    *,
    expires_at: datetime | None = None,
    ttl: timedelta | None = None,
    label: str | None = None,
) -> NewShareLink:
    """A new share link for one of the issuer's credentials (NotFound for another issuer's digest). Caller commits."""
    cred, _batch, _issuer = load_credential(session, digest)
    if cred.issuer_id != issuer_id:
        raise not_found(cred.digest)
    if label is not None and len(label) > 200:
        raise Invalid(
            "a label has at most 200 characters",
            [{"pointer": "/label", "field": "label", "message": "too long"}],
        )
    now = utcnow()
    token = secrets.token_urlsafe(32)
    assert cred.id is not None
    record = ShareLink(
        credential_id=cred.id,
        token_hash=_hash(token),
        label=label,
        created_at=now,
        expires_at=_expiry(expires_at, ttl, now),
    )
    session.add(record)
    session.flush()
    return NewShareLink(token, record)


def list_share_links(session: Session, digest: str, issuer_id: int) -> list[ShareLink]:
    cred, _batch, _issuer = load_credential(session, digest)
    if cred.issuer_id != issuer_id:
        raise not_found(cred.digest)
    return list(
        session.exec(select(ShareLink).where(ShareLink.credential_id == cred.id).order_by(col(ShareLink.id)))
    )


def revoke_share_link(session: Session, digest: str, link_id: int, issuer_id: int) -> ShareLink:
    """End a link for good (idempotent: a revoked link stays revoked at its first time). Caller commits."""
    cred, _batch, _issuer = load_credential(session, digest)
    link = session.get(ShareLink, link_id)
    if cred.issuer_id != issuer_id or link is None or link.credential_id != cred.id:
        raise NotFound(
            f"no share link {link_id} for credential {cred.digest}",
            [{"pointer": "", "field": "path.link_id", "message": "unknown share link"}],
        )
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        session.add(link)
        session.flush()
    return link


def resolve_share_link(session: Session, token: str) -> ResolvedLink:
    """The credential behind a token: NotFound for an unknown token, Gone for a revoked or expired link."""
    if not (20 <= len(token) <= 100) or not set(token) <= _TOKEN_CHARS:
        raise NotFound("no such share link", [{"pointer": "", "field": "path.token", "message": "unknown"}])
    link = session.exec(select(ShareLink).where(ShareLink.token_hash == _hash(token))).first()
    if link is None:
        raise NotFound("no such share link", [{"pointer": "", "field": "path.token", "message": "unknown"}])
    if link.revoked_at is not None:
        raise Gone(
            "this share link was withdrawn by the issuer",
            [{"pointer": "", "field": "path.token", "message": "revoked"}],
            slug="share-link-revoked",
            title="Share link withdrawn",
        )
    if link.expires_at is not None and link.expires_at <= utcnow():
        raise Gone(
            "this share link has expired",
            [{"pointer": "", "field": "path.token", "message": "expired"}],
            slug="share-link-expired",
            title="Share link expired",
        )
    cred = session.get(Credential, link.credential_id)
    assert cred is not None  # foreign key
    cred, batch, issuer = load_credential(session, cred.digest)
    return ResolvedLink(link, cred, batch, issuer)
