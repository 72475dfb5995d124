"""FastAPI application factory: ``create_app(settings)``.

    from api.app import create_app
    from node.settings import Settings
    app = create_app(Settings(database_url=...))   # uvicorn.run(app, host=..., port=...)

The schema must exist (``node.db.upgrade``) unless ``settings.auto_migrate`` is true, in which case it
is upgraded once at start-up. ``app.state`` holds ``settings``, ``engine``, ``session_factory`` and
``chain_probe`` (a zero-argument callable returning the block number, or None; replace it freely).
"""

from __future__ import annotations

import gc
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from anchoring.scheme.strict_json import safe_recursion_limit
from api.errors import document_problems, install_error_handlers, problem_responses
from api.pages import mount_pages
from api.ratelimit import EXEMPT_PATHS, RateLimitMiddleware
from api.routers import (
    credentials,
    did,
    health,
    learners,
    oid4vci,
    proofs,
    registry,
    revocation,
    statuslist,
    vc_api,
    verify,
)
from node.deployment_file import DeploymentFile
from node.logs import redact_logs
from node.reads.proofs import ProofReader
from node.registry.names import OrganisationNames
from node.settings import Settings, get_settings
from node.storage.db import make_engine, upgrade
from node.storage.db import session_factory as make_session_factory
from node.verifier_chain import VerifierChain

__all__ = ["create_app", "create_app_from_env", "web3_chain_probe", "web3_contract_probe"]


def web3_chain_probe(rpc_url: str, timeout: float = 2.0):
    """A probe asking the node for its block number, with a short HTTP timeout (no retries, behind the endpoint's
    circuit breaker: ``node.chain_guard``)."""

    def probe() -> int:
        from web3 import Web3

        from anchoring.chain.rpc import call_chain
        from node.chain_guard import guarded_provider

        w3 = Web3(guarded_provider(rpc_url, timeout))
        return call_chain(lambda: w3.eth.block_number, rpc_url)  # errors name the endpoint redacted

    return probe


def web3_contract_probe(
    rpc_url: str, deployment_file: DeploymentFile, timeout: float = 2.0, ttl: float = 60.0
):
    """A probe reading ``version()`` of both contracts of the node's deployment (cached ``ttl`` seconds per version of
    the deployment file): ``[(name, address, deployment file's version, on-chain version), ...]``."""
    import time

    cache: dict = {}

    def probe() -> list[tuple[str, str, str, str]]:
        from web3 import Web3

        from anchoring.chain.contracts import anchor_reader, registry_reader
        from node.chain_guard import guarded_provider

        deployment = deployment_file.load()
        hit = cache.get("v")
        if hit is not None and hit[0] is deployment and time.monotonic() - hit[1] < ttl:
            return hit[2]
        contracts = deployment.current
        w3 = Web3(guarded_provider(rpc_url, timeout))
        found = [
            (
                "IssuerRegistry",
                contracts.issuer_registry,
                contracts.version,
                registry_reader(w3, contracts).version(),
            ),
            (
                "CredentialAnchor",
                contracts.credential_anchor,
                contracts.version,
                anchor_reader(w3, contracts).version(),
            ),
        ]
        cache["v"] = (deployment, time.monotonic(), found)
        return found

    return probe


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    # the eth libraries import py_ecc, which raises the recursion limit to 100,000: a deep JSON body would then
    # overflow the C stack (a segfault) instead of raising RecursionError. Every body is depth-checked first too.
    safe_recursion_limit()
    settings = settings or get_settings()
    redact_logs(settings.rpc_url)  # an RPC URL's path often carries an API key: never in a log line
    own_engine = engine is None
    engine = engine or make_engine(
        settings.resolved_database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        sqlite_mmap_size=settings.sqlite_mmap_size,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.auto_migrate:
            upgrade(engine)
        yield
        app.state.proof_reader.close()
        if own_engine:
            engine.dispose()

    app = FastAPI(
        title="credreg node",
        version="0.1.0",
        description="Blockchain-anchored credential registry: issue, batch, anchor and prove micro-credentials. "
        "Errors are RFC 9457 application/problem+json.",
        lifespan=lifespan,
        # /docs is served by api.pages from local Swagger UI assets (the default page loads them from a CDN);
        # ReDoc has no offline build on PyPI, so it is off
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.proof_reader = ProofReader(engine)
    app.state.deployment_file = DeploymentFile(settings.deployment_file)
    app.state.chain_probe = (
        web3_chain_probe(settings.rpc_url, settings.chain_probe_timeout_seconds) if settings.rpc_url else None
    )
    app.state.contract_probe = (
        web3_contract_probe(settings.rpc_url, app.state.deployment_file, settings.chain_probe_timeout_seconds)
        if settings.rpc_url and settings.deployment_file is not None
        else None
    )
    app.state.verify_slots = threading.BoundedSemaphore(settings.verify_concurrency)
    app.state.verifier_chain = VerifierChain(settings, deployment_file=app.state.deployment_file)
    app.state.organisation_names = OrganisationNames(app.state.session_factory)
    if settings.rate_limit_enabled:
        app.add_middleware(RateLimitMiddleware, settings=settings)
    install_error_handlers(app)
    # the public hot paths first: routes are matched in order (no two routers' paths overlap)
    app.include_router(verify.router)
    app.include_router(proofs.router)
    app.include_router(health.router)
    app.include_router(credentials.router)
    app.include_router(revocation.router)
    app.include_router(statuslist.router)
    app.include_router(registry.router)
    app.include_router(vc_api.router)
    app.include_router(did.router)
    app.include_router(oid4vci.router)
    app.include_router(learners.router)
    mount_pages(app)
    app.include_router(learners.pages)
    _document_problems_once(app)
    return app


def create_app_from_env() -> FastAPI:
    """The app factory for API worker processes: settings from ``CREDREG_*`` variables (and the env file).

    ``uvicorn --factory api.app:create_app_from_env --workers 4`` (what ``credreg serve --workers 4`` runs)."""
    app = create_app(Settings())
    freeze_startup_heap()
    return app


def freeze_startup_heap() -> None:
    """Move everything the worker created at start-up (modules, web3, pydantic models: ~150 MB) out of the
    cyclic GC's sight (``gc.freeze``): a full collection then walks only what requests created, instead of
    stalling the event loop for ~100 ms now and then (the single-bundle verify soak's p99). For a server
    process's start, not for tests that create many apps in one process."""
    gc.collect()
    gc.freeze()


def _document_problems_once(app: FastAPI) -> None:
    """``app.openapi()`` with error responses documented as problem+json (see ``api.errors.document_problems``)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            doc = document_problems(build())
            if app.state.settings.rate_limit_enabled:
                _document_rate_limits(doc)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_rate_limits(doc: dict) -> None:
    """Every rate-limited operation may answer 429 problem+json with ``Retry-After`` (see ``api.ratelimit``)."""
    [too_many] = problem_responses(429).values()
    too_many = {
        **too_many,
        "headers": {
            "Retry-After": {"description": "seconds until the window ends", "schema": {"type": "integer"}}
        },
    }
    too_many.pop("model", None)
    for path, operations in doc.get("paths", {}).items():
        if path in EXEMPT_PATHS:
            continue
        for operation in operations.values():
            operation.setdefault("responses", {}).setdefault("429", too_many)
