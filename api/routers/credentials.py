"""Issuing credentials (issuer role) and issuer-only reads: status and learner bundles."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlmodel import Session

from anchoring.signing import envelope
from api.deps import (
    AnyToken,
    DeploymentDep,
    IssuerToken,
    SessionDep,
    SessionFactoryDep,
    SettingsDep,
    media_type,
)
from api.errors import problem, problem_responses
from api.parsing import parse_json, parse_ndjson, read_body
from api.routers.learners import make_share_link
from api.schemas.credentials import (
    Accepted,
    BulkAccepted,
    BulkItem,
    CredentialStatusView,
    PlainCredential,
    ProofBundle,
)
from api.schemas.learners import NewShareLinkRequest
from node.auth.tenants import require_usable_key
from node.errors import Invalid
from node.issuance.accept import IssueResult, issue_many
from node.issuance.signing import Issuing
from node.reads.bundles import bundle_for, plain_vc_for
from node.reads.status import credential_status
from node.revocation.statuslists import StatusListConfig, allocate_many
from node.settings import Settings
from node.storage.models import Issuer

router = APIRouter(prefix="/v1/credentials", tags=["credentials"])

_WRITE_ERRORS = problem_responses(400, 401, 403, 409, 413, 415, 422)
_READ_ERRORS = problem_responses(401, 404, 422)
_JSON_TYPES = {"application/json", "application/ld+json", "application/vc+ld+json", "application/vc"}
_NDJSON_TYPES = {
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
    "application/jsonlines",
    "application/json-lines",
}
_CRED_BODY = {
    "content": {"application/json": {"schema": {"type": "object", "description": "the credential"}}},
    "required": True,
}
_BULK_BODY = {
    "content": {
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        "application/x-ndjson": {
            "schema": {"type": "string", "description": "one credential JSON object per line"}
        },
    },
    "required": True,
}


def _is_json(mt: str) -> bool:
    return mt in _JSON_TYPES or (mt.startswith("application/") and mt.endswith("+json"))


def _unsupported(mt: str, accepted: str):
    return problem(
        415,
        f"Content-Type {mt or '(none)'} is not supported; send {accepted}",
        slug="unsupported-media-type",
        errors=[{"pointer": "", "field": "header.Content-Type", "message": f"expected {accepted}"}],
    )


def _status_url(settings: Settings, digest: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/v1/credentials/{digest}"


def _reports(res: IssueResult) -> dict[str, Any]:
    """The profile report and the seal of an accepted credential, only when there are any (omitted otherwise)."""
    out: dict[str, Any] = {}
    if res.profile is not None:
        out["profile"] = res.profile
    if res.seal is not None:
        out["seal"] = res.seal
    return out


_PROOF_HELP = (
    "the issuer's signature: eddsa-jcs-2022 (default unless the issuer sets another), eddsa-rdfc-2022, vc-jwt "
    "(EdDSA) or vc-jwt-es256 (the issuer's P-256 key); the anchored digest covers the signed credential"
)


def _profile(settings: Settings, profile: str | None) -> str | None:
    if profile is None:
        return settings.default_profile
    return None if profile in ("", "none") else profile


def _run_issue(
    factory: Callable[[], Session],
    settings: Settings,
    issuer_id: int,
    items: list,
    *,
    profile: str | None,
    key: str | None,
    bulk: bool,
    proof: str | None = None,
    base_url: str = "",
) -> list[IssueResult]:
    with factory() as session:
        require_usable_key(session, issuer_id, settings)  # never accept what this node could not anchor
        issuer = session.get(Issuer, issuer_id)
        assert issuer is not None  # the token's issuer
        issuing = Issuing.for_issuer(settings, issuer, proof)
        if issuing.proof is not None and len(items) <= (settings.max_bulk_items if bulk else 1):
            # every credential the node signs carries revocation + suspension entries (random indexes)
            wanted = sum(1 for item in items if Issuing.needs_status(item))
            issuing.status_entries = allocate_many(
                session, issuer, wanted, base_url, StatusListConfig.from_settings(settings)
            )
        return issue_many(
            session,
            issuer_id,
            items,
            max_bytes=settings.max_credential_bytes,
            max_items=settings.max_bulk_items if bulk else None,
            profile=profile,
            idempotency_key=key,
            bulk=bulk,
            issuing=issuing,
        )


@router.post(
    "",
    status_code=202,
    response_model=Accepted,
    response_model_exclude_unset=True,
    responses=_WRITE_ERRORS,
    openapi_extra={"requestBody": _CRED_BODY},
    summary="Accept one credential (stored pending, anchored in the next batch)",
)
async def issue_credential(
    request: Request,
    response: Response,
    principal: IssuerToken,
    settings: SettingsDep,
    factory: SessionFactoryDep,
    profile: str | None = Query(None, description="validation profile, e.g. eu-microcredential"),
    proof: str | None = Query(None, description=_PROOF_HELP),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
    share_link: bool = Query(False, description="also make a share link for the learner (in shareLink)"),
) -> Accepted:
    mt = media_type(request)
    if not _is_json(mt):
        raise _unsupported(mt, "application/json")
    body = await read_body(request, settings.max_credential_bytes, "CREDREG_MAX_CREDENTIAL_BYTES")
    cred = parse_json(body)
    [res] = await run_in_threadpool(
        _run_issue,
        factory,
        settings,
        principal.issuer_id,
        [cred],
        profile=_profile(settings, profile),
        key=idempotency_key,
        bulk=False,
        proof=proof,
        base_url=settings.public_base_url or str(request.base_url),
    )
    out = Accepted(
        digest=res.digest,
        status=res.status,
        status_url=_status_url(settings, res.digest),
        created=res.created,
        **_reports(res),
    )
    if share_link:
        with factory() as session:
            out.share_link = make_share_link(
                session, settings, request, res.digest, principal.issuer_id, NewShareLinkRequest()
            )
    response.headers["Location"] = out.status_url
    if not res.created:
        response.headers["Idempotent-Replayed"] = "true"
    return out


@router.post(
    "/bulk",
    status_code=202,
    response_model=BulkAccepted,
    responses=_WRITE_ERRORS,
    openapi_extra={"requestBody": _BULK_BODY},
    summary="Accept many credentials at once (JSON array or NDJSON); all or nothing",
)
async def issue_bulk(
    request: Request,
    principal: IssuerToken,
    settings: SettingsDep,
    factory: SessionFactoryDep,
    profile: str | None = Query(None, description="validation profile, e.g. eu-microcredential"),
    proof: str | None = Query(None, description=_PROOF_HELP),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> JSONResponse:
    mt = media_type(request)
    ndjson = mt in _NDJSON_TYPES
    if not ndjson and not _is_json(mt):
        raise _unsupported(mt, "application/json (an array) or application/x-ndjson")
    body = await read_body(request, settings.max_request_bytes, "CREDREG_MAX_REQUEST_BYTES")
    if ndjson:
        items = await run_in_threadpool(parse_ndjson, body)
    else:
        items = await run_in_threadpool(
            partial(parse_json, max_values=settings.max_json_values, setting="CREDREG_MAX_JSON_VALUES"), body
        )
        if not isinstance(items, list):
            raise Invalid(
                "the bulk body must be a JSON array of credential objects (or NDJSON)",
                [{"pointer": "", "field": "", "message": "expected a JSON array"}],
                slug="invalid-credential",
                title="Invalid credential",
            )
    results = await run_in_threadpool(
        _run_issue,
        factory,
        settings,
        principal.issuer_id,
        items,
        profile=_profile(settings, profile),
        key=idempotency_key,
        bulk=True,
        proof=proof,
        base_url=settings.public_base_url or str(request.base_url),
    )
    out = BulkAccepted(
        count=len(results),
        created=sum(1 for r in results if r.created),
        digests=[r.digest for r in results],
        items=[
            BulkItem(
                index=r.index,
                digest=r.digest,
                status=r.status,
                status_url=_status_url(settings, r.digest),
                created=r.created,
                **({"seal": r.seal} if r.seal is not None else {}),
            )
            for r in results
        ],
    )
    headers = {} if out.created else {"Idempotent-Replayed": "true"}
    # up to max_bulk_items items: serialise once, here, rather than validate the model again on the way out
    return JSONResponse(out.model_dump(by_alias=True, exclude_unset=True), status_code=202, headers=headers)


@router.get(
    "/{digest}",
    response_model=CredentialStatusView,
    responses=_READ_ERRORS,
    summary="Status of one of this issuer's credentials",
)
def get_status(digest: str, principal: AnyToken, session: SessionDep) -> CredentialStatusView:
    return CredentialStatusView.model_validate(credential_status(session, digest, principal.issuer_id))


@router.get(
    "/{digest}/bundle",
    response_model=ProofBundle,
    responses=problem_responses(401, 404, 409, 422, 503),
    summary="The learner's proof bundle (credreg-bundle/2; /1 under a version-1 contract); 409 until anchored",
)
def get_bundle(
    digest: str, principal: AnyToken, session: SessionDep, deployment: DeploymentDep
) -> JSONResponse:
    doc = bundle_for(session, digest, principal.issuer_id, deployment)
    return JSONResponse(doc, headers={"Cache-Control": "no-store"})


@router.get(
    "/{digest}/vc",
    response_model=PlainCredential,
    response_model_by_alias=True,
    responses={
        **problem_responses(401, 404),
        200: {
            "description": "The credential as issued: JSON (a VC-JWT as an EnvelopedVerifiableCredential), "
            "or the compact VC-JWT itself with Accept: application/vc+jwt",
            "content": {"application/vc+jwt": {"schema": {"type": "string"}}},
        },
    },
    summary="The learner's plain VC (signed, no anchor evidence): what a wallet stores and any verifier checks",
)
def get_plain_vc(request: Request, digest: str, principal: AnyToken, session: SessionDep) -> Response:
    held = plain_vc_for(session, digest, principal.issuer_id)
    if isinstance(held, str):
        if "application/vc+jwt" in request.headers.get("accept", ""):
            return Response(held, media_type="application/vc+jwt", headers={"Cache-Control": "no-store"})
        held = envelope(held)
    return JSONResponse(held, headers={"Cache-Control": "no-store"})
