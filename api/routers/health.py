"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from anchoring.chain.endpoint import redact
from api.deps import SessionFactoryDep, SettingsDep
from api.errors import PROBLEM_JSON
from api.schemas.health import (
    BacklogInfo,
    Health,
    LeaseInfo,
    NotReadyProblem,
    PipelineInfo,
    PipelineProcessInfo,
    Readiness,
)
from node import metrics
from node.reads.pipeline import PipelineState, pipeline_state
from node.storage.db import current_revision, head_revision, ping

router = APIRouter(tags=["health"])
log = logging.getLogger("credreg.api")


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@functools.lru_cache(maxsize=1)
def _head() -> str | None:
    """The newest migration of this code (parsing the migration scripts costs ~1 s on a busy machine: once)."""
    return head_revision()


def _db_check(engine: Engine) -> dict:
    try:
        ping(engine)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"ok": False, "message": f"database unreachable: {type(exc).__name__}"}
    try:
        cur, head = current_revision(engine), _head()
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


#: /readyz answers within a second whatever hangs: every step gets what is left of this budget
READY_BUDGET_SECONDS = 0.9

#: a pipeline process's view of the chain older than this is not used (a live probe, bounded, is)
_STALE_STATE_SECONDS = 60.0


def _iso(value) -> str:
    return value.isoformat() + "Z"


def _pipeline_view(factory: Callable[[], Session], ttl: float) -> tuple[dict, PipelineInfo, PipelineState]:
    with factory() as session:
        state = pipeline_state(session, ttl)
    assert state.backlog is not None
    backlog = state.backlog
    info = PipelineInfo(
        leases=[
            LeaseInfo(
                name=lease.name,
                kind=lease.kind,
                holder=lease.holder,
                token=lease.token,
                expires_at=_iso(lease.expires_at),
                live=lease.live,
            )
            for lease in state.leases
        ],
        processes=[
            PipelineProcessInfo(
                holder=p.holder,
                host=p.host,
                pid=p.pid,
                beat_at=_iso(p.beat_at),
                age_seconds=round(p.age_seconds, 3),
                live=p.live,
            )
            for p in state.processes
        ],
        backlog=BacklogInfo(
            pending_credentials=backlog.pending_credentials,
            oldest_pending_seconds=backlog.oldest_pending_seconds,
            unconfirmed_batches=backlog.unconfirmed_batches,
            oldest_unconfirmed_seconds=backlog.oldest_unconfirmed_seconds,
            age_seconds=backlog.age_seconds,
        ),
    )
    held = [lease for lease in state.signer_leases if lease.live]
    age = f", oldest {backlog.age_seconds:.0f}s" if backlog.age_seconds is not None else ""
    waiting = f"backlog {backlog.pending_credentials} pending, {backlog.unconfirmed_batches} unconfirmed{age}"
    if held:
        who = "; ".join(f"{lease.name} held by {lease.holder} (token {lease.token})" for lease in held)
        check = {"ok": True, "message": f"{who}; {waiting}"}
    elif backlog.waiting:
        check = {
            "ok": False,
            "message": f"no pipeline holds a signer lease and work is waiting ({waiting}): start `credreg pipeline`",
        }
    else:
        check = {"ok": True, "message": f"no signer lease held; nothing waiting ({waiting})"}
    return check, info, state


def _reported(state: PipelineState | None, name: str) -> dict | None:
    """The newest live pipeline process's last ``name`` check ("chain", "contracts"), if it is recent."""
    if state is None:
        return None
    for process in state.live_processes:
        found = process.state.get(name)
        if isinstance(found, dict) and "ok" in found and "message" in found:
            checked = found.get("checked_at")
            if isinstance(checked, str):
                try:
                    at = datetime.fromisoformat(checked.removesuffix("Z"))
                except ValueError:
                    continue
                if (state.now - at).total_seconds() > _STALE_STATE_SECONDS:
                    continue
            out = {"ok": bool(found["ok"]), "message": f"{found['message']} (reported by {process.holder})"}
            if isinstance(found.get("versions"), dict):
                out["versions"] = found["versions"]
            return out
    return None


async def _bounded(deadline: float, what: str, fn, *args):
    left = deadline - time.monotonic()
    if left <= 0:
        return {"ok": False, "message": f"{what}: not checked, /readyz ran out of time"}
    try:
        return await asyncio.wait_for(run_in_threadpool(fn, *args), left)
    except TimeoutError:
        return {"ok": False, "message": f"{what} did not answer within {READY_BUDGET_SECONDS}s"}


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
    summary="Database reachable and migrated; the pipeline's leases, heartbeats and backlog; the chain and its "
    "contracts' version() as the pipeline last saw them (a bounded live probe without a pipeline); within 1 s",
)
async def readyz(request: Request) -> Readiness | JSONResponse:
    deadline = time.monotonic() + READY_BUDGET_SECONDS
    app_state = request.app.state
    settings = app_state.settings

    def view():
        try:
            return _pipeline_view(app_state.session_factory, settings.lease_ttl_seconds)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return (
                {"ok": False, "message": f"cannot read the pipeline state: {type(exc).__name__}"},
                None,
                None,
            )

    database, viewed = await asyncio.gather(
        _bounded(deadline, "the database", _db_check, app_state.engine),
        _bounded(deadline, "the database (pipeline state)", view),
    )
    pipeline_check, info, state = viewed if isinstance(viewed, tuple) else (viewed, None, None)
    checks = {"database": database, "pipeline": pipeline_check}
    chain = _reported(state, "chain")
    probe = getattr(app_state, "chain_probe", None)
    if chain is None and probe is not None:
        chain = await _bounded(deadline, "the chain", _chain_check, probe, settings.rpc_url)
    if chain is not None:
        checks["chain"] = chain
    if chain is not None and chain["ok"]:
        contracts = _reported(state, "contracts")
        contract_probe = getattr(app_state, "contract_probe", None)
        if contracts is None and contract_probe is not None:
            contracts = await _bounded(
                deadline, "the contracts", _contracts_check, contract_probe, settings.rpc_url
            )
        if contracts is not None:
            checks["contracts"] = contracts
    for check in checks.values():  # what the pipeline reported from its own process is scrubbed here too
        check["message"] = redact(str(check["message"]), settings.rpc_url)
    if all(c["ok"] for c in checks.values()):
        return Readiness.model_validate({"status": "ready", "checks": checks, "pipeline": info})
    failed = [k for k, c in checks.items() if not c["ok"]]
    return JSONResponse(
        {
            "type": "urn:credreg:problem:not-ready",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "not ready: " + ", ".join(f"{k}: {checks[k]['message']}" for k in failed),
            "instance": request.url.path,
            "checks": checks,
            "pipeline": info.model_dump() if info is not None else None,
            "errors": [{"pointer": "", "field": k, "message": checks[k]["message"]} for k in failed],
        },
        status_code=503,
        media_type=PROBLEM_JSON,
    )


def _refresh(factory: Callable[[], Session], ttl: float) -> None:
    with factory() as session:
        metrics.refresh_from_db(session)
        metrics.refresh_pipeline(pipeline_state(session, ttl))


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
async def prometheus(factory: SessionFactoryDep, settings: SettingsDep) -> Response:
    try:
        await run_in_threadpool(_refresh, factory, settings.lease_ttl_seconds)
    except Exception:
        log.warning("metrics: could not read queue depth from the database", exc_info=True)
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE_LATEST)
