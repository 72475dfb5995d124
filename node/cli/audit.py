"""`credreg audit`: check a node's stored batches against the chain (for regulators; read-only)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from anchoring.chain.deployment import Deployment, DeploymentFileError
from anchoring.chain.rpc import connect
from anchoring.errors import ChainError

console = Console(stderr=True)
out = Console()


def audit(
    database_url: str = typer.Option(
        ...,
        "--database-url",
        envvar="CREDREG_DATABASE_URL",
        help="The node database to audit (a copy is fine; it is only read).",
    ),
    rpc: str = typer.Option(..., "--rpc", envvar="CREDREG_RPC_URL", help="JSON-RPC endpoint of the chain."),
    deployment: Path = typer.Option(
        ..., "--deployment", envvar="CREDREG_DEPLOYMENT_FILE", help="Deployment file naming the contracts."
    ),
    json_file: Path | None = typer.Option(
        None, "--json", help="Also write the machine-readable report here."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Audit a node's stored batches against the chain (read-only; run it on a copy of the database).

    Recomputes every stored batch's Merkle root from its stored credential digests and checks it against the
    chain: anchored, by the batch's issuer, with the same leaf count, by an issuer that was an active TI at
    anchoring time. Exits 1 on any mismatch, 2 when the database or chain cannot be read.

    Example: credreg audit --database-url sqlite:///copy-of-node.db --rpc http://127.0.0.1:8545 --deployment data/deployment.json --json audit.json
    """
    from node.registry.audit import audit_database, batch_ids, safe_url
    from node.storage.db import make_engine, session_factory

    try:
        dep = Deployment.load(deployment)
        w3 = connect(rpc, deployment=dep)
    except (DeploymentFileError, ChainError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    engine = make_engine(database_url)
    try:
        factory = session_factory(engine)
        try:
            total = len(batch_ids(factory))
        except Exception as exc:  # noqa: BLE001 - not a credreg database, unreachable server...
            typer.echo(
                f"error: cannot read batches from {safe_url(database_url)}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200]}",
                err=True,
            )
            raise typer.Exit(2) from None
        with Progress(
            TextColumn("auditing batches"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not progress,
            transient=True,
        ) as bar:
            task = bar.add_task("audit", total=total)
            report = audit_database(
                factory, w3, dep, safe_url(database_url), on_batch=lambda _b: bar.advance(task)
            )
    finally:
        engine.dispose()

    table = Table(title=f"audit of {report.counts()['batches']} batches against chain {dep.chain_id}")
    for col in ("batch", "root", "issuer", "state", "leaves", "outcome", "findings"):
        table.add_column(col, overflow="fold")
    for b in report.batches:
        style = {"pass": "green", "pending": "yellow"}.get(b.outcome, "red")
        findings = "; ".join(f"{c.name}: {c.reason}" for c in b.checks if c.result in ("fail", "error"))
        table.add_row(
            str(b.batch_id),
            b.root[:18] + "...",
            (b.issuer or "-")[:12] + "...",
            b.state,
            str(b.stored_leaves),
            f"[{style}]{b.outcome}[/{style}]",
            findings or "-",
        )
    out.print(table)
    c = report.counts()
    out.print(
        f"{c['pass']} passed, {c['fail']} failed, {c['error']} errors, {c['pending']} not anchored yet; "
        f"{c['credentials']} credentials checked"
    )
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
        out.print(f"report written to {json_file}")
    if not report.ok:
        raise typer.Exit(1)
