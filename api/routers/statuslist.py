"""W3C Bitstring Status Lists: the public list credential per issuer and purpose, and the issuer-only
allocation of ``credentialStatus`` entries to embed in a credential before issuing it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session

from anchoring.scheme.strict_json import LoneSurrogate, TooDeep, strict_loads
from anchoring.statuslist import list_hash
from api.deps import IssuerToken, SessionDep, SessionFactoryDep, SettingsDep
from api.errors import problem, problem_responses
from api.parsing import read_body, shape_error
from api.schemas.statuslists import Allocated, StatusListCredential
from node.revocation.statuslists import (
    PURPOSES,
    StatusListConfig,
    allocate,
    encoded_list,
    find_list,
    signed_list_credential,
)
from node.storage.models import Issuer

router = APIRouter(prefix="/v1/status", tags=["status lists"])

_ALLOCATE_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "purposes": {"type": "array", "items": {"type": "string", "enum": list(PURPOSES)}}
                },
            }
        }
    },
    "required": False,
}


def _config(request: Request, settings: SettingsDep) -> StatusListConfig:
    """The status-list part of the settings (``app.state.status_list_config`` once built; tests replace it)."""
    config = getattr(request.app.state, "status_list_config", None)
    if config is None:
        config = request.app.state.status_list_config = StatusListConfig.from_settings(settings)
    return config


ConfigDep = Annotated[StatusListConfig, Depends(_config)]


def _purposes(body: bytes) -> list[str]:
    purposes = list(PURPOSES)
    if not body.strip():
        return purposes
    try:
        data = strict_loads(body)
    except (TooDeep, LoneSurrogate) as exc:
        raise shape_error(exc) or exc from None
    except ValueError:
        raise problem(
            400, "the body is not JSON", errors=[{"pointer": "", "field": "body", "message": "invalid JSON"}]
        ) from None
    if not isinstance(data, dict):
        raise problem(
            422,
            "the body must be a JSON object",
            errors=[{"pointer": "", "field": "body", "message": "expected an object"}],
        )
    if "purposes" in data:
        purposes = data["purposes"]
        if (
            not isinstance(purposes, list)
            or not purposes
            or len(set(map(str, purposes))) != len(purposes)
            or any(p not in PURPOSES for p in purposes)
        ):
            raise problem(
                422,
                f"purposes must be a non-empty list of distinct values among {list(PURPOSES)}",
                errors=[{"pointer": "/purposes", "field": "purposes", "message": "invalid purposes"}],
            )
    return purposes


def _allocate(
    factory: Callable[[], Session],
    issuer_id: int,
    purposes: list[str],
    base_url: str,
    config: StatusListConfig,
) -> list[dict]:
    with factory() as session:
        issuer = session.get_one(Issuer, issuer_id)
        return allocate(session, issuer, purposes, base_url, config)


@router.post(
    "/allocate",
    status_code=201,
    response_model=Allocated,
    responses=problem_responses(400, 401, 403, 409, 413, 422, 503),
    openapi_extra={"requestBody": _ALLOCATE_BODY},
    summary="Reserve random status-list indexes; returns the credentialStatus entries to embed",
)
async def allocate_entries(
    request: Request,
    principal: IssuerToken,
    settings: SettingsDep,
    config: ConfigDep,
    factory: SessionFactoryDep,
) -> JSONResponse:
    purposes = _purposes(await read_body(request, 64 * 1024))
    base_url = settings.absolute_base_url  # never the Host header: a poisoned one would be signed into lists
    entries = await run_in_threadpool(_allocate, factory, principal.issuer_id, purposes, base_url, config)
    return JSONResponse({"credentialStatus": entries}, status_code=201, headers={"Cache-Control": "no-store"})


@router.get(
    "/{issuer_id}/{purpose}",
    response_model=StatusListCredential,
    responses=problem_responses(404),
    summary="The issuer's BitstringStatusListCredential for a purpose (public)",
)
def get_list(
    request: Request,
    issuer_id: str,
    purpose: str,
    config: ConfigDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    lst, issuer = find_list(session, issuer_id, purpose)
    encoded = encoded_list(session, lst)
    doc = signed_list_credential(settings, lst, issuer, encoded, config)
    etag = f'"{list_hash(encoded).hex()}"'
    headers = {"Cache-Control": f"public, max-age={config.max_age_seconds}", "ETag": etag}
    if lst.published_hash:
        headers["X-Credreg-Published-Hash"] = lst.published_hash
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return JSONResponse(
        doc,
        headers=headers,
        media_type="application/vc+ld+json"
        if "application/vc" in request.headers.get("accept", "")
        else "application/json",
    )
