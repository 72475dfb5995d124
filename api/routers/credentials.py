"""Issuing credentials (issuer role) and issuer-only reads: status and learner bundles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import AnyToken, IssuerToken, Principal, media_type
from api.errors import PROBLEM_JSON, problem
from api.parsing import parse_json, parse_ndjson, read_body
from api.schemas import Accepted, BulkAccepted, CredentialStatusView, ProblemDetail
from node.issuance.accept import IssueResult, issue_many
from node.reads.bundles import bundle_for
from node.reads.status import credential_status

router = APIRouter(prefix="/v1/credentials", tags=["credentials"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ProblemDetail, "content": {PROBLEM_JSON: {}}} for code in (400, 401, 403, 409, 413, 415, 422)
}
_JSON_TYPES = {"application/json", "application/ld+json", "application/vc+ld+json", "application/vc"}
_NDJSON_TYPES = {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines",
                 "application/jsonlines", "application/json-lines"}
_CRED_BODY = {"content": {"application/json": {"schema": {"type": "object", "description": "the credential"}}},
              "required": True}
_BULK_BODY = {"content": {
    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
    "application/x-ndjson": {"schema": {"type": "string", "description": "one credential JSON object per line"}},
}, "required": True}


def _is_json(mt: str) -> bool:
    return mt in _JSON_TYPES or (mt.startswith("application/") and mt.endswith("+json"))


def _unsupported(mt: str, accepted: str):
    return problem(415, f"Content-Type {mt or '(none)'} is not supported; send {accepted}",
                   slug="unsupported-media-type",
                   errors=[{"pointer": "", "field": "header.Content-Type", "message": f"expected {accepted}"}])


def _status_url(request: Request, digest: str) -> str:
    return f"{request.app.state.settings.public_base_url.rstrip('/')}/v1/credentials/{digest}"


def _profile(request: Request, profile: str | None) -> str | None:
    if profile is None:
        return request.app.state.settings.default_profile
    return None if profile in ("", "none") else profile


def _run_issue(request: Request, principal: Principal, items: list, *, profile: str | None, key: str | None,
               bulk: bool) -> list[IssueResult]:
    s = request.app.state.settings
    with request.app.state.session_factory() as session:
        return issue_many(session, principal.issuer_id, items, max_bytes=s.max_credential_bytes,
                          max_items=s.max_bulk_items if bulk else None, profile=profile,
                          idempotency_key=key, bulk=bulk)


@router.post("", status_code=202, response_model=Accepted, responses=_ERRORS,
             openapi_extra={"requestBody": _CRED_BODY},
             summary="Accept one credential (stored pending, anchored in the next batch)")
async def issue_credential(
    request: Request,
    principal: IssuerToken,
    profile: str | None = Query(None, description="validation profile, e.g. eu-microcredential"),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    mt = media_type(request)
    if not _is_json(mt):
        raise _unsupported(mt, "application/json")
    body = await read_body(request, request.app.state.settings.max_credential_bytes)
    cred = parse_json(body)
    [res] = await run_in_threadpool(_run_issue, request, principal, [cred], profile=_profile(request, profile),
                                    key=idempotency_key, bulk=False)
    out = Accepted(digest=res.digest, status=res.status, statusUrl=_status_url(request, res.digest),
                   created=res.created)
    headers = {"Location": out.statusUrl}
    if not res.created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(out.model_dump(), status_code=202, headers=headers)


@router.post("/bulk", status_code=202, response_model=BulkAccepted, responses=_ERRORS,
             openapi_extra={"requestBody": _BULK_BODY},
             summary="Accept many credentials at once (JSON array or NDJSON); all or nothing")
async def issue_bulk(
    request: Request,
    principal: IssuerToken,
    profile: str | None = Query(None, description="validation profile, e.g. eu-microcredential"),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    mt = media_type(request)
    ndjson = mt in _NDJSON_TYPES
    if not ndjson and not _is_json(mt):
        raise _unsupported(mt, "application/json (an array) or application/x-ndjson")
    body = await read_body(request, request.app.state.settings.max_request_bytes)
    if ndjson:
        items = await run_in_threadpool(parse_ndjson, body)
    else:
        items = await run_in_threadpool(parse_json, body)
        if not isinstance(items, list):
            raise problem(422, "the bulk body must be a JSON array of credential objects (or NDJSON)",
                          slug="invalid-credential", title="Invalid credential",
                          errors=[{"pointer": "", "field": "", "message": "expected a JSON array"}])
    results = await run_in_threadpool(_run_issue, request, principal, items, profile=_profile(request, profile),
                                      key=idempotency_key, bulk=True)
    base = request.app.state.settings.public_base_url.rstrip("/")
    items_out = [{"index": r.index, "digest": r.digest, "status": r.status,
                  "statusUrl": f"{base}/v1/credentials/{r.digest}", "created": r.created} for r in results]
    body_out = {"count": len(results), "created": sum(1 for r in results if r.created),
                "digests": [r.digest for r in results], "items": items_out}
    headers = {} if body_out["created"] else {"Idempotent-Replayed": "true"}
    return JSONResponse(body_out, status_code=202, headers=headers)


def _status(request: Request, digest: str, principal: Principal) -> dict:
    with request.app.state.session_factory() as session:
        return credential_status(session, digest, principal.issuer_id)


@router.get("/{digest}", response_model=CredentialStatusView, responses=_ERRORS,
            summary="Status of one of this issuer's credentials")
def get_status(request: Request, digest: str, principal: AnyToken):
    return _status(request, digest, principal)


@router.get("/{digest}/bundle", responses=_ERRORS,
            summary="The learner's proof bundle (credreg-bundle/1); 409 until anchored")
def get_bundle(request: Request, digest: str, principal: AnyToken):
    with request.app.state.session_factory() as session:
        doc = bundle_for(session, digest, principal.issuer_id)
    return JSONResponse(doc, headers={"Cache-Control": "no-store"})
