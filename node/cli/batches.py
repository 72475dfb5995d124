"""`credreg batches list | retry`: see the node's batches, and take a failed one out of failure.

A batch fails for good when the contract refuses it for a reason a person must fix (its issuer suspended or
revoked, the root refused). ``retry`` asks the chain what it would say now and then either sends the batch again
as it is (the issuer was reinstated) or re-seals its credentials into a new batch with a fresh root (the contract
refuses the root itself). It needs no key: the node's pipeline sends the transaction.
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import select

from anchoring.chain.contracts import CredentialAnchor, IssuerRegistry
from anchoring.chain.deployment import Deployment, DeploymentFileError
from anchoring.chain.rpc import connect
from anchoring.errors import ChainError
from node.pipeline.batches import list_batches, plan_retry, reseal_batch, resubmit_batch
from node.settings import Settings
from node.storage.db import make_engine, session_factory
from node.storage.models import Batch, BatchState, Issuer

app = typer.Typer(help="The node's batches: list them, retry a failed one.", no_args_is_help=True)

EXIT_REFUSED = 1  # the batch cannot be retried now (the message says why)
EXIT_UNAVAILABLE = 2  # database or chain unreachable, unknown batch

DbOpt = typer.Option(None, "--database-url", envvar="CREDREG_DATABASE_URL", help="The node's database URL.")


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _settings(database_url: str | None) -> Settings:
    return Settings(database_url=database_url) if database_url else Settings()


def _database_url(settings: Settings) -> str:
    assert settings.database_url, "Settings fills in the SQLite default"
    return settings.database_url


def _row(batch: Batch, issuer: Issuer | None) -> dict:
    return {
        "id": batch.id,
        "issuer": issuer.address if issuer else None,
        "state": batch.state,
        "credentials": batch.credential_count,
        "root": batch.root,
        "error": batch.error_code,
        "lastError": batch.last_error,
        "attempts": batch.attempts,
        "txHash": batch.tx_hash,
        "supersededBy": batch.superseded_by,
        "createdAt": batch.created_at.isoformat(timespec="seconds") + "Z",
    }


@app.command("list")
def list_cmd(
    failed: bool = typer.Option(False, "--failed", help="Only batches that failed for good."),
    state: list[str] = typer.Option(
        [],
        "--state",
        help="Only batches in this state (repeatable): sealed, submitted, confirmed, failed, resealed.",
    ),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    database_url: str | None = DbOpt,
) -> None:
    """List the node's batches, newest first, with why a failed one failed.

    Example: credreg batches list --failed --database-url sqlite:///data/credreg.db
    """
    states = list(state) + ([BatchState.failed.value] if failed else [])
    known = {s.value for s in BatchState}
    for s in states:
        if s not in known:
            raise _fail(f"--state {s!r}: one of {', '.join(sorted(known))}", EXIT_REFUSED)
    engine = make_engine(_database_url(_settings(database_url)))
    try:
        with session_factory(engine)() as session:
            batches = list_batches(session, states=states or None, limit=limit)
            issuers = {i.id: i for i in session.exec(select(Issuer)).all()}
            rows = [_row(b, issuers.get(b.issuer_id)) for b in batches]
    except Exception as exc:  # noqa: BLE001 - not a credreg database, unreachable server...
        raise _fail(
            f"cannot read batches: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}", 2
        ) from None
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    console = Console()  # made per call: it reads the terminal's width then
    table = Table(title=f"{len(rows)} batches" + (" (failed)" if failed else ""))
    for name in ("id", "issuer", "state", "credentials", "root", "error", "why"):
        table.add_column(name, overflow="fold")
    for r in rows:
        style = {"failed": "red", "confirmed": "green", "resealed": "dim"}.get(r["state"], "yellow")
        why = r["lastError"] or "-"
        if r["supersededBy"]:
            why = f"re-sealed into batch {r['supersededBy']}"
        table.add_row(
            str(r["id"]),
            (r["issuer"] or "-")[:12] + "...",
            f"[{style}]{r['state']}[/{style}]",
            str(r["credentials"]),
            r["root"][:18] + "...",
            r["error"] or "-",
            why,
        )
    console.print(table)
    if any(r["state"] == BatchState.failed.value for r in rows):
        console.print("take a failed batch on with: credreg batches retry ID")


@app.command("retry")
def retry_cmd(
    batch_id: int = typer.Argument(..., help="The failed batch's id (see `credreg batches list --failed`)."),
    reseal: bool = typer.Option(
        False,
        "--reseal",
        help="Re-seal its credentials into a new batch with a fresh root, whatever the chain says.",
    ),
    resubmit: bool = typer.Option(
        False, "--resubmit", help="Only send it again as it is (refused while the chain would refuse it)."
    ),
    database_url: str | None = DbOpt,
    rpc: str | None = typer.Option(
        None, "--rpc", envvar="CREDREG_RPC_URL", help="JSON-RPC endpoint of the chain."
    ),
    deployment: str | None = typer.Option(
        None, "--deployment", envvar="CREDREG_DEPLOYMENT_FILE", help="The node's deployment file."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Take a failed batch out of failure: send it again, or re-seal its credentials under a fresh root.

    Asks the chain first. The issuer was reinstated (or the revert was transient): the batch goes back to
    sealed and the node's pipeline sends it again. The contract refuses the root itself: the same credentials
    (same digests, same leaf indexes) go into a new batch whose tree has one random leaf more, so its root is
    new. While the issuer is still suspended or revoked, nothing changes and the exit code is 1.

    Example: credreg batches retry 42 --database-url sqlite:///data/credreg.db --rpc http://127.0.0.1:8545 --deployment data/deployment.json
    """
    if reseal and resubmit:
        raise _fail("give --reseal or --resubmit, not both", EXIT_REFUSED)
    mode = "reseal" if reseal else "resubmit" if resubmit else "auto"
    settings = _settings(database_url)
    rpc_url = rpc or settings.rpc_url
    if not rpc_url:
        raise _fail("no RPC endpoint: give --rpc or set CREDREG_RPC_URL", EXIT_UNAVAILABLE)
    try:
        dep = Deployment.load(deployment or settings.deployment_file or "deployment.json")
        w3 = connect(rpc_url, deployment=dep)
    except (DeploymentFileError, ChainError) as exc:
        raise _fail(str(exc), EXIT_UNAVAILABLE) from None
    anchor = CredentialAnchor(w3, dep.credential_anchor)
    registry = IssuerRegistry(w3, dep.issuer_registry)
    engine = make_engine(_database_url(settings))
    try:
        with session_factory(engine)() as session:
            batch = session.get(Batch, batch_id)
            if batch is None:
                raise _fail(f"no batch {batch_id} in this database", EXIT_UNAVAILABLE)
            issuer = session.get(Issuer, batch.issuer_id)
            assert issuer is not None, "a batch's issuer row exists (foreign key)"
            try:
                plan = plan_retry(batch, issuer.address, anchor, registry, mode=mode)
            except ChainError as exc:
                raise _fail(str(exc), EXIT_UNAVAILABLE) from None
            outcome: dict = {
                "batch": batch_id,
                "action": plan.action,
                "reason": plan.reason,
                "error": plan.error,
            }
            if plan.action == "resubmit":
                resubmit_batch(session, batch, plan.reason)
            elif plan.action == "reseal":
                new = reseal_batch(session, batch)
                outcome.update(newBatch=new.id, newRoot=new.root)
    finally:
        engine.dispose()
    console = Console()
    if as_json:
        typer.echo(json.dumps(outcome, indent=2))
    elif plan.action == "resubmit":
        console.print(f"batch {batch_id}: sent again by the pipeline: {plan.reason}")
    elif plan.action == "reseal":
        console.print(
            f"batch {batch_id}: re-sealed into batch {outcome['newBatch']} (root {outcome['newRoot']}): {plan.reason}"
        )
    if plan.action == "refuse":
        raise _fail(f"batch {batch_id} not retried: {plan.reason}", EXIT_REFUSED)
