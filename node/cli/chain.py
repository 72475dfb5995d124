"""`credreg chain up | down | status`: the local development chain (Anvil from npm)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from node.dev.chains import DevChainError
from node.dev.devchain import DevChainFiles, chain_down, chain_status, chain_up

app = typer.Typer(
    help="Run a local development chain (Anvil) with the contracts deployed.", no_args_is_help=True
)
console = Console()

DataDir = typer.Option(
    Path("data"),
    "--data-dir",
    envvar="CREDREG_DATA_DIR",
    help="Folder holding the chain state, deployment file and dev keystores.",
)


@app.command()
def up(
    data_dir: Path = DataDir,
    port: int = typer.Option(None, help="Port for Anvil (default: 8545 when free, else any free port)."),
) -> None:
    """Start Anvil, deploy the contracts and accredit a dev RootTAO -> TAO -> TI.

    Example: credreg chain up --data-dir data
    """
    try:
        with console.status("starting Anvil, deploying contracts, accrediting dev issuers..."):
            running = chain_up(data_dir, port)
    except DevChainError as exc:
        console.print(f"[red]chain up failed:[/red] {exc}")
        raise typer.Exit(1) from None
    files = DevChainFiles(data_dir)
    console.print(
        f"chain {running.how}: {running.rpc_url} (pid {running.pid}, chain id {running.deployment.chain_id})"
    )
    console.print(f"IssuerRegistry   {running.deployment.issuer_registry}")
    console.print(f"CredentialAnchor {running.deployment.credential_anchor}")
    console.print(f"deployment file  {files.deployment_file}")
    console.print(f"dev keystores    {files.keys_dir} (password in {files.password_file})")


@app.command()
def down(data_dir: Path = DataDir) -> None:
    """Stop the chain that `chain up` started for this data folder (and nothing else).

    Example: credreg chain down --data-dir data
    """
    if chain_down(data_dir):
        console.print("chain stopped; its state stays in the data folder for the next `chain up`")
    else:
        console.print("no chain of this data folder is running")


@app.command()
def status(data_dir: Path = DataDir) -> None:
    """Show whether the dev chain of this data folder is running.

    Example: credreg chain status
    """
    info = chain_status(data_dir)
    if info is None:
        console.print("not running")
        raise typer.Exit(1)
    console.print(f"running: {info['rpc_url']} (pid {info['pid']})")
