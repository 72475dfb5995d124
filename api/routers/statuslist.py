"""W3C Bitstring Status Lists: the public list credential per issuer and purpose, and the issuer-only
allocation of ``credentialStatus`` entries to embed in a credential before issuing it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from anchoring.statuslist import list_hash
from api.deps import IssuerToken
from api.errors import PROBLEM_JSON, problem
from api.parsing import read_body
from api.schemas import ProblemDetail
from node.revocation.statuslists import (
    PURPOSES,
    StatusListConfig,
    allocate,
    encoded_list,
    find_list,
    list_credential,
)
from node.storage.models import Issuer

router = APIRouter(prefix="/v1/status", tags=["status lists"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ProblemDetail, "content": {PROBLEM_JSON: {}}} for code in (400, 401, 403, 404, 409, 422)
}
_ALLOCATE_BODY = {"content": {"application/json": {"schema": {
    "type": "object", "properties": {"purposes": {"type": "array", "items": {"type": "string", "enum": list(PURPOSES)}}}}}},
    "required": False}


def _config(request: Request) -> StatusListConfig:
    config = getattr(request.app.state, "status_list_config", None)
    if config is None:
        config = request.app.state.status_list_config = StatusListConfig.from_settings(request.app.state.settings)
    return config


def _base_url(request: Request) -> str:
    return request.app.state.settings.public_base_url or str(request.base_url)


@router.post("/allocate", responses=_ERRORS, openapi_extra={"requestBody": _ALLOCATE_BODY},
             summary="Reserve random status-list indexes; returns the credentialStatus entries to embed")
async def allocate_entries(request: Request, principal: IssuerToken):
    body = await read_body(request, 64 * 1024)
    purposes = list(PURPOSES)
    if body.strip():
        try:
            data = json.loads(body)
        except ValueError:
            raise problem(400, "the body is not JSON", errors=[
                {"pointer": "", "field": "body", "message": "invalid JSON"}]) from None
        if not isinstance(data, dict):
            raise problem(422, "the body must be a JSON object", errors=[
                {"pointer": "", "field": "body", "message": "expected an object"}])
        if "purposes" in data:
            purposes = data["purposes"]
            if (not isinstance(purposes, list) or not purposes or len(set(map(str, purposes))) != len(purposes)
                    or any(p not in PURPOSES for p in purposes)):
                raise problem(422, f"purposes must be a non-empty list of distinct values among {list(PURPOSES)}",
                              errors=[{"pointer": "/purposes", "field": "purposes", "message": "invalid purposes"}])

    def run() -> list[dict]:
        with request.app.state.session_factory() as session:
            issuer = session.get(Issuer, principal.issuer_id)
            return allocate(session, issuer, purposes, _base_url(request), _config(request))

    entries = await run_in_threadpool(run)
    return JSONResponse({"credentialStatus": entries}, status_code=201, headers={"Cache-Control": "no-store"})


@router.get("/{issuer_id}/{purpose}", responses=_ERRORS,
            summary="The issuer's BitstringStatusListCredential for a purpose (public)")
def get_list(request: Request, issuer_id: str, purpose: str):
    config = _config(request)
    with request.app.state.session_factory() as session:
        lst, issuer = find_list(session, issuer_id, purpose)
        encoded = encoded_list(session, lst)
        doc = list_credential(lst, issuer, encoded, config)
    etag = f'"{list_hash(encoded).hex()}"'
    headers = {"Cache-Control": f"public, max-age={config.max_age_seconds}", "ETag": etag}
    if lst.published_hash:
        headers["X-Credreg-Published-Hash"] = lst.published_hash
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return JSONResponse(doc, headers=headers, media_type="application/vc+ld+json"
                        if "application/vc" in request.headers.get("accept", "") else "application/json")
