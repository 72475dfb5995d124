"""Request dependencies: settings, DB sessions, bearer-token auth with roles.

Handlers take ``SettingsDep`` and ``SessionDep`` (or ``SessionFactoryDep`` when the work runs in a thread of its
own) instead of reaching into ``request.app.state``; write routes take ``IssuerToken``, issuer reads ``AnyToken``.

Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in its thread pool, a
hand-off that cost more than most of them do (three per verify request before).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from anchoring.chain.deployment import Deployment, DeploymentFileError
from anchoring.signing import CredentialSigner
from api.errors import problem
from node.auth.credential_keys import load_credential_signer
from node.auth.tokens import authenticate
from node.errors import Unavailable
from node.settings import Settings
from node.storage.models import Issuer, TokenRole

__all__ = [
    "AnyToken",
    "CredentialSignerDep",
    "EngineDep",
    "IssuerToken",
    "Principal",
    "SessionDep",
    "SessionFactoryDep",
    "SettingsDep",
    "current_principal",
    "get_credential_signer",
    "get_engine",
    "get_session",
    "get_session_factory",
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


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_deployment(request: Request) -> Callable[[], Deployment]:
    """A loader of the node's deployment file (parsed once per change of the file: node.deployment_file; Unavailable
    when it is missing or broken), called only by what needs it, so a 404 or 401 is never hidden behind a
    configuration problem."""
    return lambda: _load_deployment(request)


def _load_deployment(request: Request) -> Deployment:
    try:
        return request.app.state.deployment_file.load()
    except DeploymentFileError as exc:
        raise Unavailable(
            f"this node's deployment file is unusable: {exc}",
            slug="no-deployment",
            title="Deployment unavailable",
        ) from None


async def get_session_factory(request: Request) -> Callable[[], Session]:
    return request.app.state.session_factory


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_session(factory: Annotated[Callable[[], Session], Depends(get_session_factory)]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
    finally:
        session.close()


#: the node's settings
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
#: one database session for the request, closed after it
SessionDep = Annotated[Session, Depends(get_session)]

DeploymentDep = Annotated[Callable[[], Deployment], Depends(get_deployment)]
#: the session factory, for work handed to a thread of its own (``run_in_threadpool``)
SessionFactoryDep = Annotated[Callable[[], Session], Depends(get_session_factory)]
#: the engine, for hot reads on a Core connection (an ORM session costs ~45 us to open and close)
EngineDep = Annotated[Engine, Depends(get_engine)]


def _unauthorized(detail: str):
    return problem(
        401,
        detail,
        slug="unauthorized",
        headers={"WWW-Authenticate": 'Bearer realm="credreg"'},
        errors=[{"pointer": "", "field": "header.Authorization", "message": detail}],
    )


#: declares the bearer scheme in the OpenAPI document (components.securitySchemes + each route's ``security``); the
#: header itself is checked below, so that a missing or bad token is our 401 problem, not FastAPI's 403
bearer_scheme = HTTPBearer(
    scheme_name="issuerToken",
    bearerFormat="crt_...",
    description="An API token (`credreg token create`): role issuer for writes, issuer or reader for reads.",
    auto_error=False,
)


def current_principal(
    request: Request,
    factory: SessionFactoryDep,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
) -> Principal:
    """Any valid, unrevoked bearer token. 401 problem otherwise.

    Looks the token up in a session of its own, closed at once: the handler's session must not start inside a
    read transaction (SQLite cannot upgrade it to a write under concurrency)."""
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("missing Authorization: Bearer <token> header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Authorization header must be 'Bearer <token>'")
    with factory() as session:
        found = authenticate(session, token.strip())
    if found is None:
        raise _unauthorized("invalid or revoked token")
    tok, issuer = found
    assert tok.id is not None and issuer.id is not None  # stored rows
    return Principal(tok.id, issuer.id, issuer.name, issuer.address, tok.role)


def require_role(*roles: TokenRole):
    allowed = {r.value for r in roles}

    async def dep(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            raise problem(
                403,
                f"this token's role '{principal.role}' may not do this (needs {', '.join(sorted(allowed))})",
                slug="forbidden",
                errors=[{"pointer": "", "field": "header.Authorization", "message": "insufficient role"}],
            )
        return principal

    return dep


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


#: any valid token (issuer or reader role)
AnyToken = Annotated[Principal, Depends(current_principal)]
#: a token with the issuer role (write routes)
IssuerToken = Annotated[Principal, Depends(require_role(TokenRole.issuer))]


async def get_credential_signer(request: Request) -> Callable[[Issuer], CredentialSigner]:
    """The issuer's credential signing key as a function of the issuer row: ``node.auth.credential_keys``
    (ConfigurationError, a 503, for an issuer without a key), unless ``app.state.credential_signer`` replaces it."""
    override = getattr(request.app.state, "credential_signer", None)
    if override is not None:
        return override
    settings = request.app.state.settings
    return lambda issuer: load_credential_signer(settings, issuer)


#: the issuer -> CredentialSigner function (node.auth credential keys once configured)
CredentialSignerDep = Annotated[Callable[[Issuer], CredentialSigner], Depends(get_credential_signer)]
