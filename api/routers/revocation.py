"""Issuer-only credential status changes: revoke, suspend, reinstate (single and bulk), accepted (202) into
the persisted queue the revoker sends on chain; plus the status of a request and of a credential."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlmodel import Session

from anchoring.scheme.strict_json import LoneSurrogate, TooDeep, strict_loads
from api.deps import AnyToken, IssuerToken, Principal, SessionDep, SessionFactoryDep, SettingsDep, media_type
from api.errors import problem, problem_responses
from api.parsing import read_body, shape_error
from api.schemas.revocation import CredentialRevocationView, RequestProgressView, RevocationAccepted
from node.revocation.reasons import parse_action, parse_reason
from node.revocation.requests import (
    MAX_DIGESTS_PER_REQUEST,
    RequestResult,
    credential_revocation,
    request_changes,
    request_summary,
)

router = APIRouter(tags=["revocation"])

_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 415, 422)
_READ_ERRORS = problem_responses(401, 404, 422)
_SINGLE_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"reason": {"type": "string", "example": "keyCompromise"}},
            }
        }
    },
    "required": False,
}
_BULK_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["action", "digests"],
                "properties": {
                    "action": {"type": "string", "enum": ["revoke", "suspend", "reinstate"]},
                    "reason": {"type": "string"},
                    "digests": {
                        "type": "array",
                        "items": {"type": "string"},
                        "maxItems": MAX_DIGESTS_PER_REQUEST,
                    },
                },
            }
        }
    },
    "required": True,
}


async def _json_object(request: Request, required: bool) -> dict:
    body = await read_body(request, 2 * 1024 * 1024)
    if not body.strip():
        if required:
            raise problem(
                422,
                "a JSON object body is required",
                errors=[{"pointer": "", "field": "body", "message": "missing body"}],
            )
        return {}
    mt = media_type(request)
    if mt and mt != "application/json" and not mt.endswith("+json"):
        raise problem(
            415,
            f"Content-Type {mt} is not supported; send application/json",
            slug="unsupported-media-type",
            errors=[{"pointer": "", "field": "header.Content-Type", "message": "expected application/json"}],
        )
    try:
        data = strict_loads(body)
    except (TooDeep, LoneSurrogate) as exc:
        raise shape_error(exc) or exc from None
    except ValueError as exc:
        raise problem(
            400,
            f"the body is not JSON: {exc}",
            errors=[{"pointer": "", "field": "body", "message": "invalid JSON"}],
        ) from None
    if not isinstance(data, dict):
        raise problem(
            422,
            "the body must be a JSON object",
            errors=[{"pointer": "", "field": "body", "message": "expected an object"}],
        )
    return data


def _unknown_fields(data: dict, allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise problem(
            422,
            f"unknown field {min(unknown)!r}",
            errors=[{"pointer": f"/{k}", "field": k, "message": "unknown field"} for k in sorted(unknown)],
        )


def _queue(
    factory: Callable[[], Session], issuer_id: int, action: str, reason: int, digests: list, field: str
) -> RequestResult:
    with factory() as session:
        return request_changes(session, issuer_id, action, reason, digests, field=field)


def _accepted(result: RequestResult, base_url: str) -> JSONResponse:
    out = RevocationAccepted.of(result, base_url)
    return JSONResponse(out.model_dump(by_alias=True), status_code=202, headers={"Location": out.status_url})


async def _single(
    request: Request, principal: Principal, settings, factory, digest: str, action: str
) -> JSONResponse:
    data = await _json_object(request, required=False)
    _unknown_fields(data, {"reason"})
    reason = parse_reason(data.get("reason"), action)
    result = await run_in_threadpool(
        _queue, factory, principal.issuer_id, action, reason, [digest], "path.digest"
    )
    return _accepted(result, settings.public_base_url)


@router.post(
    "/v1/credentials/{digest}/revoke",
    status_code=202,
    response_model=RevocationAccepted,
    responses=_WRITE_ERRORS,
    openapi_extra={"requestBody": _SINGLE_BODY},
    summary="Revoke an anchored credential (final)",
)
async def revoke(
    request: Request, digest: str, principal: IssuerToken, settings: SettingsDep, factory: SessionFactoryDep
) -> JSONResponse:
    return await _single(request, principal, settings, factory, digest, "revoke")


@router.post(
    "/v1/credentials/{digest}/suspend",
    status_code=202,
    response_model=RevocationAccepted,
    responses=_WRITE_ERRORS,
    openapi_extra={"requestBody": _SINGLE_BODY},
    summary="Suspend an anchored credential",
)
async def suspend(
    request: Request, digest: str, principal: IssuerToken, settings: SettingsDep, factory: SessionFactoryDep
) -> JSONResponse:
    return await _single(request, principal, settings, factory, digest, "suspend")


@router.post(
    "/v1/credentials/{digest}/reinstate",
    status_code=202,
    response_model=RevocationAccepted,
    responses=_WRITE_ERRORS,
    openapi_extra={"requestBody": _SINGLE_BODY},
    summary="Reinstate a suspended credential",
)
async def reinstate(
    request: Request, digest: str, principal: IssuerToken, settings: SettingsDep, factory: SessionFactoryDep
) -> JSONResponse:
    return await _single(request, principal, settings, factory, digest, "reinstate")


@router.post(
    "/v1/revocations",
    status_code=202,
    response_model=RevocationAccepted,
    responses=_WRITE_ERRORS,
    openapi_extra={"requestBody": _BULK_BODY},
    summary="Revoke, suspend or reinstate many credentials; all or nothing",
)
async def bulk(
    request: Request, principal: IssuerToken, settings: SettingsDep, factory: SessionFactoryDep
) -> JSONResponse:
    data = await _json_object(request, required=True)
    _unknown_fields(data, {"action", "reason", "digests"})
    action = parse_action(data.get("action"))
    reason = parse_reason(data.get("reason"), action)
    digests = data.get("digests")
    if not isinstance(digests, list):
        raise problem(
            422,
            "digests must be an array of digests",
            errors=[{"pointer": "/digests", "field": "digests", "message": "expected an array"}],
        )
    result = await run_in_threadpool(_queue, factory, principal.issuer_id, action, reason, digests, "digests")
    return _accepted(result, settings.public_base_url)


@router.get(
    "/v1/revocations/{request_id}",
    response_model=RequestProgressView,
    responses=_READ_ERRORS,
    summary="Progress of a status-change request",
)
def get_request(request_id: str, principal: AnyToken, session: SessionDep) -> RequestProgressView:
    return RequestProgressView.model_validate(request_summary(session, principal.issuer_id, request_id))


@router.get(
    "/v1/credentials/{digest}/revocation",
    response_model=CredentialRevocationView,
    responses=_READ_ERRORS,
    summary="Confirmed and requested status of one of this issuer's credentials",
)
def get_credential_revocation(
    digest: str, principal: AnyToken, session: SessionDep
) -> CredentialRevocationView:
    return CredentialRevocationView.model_validate(
        credential_revocation(session, principal.issuer_id, digest)
    )
