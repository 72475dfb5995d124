"""Issuers and API bearer tokens.

A token is ``crt_`` + 43 url-safe characters (32 random bytes from ``secrets``). Only its SHA-256 is
stored (``ApiToken.token_hash``): with 256 bits of entropy a fast unsalted hash is safe. The first
12 characters (``prefix``) are kept for display and revocation.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlmodel import Session, col, select

from node.storage.models import ApiToken, Issuer, TokenRole, utcnow

__all__ = [
    "TOKEN_PREFIX",
    "IssuerError",
    "NewToken",
    "authenticate",
    "create_issuer",
    "create_token",
    "get_issuer_by_name",
    "get_or_create_issuer",
    "hash_token",
    "list_tokens",
    "normalize_address",
    "revoke_token",
]

TOKEN_PREFIX = "crt_"  # noqa: S105 - a display prefix, not a secret
DISPLAY_PREFIX_LEN = 12
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class IssuerError(ValueError):
    pass


@dataclass(frozen=True)
class NewToken:
    token: str  # the plaintext: shown once, never stored
    record: ApiToken


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalize_address(address: str) -> str:
    """EIP-55 checksum an ``0x`` address; raises IssuerError if malformed."""
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise IssuerError(f"not an 0x-prefixed 20-byte address: {address!r:.60}")
    from eth_utils import to_checksum_address

    return to_checksum_address(address)


def get_issuer_by_name(session: Session, name: str) -> Issuer | None:
    return session.exec(select(Issuer).where(Issuer.name == name)).first()


def create_issuer(session: Session, name: str, address: str, did: str | None = None) -> Issuer:
    """Insert an issuer (flushes, does not commit)."""
    if not name or len(name) > 200:
        raise IssuerError("issuer name must be 1-200 characters")
    issuer = Issuer(name=name, address=normalize_address(address), did=did)
    session.add(issuer)
    session.flush()
    return issuer


def get_or_create_issuer(session: Session, name: str, address: str, did: str | None = None) -> Issuer:
    """The issuer called ``name``; created if missing. Raises IssuerError if it exists with another address."""
    address = normalize_address(address)
    issuer = get_issuer_by_name(session, name)
    if issuer is None:
        issuer = session.exec(select(Issuer).where(Issuer.address == address)).first()
        if issuer is not None:
            raise IssuerError(f"address {address} already belongs to issuer {issuer.name!r}")
        return create_issuer(session, name, address, did)
    if issuer.address != address:
        raise IssuerError(f"issuer {name!r} exists with address {issuer.address}, not {address}")
    if did and not issuer.did:
        issuer.did = did
        session.add(issuer)
    return issuer


def create_token(
    session: Session, issuer_id: int, role: str | TokenRole = TokenRole.issuer, label: str | None = None
) -> NewToken:
    """Create a token for an issuer (flushes, does not commit). Returns the plaintext once."""
    role = TokenRole(role).value
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        issuer_id=issuer_id,
        token_hash=hash_token(token),
        prefix=token[:DISPLAY_PREFIX_LEN],
        role=role,
        label=label,
    )
    session.add(record)
    session.flush()
    return NewToken(token=token, record=record)


def authenticate(session: Session, token: str) -> tuple[ApiToken, Issuer] | None:
    """The live (not revoked) token and its issuer, or None."""
    if not token or len(token) > 200:
        return None
    row = session.exec(
        select(ApiToken, Issuer)
        .join(Issuer, col(Issuer.id) == ApiToken.issuer_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    if row is None or row[0].revoked_at is not None:
        return None
    # constant-time re-check (the index lookup is on the hash, which leaks nothing useful)
    if not secrets.compare_digest(row[0].token_hash, hash_token(token)):  # pragma: no cover
        return None
    return row[0], row[1]


def list_tokens(session: Session, issuer_id: int | None = None) -> list[tuple[ApiToken, Issuer]]:
    q = select(ApiToken, Issuer).join(Issuer, col(Issuer.id) == ApiToken.issuer_id).order_by(col(ApiToken.id))
    if issuer_id is not None:
        q = q.where(ApiToken.issuer_id == issuer_id)
    return list(session.exec(q).all())


def revoke_token(session: Session, token_id_or_prefix: int | str) -> ApiToken | None:
    """Revoke by numeric id, display prefix or the full token. Returns the token, None if not found.
    Revoking twice keeps the first revocation time."""
    q = select(ApiToken)
    if isinstance(token_id_or_prefix, int) or str(token_id_or_prefix).isdigit():
        q = q.where(ApiToken.id == int(token_id_or_prefix))
    elif len(str(token_id_or_prefix)) > DISPLAY_PREFIX_LEN:
        q = q.where(ApiToken.token_hash == hash_token(str(token_id_or_prefix)))
    else:
        q = q.where(ApiToken.prefix == str(token_id_or_prefix))
    rows = session.exec(q).all()
    if len(rows) != 1:
        if len(rows) > 1:
            raise IssuerError(f"prefix {token_id_or_prefix!r} matches {len(rows)} tokens; use the id")
        return None
    tok = rows[0]
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
        session.add(tok)
        session.flush()
    return tok
