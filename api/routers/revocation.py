"""Issuer-only credential status changes: revoke, suspend, reinstate (single and bulk), accepted (202) into
the persisted queue the revoker sends on chain; plus the status of a request and of a credential."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import AnyToken, IssuerToken, media_type
from api.errors import PROBLEM_JSON, problem
from api.parsing import read_body
from api.schemas import ProblemDetail
from node.revocation.reasons import parse_action, parse_reason
from node.revocation.requests import (
    MAX_DIGESTS_PER_REQUEST,
    credential_revocation,
    request_changes,
    request_summary,
)

router = APIRouter(tags=["revocation"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ProblemDetail, "content": {PROBLEM_JSON: {}}} for code in (400, 401, 403, 404, 409, 413, 415, 422)
}
_SINGLE_BODY = {"content": {"application/json": {"schema": {
    "type": "object", "properties": {"reason": {"type": "string", "example": "keyCompromise"}}}}}, "required": False}
_BULK_BODY = {"content": {"application/json": {"schema": {
    "type": "object", "required": ["action", "digests"],
    "properties": {"action": {"type": "string", "enum": ["revoke", "suspend", "reinstate"]},
                   "reason": {"type": "string"},
                   "digests": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_DIGESTS_PER_REQUEST}}}}},
    "required": True}


async def _json_object(request: Request, required: bool) -> dict:
    body = await read_body(request, 2 * 1024 * 1024)
    if not body.strip():
        if required:
            raise problem(422, "a JSON object body is required", errors=[
                {"pointer": "", "field": "body", "message": "missing body"}])
        return {}
    mt = media_type(request)
    if mt and mt != "application/json" and not mt.endswith("+json"):
        raise problem(415, f"Content-Type {mt} is not supported; send application/json",
                      slug="unsupported-media-type",
                      errors=[{"pointer": "", "field": "header.Content-Type", "message": "expected application/json"}])
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise problem(400, f"the body is not JSON: {exc}", errors=[
            {"pointer": "", "field": "body", "message": "invalid JSON"}]) from None
    if not isinstance(data, dict):
        raise problem(422, "the body must be a JSON object", errors=[
            {"pointer": "", "field": "body", "message": "expected an object"}])
    return data


def _queue(request: Request, issuer_id: int, action: str, reason: int, digests: list, field: str) -> dict:
    with request.app.state.session_factory() as session:
        result = request_changes(session, issuer_id, action, reason, digests, field=field)
    return result.to_dict(request.app.state.settings.public_base_url)


async def _single(request: Request, principal, digest: str, action: str) -> JSONResponse:
    data = await _json_object(request, required=False)
    unknown = set(data) - {"reason"}
    if unknown:
        raise problem(422, f"unknown field {min(unknown)!r}", errors=[
            {"pointer": f"/{k}", "field": k, "message": "unknown field"} for k in sorted(unknown)])
    reason = parse_reason(data.get("reason"), action)
    out = await run_in_threadpool(_queue, request, principal.issuer_id, action, reason, [digest], "path.digest")
    return JSONResponse(out, status_code=202, headers={"Location": out["statusUrl"]})


@router.post("/v1/credentials/{digest}/revoke", status_code=202, responses=_ERRORS,
             openapi_extra={"requestBody": _SINGLE_BODY}, summary="Revoke an anchored credential (final)")
async def revoke(request: Request, digest: str, principal: IssuerToken):
    return await _single(request, principal, digest, "revoke")


@router.post("/v1/credentials/{digest}/suspend", status_code=202, responses=_ERRORS,
             openapi_extra={"requestBody": _SINGLE_BODY}, summary="Suspend an anchored credential")
async def suspend(request: Request, digest: str, principal: IssuerToken):
    return await _single(request, principal, digest, "suspend")


@router.post("/v1/credentials/{digest}/reinstate", status_code=202, responses=_ERRORS,
             openapi_extra={"requestBody": _SINGLE_BODY}, summary="Reinstate a suspended credential")
async def reinstate(request: Request, digest: str, principal: IssuerToken):
    return await _single(request, principal, digest, "reinstate")


@router.post("/v1/revocations", status_code=202, responses=_ERRORS, openapi_extra={"requestBody": _BULK_BODY},
             summary="Revoke, suspend or reinstate many credentials; all or nothing")
async def bulk(request: Request, principal: IssuerToken):
    data = await _json_object(request, required=True)
    unknown = set(data) - {"action", "reason", "digests"}
    if unknown:
        raise problem(422, f"unknown field {min(unknown)!r}", errors=[
            {"pointer": f"/{k}", "field": k, "message": "unknown field"} for k in sorted(unknown)])
    action = parse_action(data.get("action"))
    reason = parse_reason(data.get("reason"), action)
    digests = data.get("digests")
    if not isinstance(digests, list):
        raise problem(422, "digests must be an array of digests", errors=[
            {"pointer": "/digests", "field": "digests", "message": "expected an array"}])
    out = await run_in_threadpool(_queue, request, principal.issuer_id, action, reason, digests, "digests")
    return JSONResponse(out, status_code=202, headers={"Location": out["statusUrl"]})


@router.get("/v1/revocations/{request_id}", responses=_ERRORS, summary="Progress of a status-change request")
def get_request(request: Request, request_id: str, principal: AnyToken):
    with request.app.state.session_factory() as session:
        return request_summary(session, principal.issuer_id, request_id)


@router.get("/v1/credentials/{digest}/revocation", responses=_ERRORS,
            summary="Confirmed and requested status of one of this issuer's credentials")
def get_credential_revocation(request: Request, digest: str, principal: AnyToken):
    with request.app.state.session_factory() as session:
        return credential_revocation(session, principal.issuer_id, digest)
