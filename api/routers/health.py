"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from anchoring.chain.rpc import redact
from api.deps import SessionFactoryDep
from api.errors import PROBLEM_JSON
from api.schemas.health import Health, NotReadyProblem, Readiness
from node import metrics
from node.storage.db import current_revision, head_revision, ping

router = APIRouter(tags=["health"])
log = logging.getLogger("credreg.api")


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


def _db_check(engine: Engine) -> dict:
    try:
        ping(engine)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"ok": False, "message": f"database unreachable: {type(exc).__name__}"}
    try:
        cur, head = current_revision(engine), head_revision()
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "message": f"cannot read schema version: {type(exc).__name__}"}
    if cur != head:
        return {"ok": False, "message": f"schema at {cur}, expected {head}: run `credreg db upgrade`"}
    return {"ok": True, "message": "reachable, schema up to date"}


def _chain_check(probe: Callable[[], int] | None, rpc_url: str | None = None) -> dict | None:
    if probe is None:
        return None
    try:
        block = probe()
    except Exception as exc:  # noqa: BLE001
        return {
            "ok": False,
            "message": f"chain unreachable: {type(exc).__name__}: {redact(str(exc), rpc_url)[:200]}",
        }
    return {"ok": True, "message": f"block {block}"}


def _contracts_check(
    probe: Callable[[], list[tuple[str, str, str, str]]] | None, rpc_url: str | None = None
) -> dict | None:
    """``version()`` of both contracts against the deployment file: a node must not write to contracts it does not
    know (a wrong or stale deployment file)."""
    if probe is None:
        return None
    try:
        found = probe()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {
            "ok": False,
            "message": "cannot read the contracts' versions: "
            f"{type(exc).__name__}: {redact(str(exc), rpc_url)[:200]}",
        }
    versions = {name: onchain for name, _, _, onchain in found}
    wrong = [
        f"{name} {address} is {onchain}, the deployment file says {filed}"
        for name, address, filed, onchain in found
        if onchain != filed
    ]
    if wrong:
        return {"ok": False, "message": "; ".join(wrong), "versions": versions}
    return {
        "ok": True,
        "message": ", ".join(f"{name} {v}" for name, v in versions.items()),
        "versions": versions,
    }


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={
        503: {
            "model": NotReadyProblem,
            "description": "a dependency is down",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/NotReadyProblem"}}},
        }
    },
    summary="Database reachable and migrated; chain reachable and its contracts' version() as the deployment file says",
)
async def readyz(request: Request) -> Readiness | JSONResponse:
    checks = {"database": await run_in_threadpool(_db_check, request.app.state.engine)}
    rpc_url = request.app.state.settings.rpc_url  # scrubbed from every message (API keys live in its path)
    chain = await run_in_threadpool(_chain_check, getattr(request.app.state, "chain_probe", None), rpc_url)
    if chain is not None:
        checks["chain"] = chain
    if chain is not None and chain["ok"]:
        contracts = await run_in_threadpool(
            _contracts_check, getattr(request.app.state, "contract_probe", None), rpc_url
        )
        if contracts is not None:
            checks["contracts"] = contracts
    if all(c["ok"] for c in checks.values()):
        return Readiness.model_validate({"status": "ready", "checks": checks})
    failed = [k for k, c in checks.items() if not c["ok"]]
    return JSONResponse(
        {
            "type": "urn:credreg:problem:not-ready",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "not ready: " + ", ".join(f"{k}: {checks[k]['message']}" for k in failed),
            "instance": request.url.path,
            "checks": checks,
            "errors": [{"pointer": "", "field": k, "message": checks[k]["message"]} for k in failed],
        },
        status_code=503,
        media_type=PROBLEM_JSON,
    )


def _refresh(factory: Callable[[], Session]) -> None:
    with factory() as session:
        metrics.refresh_from_db(session)


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics (text exposition format)",
    responses={
        200: {
            "description": "Prometheus text exposition format",
            # the media type the response carries, parameters and all (not FastAPI's plain text/plain)
            "content": {metrics.CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
        }
    },
)
async def prometheus(factory: SessionFactoryDep) -> Response:
    try:
        await run_in_threadpool(_refresh, factory)
    except Exception:
        log.warning("metrics: could not read queue depth from the database", exc_info=True)
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE_LATEST)
