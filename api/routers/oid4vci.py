"""OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow (node.wallet), and the issuer's
credential offers.

Public (the wallet's side): ``/.well-known/openid-credential-issuer``, ``/.well-known/oauth-authorization-server``,
``POST /oid4vci/token`` (form), ``POST /oid4vci/nonce``, ``POST /oid4vci/credential``,
``POST /oid4vci/deferred-credential`` (Bearer access token). Errors there are OAuth error responses
(``application/json`` with ``error`` / ``error_description``, also RFC 9457 members; api/errors.py).
Issuer-only: ``POST /v1/credentials/{digest}/offers``.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import CredentialSignerDep, IssuerToken, SessionDep, SessionFactoryDep, SettingsDep, media_type
from api.errors import problem_responses
from api.parsing import parse_json, read_body
from api.schemas.oid4vci import (
    AuthorizationServerMetadata,
    CredentialIssuerMetadata,
    CredentialResponse,
    NonceResponse,
    OfferCreated,
    OfferRequest,
    TokenResponse,
)
from node.errors import Invalid, Malformed, OAuthError
from node.settings import Settings
from node.wallet import issuance, oauth
from node.wallet.offers import create_offer, qr_svg

router = APIRouter(tags=["OpenID4VCI"])

_NO_STORE = {"Cache-Control": "no-store"}
#: OAuth 2.0 (RFC 6749 §5.2) requires application/json error bodies on these endpoints: error / error_description
#: plus the RFC 9457 members (api/errors.py), documented as what is sent
_OAUTH_ERRORS: dict[int | str, dict] = {
    code: {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
    }
    for code, description in (
        (400, "OAuth error (invalid_request, invalid_grant, ...)"),
        (401, "invalid_token"),
    )
}
_FORM_LIMIT = 16 * 1024
_REQUEST_LIMIT = 64 * 1024


def credential_issuer(request: Request, settings: Settings) -> str:
    """The Credential Issuer Identifier: CREDREG_PUBLIC_BASE_URL, else the URL the request came to."""
    return (settings.public_base_url or str(request.base_url)).rstrip("/")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "dpop":
        raise OAuthError(
            "invalid_token", "DPoP-bound tokens are not issued here; use Bearer", "header.Authorization"
        )
    return token.strip() if scheme.lower() == "bearer" else None


async def _json_body(request: Request) -> object:
    if media_type(request) != "application/json":
        raise OAuthError(
            "invalid_credential_request", "the request body must be application/json", "header.Content-Type"
        )
    body = await read_body(request, _REQUEST_LIMIT)
    try:
        return parse_json(body)
    except Malformed as exc:  # an OAuth error here, not a problem+json one
        raise OAuthError("invalid_credential_request", f"the body is not JSON: {exc}", "body") from None


@router.get(
    "/.well-known/openid-credential-issuer",
    response_model=CredentialIssuerMetadata,
    summary="Credential issuer metadata (OpenID4VCI 1.0 section 12.2)",
)
def issuer_metadata(request: Request, settings: SettingsDep) -> JSONResponse:
    return JSONResponse(issuance.issuer_metadata(credential_issuer(request, settings)))


@router.get(
    "/.well-known/oauth-authorization-server",
    response_model=AuthorizationServerMetadata,
    summary="Authorization server metadata (RFC 8414): the pre-authorized code flow",
)
def authorization_server_metadata(request: Request, settings: SettingsDep) -> JSONResponse:
    return JSONResponse(issuance.authorization_server_metadata(credential_issuer(request, settings)))


@router.post(
    "/oid4vci/token",
    response_model=TokenResponse,
    responses=_OAUTH_ERRORS,
    summary="Token endpoint: a pre-authorized code (and transaction code) for an access token",
)
async def token(request: Request, settings: SettingsDep, factory: SessionFactoryDep) -> JSONResponse:
    if media_type(request) != "application/x-www-form-urlencoded":
        raise OAuthError(
            "invalid_request", "the token request is application/x-www-form-urlencoded", "header.Content-Type"
        )
    body = await read_body(request, _FORM_LIMIT)
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the token request body is not a form", "body") from None
    repeated = [k for k, v in form.items() if len(v) > 1]
    if repeated:
        raise OAuthError("invalid_request", f"parameter {repeated[0]} is repeated", f"body.{repeated[0]}")
    fields = {k: v[0] for k, v in form.items()}
    grant = fields.get("grant_type")
    if grant != oauth.PRE_AUTHORIZED_GRANT:
        raise OAuthError(
            "unsupported_grant_type" if grant else "invalid_request",
            f"grant_type must be {oauth.PRE_AUTHORIZED_GRANT}",
            "body.grant_type",
        )

    def run() -> oauth.IssuedToken:
        with factory() as session:
            return oauth.redeem(session, settings, fields.get("pre-authorized_code"), fields.get("tx_code"))

    issued = await run_in_threadpool(run)
    out = TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)
    return JSONResponse(out.model_dump(), headers=_NO_STORE)


@router.post("/oid4vci/nonce", response_model=NonceResponse, summary="A fresh c_nonce (single use)")
def nonce(session: SessionDep, settings: SettingsDep) -> JSONResponse:
    value, _ = oauth.new_nonce(session, settings)
    return JSONResponse({"c_nonce": value}, headers=_NO_STORE)


def _outcome(outcome: issuance.CredentialOutcome) -> JSONResponse:
    return JSONResponse(outcome.body(), status_code=202 if outcome.transaction_id else 200, headers=_NO_STORE)


@router.post(
    "/oid4vci/credential",
    response_model=CredentialResponse,
    response_model_exclude_none=True,
    responses={**_OAUTH_ERRORS, 202: {"model": CredentialResponse, "description": "deferred"}},
    summary="Credential endpoint: one credential per request, bound to the proof's key",
)
async def credential(
    request: Request, settings: SettingsDep, factory: SessionFactoryDep, signer_for: CredentialSignerDep
) -> JSONResponse:
    bearer = _bearer(request)
    body = await _json_body(request)
    issuer_url = credential_issuer(request, settings)

    def run() -> issuance.CredentialOutcome:
        with factory() as session:
            return issuance.request_credential(
                session,
                settings,
                token=bearer,
                body=body,
                credential_issuer=issuer_url,
                signer_for=signer_for,
            )

    return _outcome(await run_in_threadpool(run))


@router.post(
    "/oid4vci/deferred-credential",
    response_model=CredentialResponse,
    response_model_exclude_none=True,
    responses={**_OAUTH_ERRORS, 202: {"model": CredentialResponse, "description": "still pending"}},
    summary="Deferred credential endpoint: the credential once it is anchored",
)
async def deferred_credential(
    request: Request, settings: SettingsDep, factory: SessionFactoryDep, signer_for: CredentialSignerDep
) -> JSONResponse:
    bearer = _bearer(request)
    body = await _json_body(request)

    def run() -> issuance.CredentialOutcome:
        with factory() as session:
            return issuance.deferred_credential(
                session, settings, token=bearer, body=body, signer_for=signer_for
            )

    return _outcome(await run_in_threadpool(run))


@router.post(
    "/v1/credentials/{digest}/offers",
    status_code=201,
    response_model=OfferCreated,
    response_model_exclude_none=True,
    responses=problem_responses(401, 403, 404, 422),
    tags=["credentials"],
    summary="A credential offer (URI + QR code) for a wallet; the transaction code, when asked, is shown once",
)
async def create_credential_offer(
    digest: str, request: Request, principal: IssuerToken, settings: SettingsDep, factory: SessionFactoryDep
) -> JSONResponse:
    raw = await read_body(request, _FORM_LIMIT)
    try:
        asked = OfferRequest.model_validate(parse_json(raw) if raw.strip() else {})
    except ValueError as exc:
        raise Invalid(
            f"the offer request is invalid: {exc}".splitlines()[0],
            [{"pointer": "", "field": "body", "message": "expected {tx_code?: bool, formats?: [id]}"}],
        ) from None
    issuer_url = credential_issuer(request, settings)

    def run():
        with factory() as session:
            return create_offer(
                session,
                settings,
                issuer_id=principal.issuer_id,
                digest=digest,
                credential_issuer=issuer_url,
                tx_code=asked.tx_code,
                formats=asked.formats,
            )

    made = await run_in_threadpool(run)
    out = OfferCreated(
        offer_uri=made.uri,
        offer=made.offer,
        configurations=made.configurations,
        tx_code=made.tx_code,
        expires_at=made.expires_at,
        qr_svg=qr_svg(made.uri),
    )
    return JSONResponse(
        out.model_dump(by_alias=True, exclude_none=True, mode="json"), status_code=201, headers=_NO_STORE
    )
