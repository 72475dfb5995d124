"""`credreg serve` (API workers), `credreg pipeline` (batcher, anchorer, indexer) and `credreg dev` (everything
local, both roles, one command)."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from anchoring.errors import ChainError
from node.cli.roles import PipelineProcess, run_api, run_pipeline_until_stopped
from node.dev.chains import DevChainError
from node.dev.devchain import DevChainFiles, chain_up
from node.errors import ConfigurationError
from node.pipeline.runtime import NodeRuntime
from node.settings import Settings

console = Console(stderr=True)


def _start_runtime(settings: Settings) -> NodeRuntime:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return NodeRuntime.from_settings(settings)
    except (ConfigurationError, ChainError) as exc:
        console.print(f"[red]cannot start the node:[/red] {exc}")
        raise typer.Exit(2) from None


def _migrate(settings: Settings) -> None:
    from node.storage.db import make_engine, upgrade

    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def _serve(settings: Settings, workers: int, pipeline: bool) -> None:
    """The API (``workers`` processes) and, with ``pipeline``, a ``credreg pipeline`` child process beside it."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    child = PipelineProcess(settings) if pipeline else None
    console.print(
        f"API on http://{settings.host}:{settings.port} (docs at /docs), {workers} worker(s)"
        + ("; pipeline in its own process" if child else "; no pipeline here (run `credreg pipeline`)")
    )
    if child is not None:
        # uvicorn shuts down on SIGTERM, then raises the signal again under the handler found at start: with the
        # default one the process died there and the pipeline child lived on, orphaned. This one unwinds instead.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        run_api(settings, workers)
    finally:
        if child is not None:
            child.stop()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)  # a requested stop, done gracefully: not a failure


def serve(
    host: str = typer.Option(None, help="Interface to listen on (CREDREG_HOST, default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (CREDREG_PORT, default 8000)."),
    workers: int = typer.Option(
        1, "--workers", min=1, help="API worker processes (stateless; uvicorn workers sharing the port)."
    ),
    pipeline: bool = typer.Option(
        False,
        "--pipeline/--no-pipeline",
        help="Also start `credreg pipeline` (batcher, anchorer, indexer) as a child process. Default: API only.",
    ),
    access_log: bool = typer.Option(
        None,
        "--access-log/--no-access-log",
        help="A log line per request (CREDREG_ACCESS_LOG, default on); off behind a proxy that logs them already.",
    ),
) -> None:
    """Run the node's API workers against the database (and chain, for verification) named in the settings.

    The API workers are stateless: run as many as the machine has cores, on as many hosts as needed behind any HTTP
    load balancer. The batcher, anchorer and indexer run in `credreg pipeline` (or with --pipeline).

    Settings come from CREDREG_* environment variables or a .env file (CREDREG_ENV_FILE):
    CREDREG_RPC_URL, CREDREG_DEPLOYMENT_FILE, CREDREG_DATABASE_URL, CREDREG_ISSUER_KEYSTORE, ...

    Example: CREDREG_DATABASE_URL=postgresql+psycopg://node@db/credreg credreg serve --workers 2 --port 8000
    """
    given = {"host": host, "port": port, "access_log": access_log}
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    settings = Settings(**overrides)
    _migrate(settings)
    _serve(settings, workers, pipeline)


def pipeline(
    lease_ttl: float = typer.Option(
        None,
        "--lease-ttl",
        min=0.5,
        help="Seconds a lease lasts unrenewed (CREDREG_LEASE_TTL_SECONDS, default 10).",
    ),
) -> None:
    """Run the pipeline: batcher, anchorer + revoker + status-list publisher (under the issuer key's lease) and
    the registry indexer, until SIGTERM or Ctrl-C.

    Start one per issuer key, or two for fail-over: the second waits as a standby and takes over the lease within
    about --lease-ttl seconds when the first dies or loses its database connection (docs/security.md, Fail-over).
    Settings as for `credreg serve`, plus the issuer key (CREDREG_ISSUER_KEYSTORE + password file, or
    CREDREG_ISSUER_PRIVATE_KEY).

    Example: CREDREG_RPC_URL=http://127.0.0.1:8545 CREDREG_DATABASE_URL=postgresql+psycopg://node@db/credreg credreg pipeline
    """
    overrides: dict[str, Any] = {"lease_ttl_seconds": lease_ttl} if lease_ttl is not None else {}
    settings = Settings(**overrides)
    runtime = _start_runtime(settings)
    console.print(
        f"pipeline for issuer {runtime.account.address}: anchoring to {runtime.deployment.credential_anchor} on chain "
        f"{runtime.deployment.chain_id}; lease ttl {settings.lease_ttl_seconds:g}s"
    )
    run_pipeline_until_stopped(runtime)


def dev(
    data_dir: Path = typer.Option(
        Path("data"),
        "--data-dir",
        envvar="CREDREG_DATA_DIR",
        help="Folder for the SQLite database, chain state and dev keys.",
    ),
    port: int = typer.Option(8000, envvar="CREDREG_PORT", help="API port."),
    chain_port: int = typer.Option(None, help="Anvil port (default 8545 when free)."),
    workers: int = typer.Option(1, "--workers", min=1, help="API worker processes."),
) -> None:
    """Start a complete local node: Anvil with the contracts and a dev issuer, SQLite, the API workers and the
    pipeline (in a process of its own).

    Prints a fresh API token for the dev issuer once. Run it again to resume with the same chain and data.

    Example: credreg dev --data-dir data --port 8000
    """
    try:
        with console.status(
            "starting the local chain (Anvil), deploying contracts, accrediting a dev issuer..."
        ):
            running = chain_up(data_dir, chain_port)
    except DevChainError as exc:
        console.print(f"[red]chain up failed:[/red] {exc}")
        raise typer.Exit(1) from None
    files = DevChainFiles(data_dir)
    settings = Settings(
        data_dir=data_dir,
        rpc_url=running.rpc_url,
        deployment_file=files.deployment_file,
        port=port,
        issuer_keystore=files.keystore("issuer"),
        issuer_keystore_password_file=files.password_file,
    )
    console.print(f"chain {running.how}: {running.rpc_url} (stop it with `credreg chain down`)")
    runtime = _start_runtime(
        settings
    )  # migrates, connects, finds the issuer: once, for the token and the API
    token = _dev_token(runtime)
    console.print("dev issuer API token (shown once; create more with `credreg token create`):")
    print(token, flush=True)
    console.print(
        f"try: curl -H 'Authorization: Bearer {token[:8]}...' -H 'Content-Type: application/json' "
        f"-d @scripts/examples/<file>.json http://127.0.0.1:{port}/v1/credentials"
    )
    runtime.close()
    _serve(settings, workers, pipeline=True)


def _dev_token(runtime: NodeRuntime) -> str:
    from node.auth.tokens import create_token
    from node.storage.db import session_scope

    with session_scope(runtime.factory) as session:
        return create_token(session, runtime.issuer_id, label="credreg dev").token
