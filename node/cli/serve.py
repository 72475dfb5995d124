"""`credreg serve` (any chain, any database, from settings) and `credreg dev` (everything local, one command)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import typer
import uvicorn
from rich.console import Console

from anchoring.errors import ChainError
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


def _serve(settings: Settings, pipeline: bool, runtime: NodeRuntime | None = None) -> None:
    from api.app import create_app

    runtime = runtime or _start_runtime(settings)
    app = create_app(settings, engine=runtime.engine)
    if pipeline:
        runtime.start_pipeline()
    mailer = None
    if pipeline and settings.smtp_host:
        from node.learners.mail import MailWorker

        mailer = MailWorker(runtime.factory, settings)
        mailer.start()
    console.print(
        f"issuer {runtime.account.address} anchoring to {runtime.deployment.credential_anchor} "
        f"on chain {runtime.deployment.chain_id}; API on http://{settings.host}:{settings.port} "
        f"(docs at /docs)"
    )
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    finally:
        if mailer is not None:
            mailer.stop()
        runtime.close()


def serve(
    host: str = typer.Option(None, help="Interface to listen on (CREDREG_HOST, default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (CREDREG_PORT, default 8000)."),
    pipeline: bool = typer.Option(
        True, help="Run the batcher and anchorer in this process (--no-pipeline for extra API-only workers)."
    ),
) -> None:
    """Run the node against the chain, deployment file and database named in the settings.

    Settings come from CREDREG_* environment variables or a .env file (CREDREG_ENV_FILE):
    CREDREG_RPC_URL, CREDREG_DEPLOYMENT_FILE, CREDREG_DATABASE_URL, CREDREG_ISSUER_KEYSTORE, ...

    Example: CREDREG_RPC_URL=http://127.0.0.1:8545 CREDREG_DATABASE_URL=postgresql+psycopg://node@db/credreg credreg serve
    """
    overrides: dict[str, Any] = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    _serve(Settings(**overrides), pipeline)


def dev(
    data_dir: Path = typer.Option(
        Path("data"),
        "--data-dir",
        envvar="CREDREG_DATA_DIR",
        help="Folder for the SQLite database, chain state and dev keys.",
    ),
    port: int = typer.Option(8000, envvar="CREDREG_PORT", help="API port."),
    chain_port: int = typer.Option(None, help="Anvil port (default 8545 when free)."),
) -> None:
    """Start a complete local node: Anvil with the contracts and a dev issuer, SQLite, the API and the pipeline.

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
    _serve(settings, pipeline=True, runtime=runtime)


def _dev_token(runtime: NodeRuntime) -> str:
    from node.auth.tokens import create_token
    from node.storage.db import session_scope

    with session_scope(runtime.factory) as session:
        return create_token(session, runtime.issuer_id, label="credreg dev").token
