"""`credreg audit`: check a node's database against the chain (for regulators; read-only)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from anchoring.chain.deployment import Deployment, DeploymentFileError
from anchoring.chain.rpc import call_chain, connect
from anchoring.errors import ChainError

LABELS = {
    "batches": "batches",
    "anchors": "anchors on chain",
    "statusChanges": "status changes",
    "statusLists": "status lists",
    "registry": "registry index",
}


def _refuse(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def audit(
    database_url: str = typer.Option(
        ...,
        "--database-url",
        envvar="CREDREG_DATABASE_URL",
        help="The node database to audit: a copy made by `credreg db backup` (SQLite), or a PostgreSQL database "
        "(a restored pg_dump, or the node's own: it is only read).",
    ),
    rpc: str = typer.Option(..., "--rpc", envvar="CREDREG_RPC_URL", help="JSON-RPC endpoint of the chain."),
    deployment: Path = typer.Option(
        ..., "--deployment", envvar="CREDREG_DEPLOYMENT_FILE", help="Deployment file naming the contracts."
    ),
    json_file: Path | None = typer.Option(
        None, "--json", help="Also write the machine-readable report here."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Audit a node's database against the chain (read-only; run it on a copy made by `credreg db backup`).

    Batches: every stored batch's Merkle root is recomputed from its stored digests and checked on chain (anchored,
    by the batch's issuer, same leaf count and block, by an issuer that was an active TI then). Status changes:
    every revocation, suspension and reinstatement on chain for the node's issuers has its row (same status,
    reason and block), and the other way round. Status lists: the served list's hash is the chain's hash of the
    version the node says is current (unpublished changes are pending). Registry index: every indexed entry and
    event equals the chain's as of the index's block.

    Exits 0 when everything matches, 1 on any mismatch (each named in the report), 2 when the database or the
    chain cannot be read, or the copy cannot be trusted: a SQLite file with its write-ahead log left behind (a
    plain cp of a running node's file), or a copy that claims blocks the chain does not have.

    Example: credreg audit --database-url sqlite:///node-backup.db --rpc http://127.0.0.1:8545 --deployment data/deployment.json --json audit.json
    """
    from node.registry.audit import (
        AuditRefused,
        CopyInfo,
        audit_database,
        batch_ids,
        check_copy_claims,
        copy_position,
        inspect_sqlite_copy,
        readonly_sqlite_url,
        safe_url,
        sqlite_path,
    )
    from node.storage.db import make_engine, session_factory

    console = Console(stderr=True)
    out = Console(emoji=False)  # DIDs such as did:key:... are no emoji shortcodes
    try:
        dep = Deployment.load(deployment)
        w3 = connect(rpc, deployment=dep)
        head = int(call_chain(lambda: w3.eth.block_number, rpc))
    except (DeploymentFileError, ChainError) as exc:
        raise _refuse(str(exc)) from None
    try:
        path = sqlite_path(database_url)
        if path is not None:
            copy = inspect_sqlite_copy(path)
            url = readonly_sqlite_url(path)
        else:
            copy, url = CopyInfo(database_url.split(":", 1)[0].split("+", 1)[0]), database_url
    except AuditRefused as exc:
        raise _refuse(str(exc)) from None
    engine = make_engine(url) if path is None else _readonly_engine(url)
    try:
        factory = session_factory(engine)
        try:
            total = len(batch_ids(factory))
            with factory() as session:
                position = copy_position(session, dep)
        except Exception as exc:  # noqa: BLE001 - not a credreg database, unreachable server...
            raise _refuse(
                f"cannot read batches from {safe_url(database_url)}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200]}"
            ) from None
        try:
            check_copy_claims(w3, head, position)
        except AuditRefused as exc:
            raise _refuse(str(exc)) from None
        except ChainError as exc:
            raise _refuse(str(exc)) from None
        with Progress(
            TextColumn("auditing {task.description:<15}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not progress,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {"batches": bar.add_task(LABELS["batches"], total=total)}

            def step(section: str, n: int, of: int | None) -> None:
                if section not in tasks:
                    tasks[section] = bar.add_task(LABELS.get(section, section), total=of)
                elif of is not None:
                    bar.update(tasks[section], total=of)
                if n:
                    bar.advance(tasks[section], n)

            report = audit_database(
                factory,
                w3,
                dep,
                safe_url(database_url),
                on_batch=lambda _b: bar.advance(tasks["batches"]),
                head=head,
                copy=copy,
                progress=step,
            )
    finally:
        engine.dispose()

    _print(out, report)
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
        out.print(f"report written to {json_file}")
    if not report.ok:
        raise typer.Exit(1)


def _readonly_engine(url: str):
    """A plain engine for the read-only copy (no WAL or other pragmas that would write to it)."""
    import sqlalchemy as sa

    return sa.create_engine(url)


def _print(out: Console, report) -> None:
    c = report.counts()
    as_of = report.position.horizon if report.position else report.head
    table = Table(
        title=f"audit of {c['batches']} batches against chain {report.deployment.chain_id} (copy as of block {as_of}, head {report.head})"
    )
    for col in ("batch", "root", "issuer", "state", "leaves", "outcome", "findings"):
        table.add_column(col, overflow="fold")
    for b in report.batches:
        style = {"pass": "green", "pending": "yellow"}.get(b.outcome, "red")
        findings = "; ".join(f"{ch.name}: {ch.reason}" for ch in b.checks if ch.result in ("fail", "error"))
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
    out.print(
        f"batches: {c['pass']} passed, {c['fail']} failed, {c['error']} errors, {c['pending']} not anchored yet; "
        f"{c['credentials']} credentials checked"
    )
    for name, section in report.sections.items():
        s = section.counts()
        line = (
            f"{LABELS.get(name, name)}: {s['pass']} passed, {s['fail']} failed, {s['error']} errors, "
            f"{s['pending']} pending"
        )
        if s["afterCopy"]:
            line += f"; {s['afterCopy']} chain events after the copy (not compared)"
        if section.note:
            line += f" ({section.note})"
        out.print(line)
        problems = section.problems()
        if problems:
            t = Table(title=LABELS.get(name, name))
            t.add_column("row", overflow="fold")
            t.add_column("result")
            t.add_column("reason", overflow="fold")
            for f in problems[:200]:
                style = "yellow" if f.result == "pending" else "red"
                t.add_row(f.row, f"[{style}]{f.result}[/{style}]", f.reason)
            out.print(t)
            if len(problems) > 200:
                out.print(f"... and {len(problems) - 200} more in the JSON report")
