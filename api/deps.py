"""Request dependencies: settings, DB sessions, bearer-token auth with roles, bounded body reading."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from api.errors import problem
from node.auth.tokens import authenticate
from node.settings import Settings
from node.storage.models import TokenRole

__all__ = [
    "Principal",
    "current_principal",
    "get_session",
    "get_settings_dep",
    "media_type",
    "require_role",
]


@dataclass(frozen=True)
class Principal:
    token_id: int
    issuer_id: int
    issuer_name: str
    issuer_address: str
    role: str


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


def _unauthorized(detail: str):
    return problem(401, detail, slug="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="credreg"'},
                   errors=[{"pointer": "", "field": "header.Authorization", "message": detail}])


def current_principal(request: Request) -> Principal:
    """Any valid, unrevoked bearer token. 401 problem otherwise."""
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("missing Authorization: Bearer <token> header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Authorization header must be 'Bearer <token>'")
    with request.app.state.session_factory() as session:
        found = authenticate(session, token.strip())
    if found is None:
        raise _unauthorized("invalid or revoked token")
    tok, issuer = found
    return Principal(tok.id, issuer.id, issuer.name, issuer.address, tok.role)


def require_role(*roles: TokenRole):
    allowed = {r.value for r in roles}

    def dep(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            raise problem(403, f"this token's role '{principal.role}' may not do this (needs {', '.join(sorted(allowed))})",
                          slug="forbidden", errors=[{"pointer": "", "field": "header.Authorization",
                                                     "message": "insufficient role"}])
        return principal

    return dep


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


#: any valid token (issuer or reader role)
AnyToken = Annotated[Principal, Depends(current_principal)]
#: a token with the issuer role (write routes)
IssuerToken = Annotated[Principal, Depends(require_role(TokenRole.issuer))]
