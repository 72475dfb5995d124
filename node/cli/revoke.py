"""`credreg revoke DIGEST...`: revoke, suspend or reinstate credentials through a node's API, with progress
while the node confirms the change on chain. HTTP only, like `credreg issue`: it works against any node.

Re-running it is safe: revoking a revoked credential (or suspending a suspended one) is a no-op.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from node.cli.issue import problem_text

console = Console(stderr=True)
CHUNK = 10_000  # the API's per-request bound


def _read_digests(digests: list[str], file: Path | None) -> list[str]:
    out = list(digests)
    if file is not None:
        try:
            text = file.read_text()
        except OSError as exc:
            raise typer.BadParameter(f"{file}: {exc}") from None
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(line.split()[0])  # `credreg issue` prints "digest  bundle-path"
    seen: set[str] = set()
    unique: list[str] = []
    for d in out:
        if d.lower() not in seen:
            seen.add(d.lower())
            unique.append(d)
    return unique


def revoke(
    digests: list[str] = typer.Argument(
        None, help="Digests (0x...) of anchored credentials.", show_default=False
    ),
    file: Path = typer.Option(
        None,
        "--file",
        "-f",
        help="A file with one digest per line (# comments allowed).",
        exists=True,
        dir_okay=False,
    ),
    reason: str = typer.Option(
        None,
        help="Reason code: unspecified, keyCompromise, affiliationChanged, superseded, "
        "cessationOfOperation, certificateHold, privilegeWithdrawn, fraud, "
        "administrativeError, academicMisconduct, ... (see docs/revocation.md).",
    ),
    suspend: bool = typer.Option(False, "--suspend", help="Suspend instead of revoking (reversible)."),
    reinstate: bool = typer.Option(False, "--reinstate", help="Reinstate suspended credentials."),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="CREDREG_URL", help="The node's base URL."),
    token: str = typer.Option(
        ..., envvar="CREDREG_TOKEN", help="Issuer API token (env CREDREG_TOKEN).", show_default=False
    ),
    wait: bool = typer.Option(True, help="Wait until confirmed on chain (--no-wait: just queue)."),
    timeout: float = typer.Option(600, help="Seconds to wait for confirmation."),
) -> None:
    """Revoke (default), suspend or reinstate credentials; revocation is final.

    Example: credreg revoke 0xabc... --reason academicMisconduct
             credreg revoke --file digests.txt --suspend --reason underInvestigation
    """
    if suspend and reinstate:
        raise typer.BadParameter("choose one of --suspend and --reinstate")
    action = "suspend" if suspend else "reinstate" if reinstate else "revoke"
    items = _read_digests(digests or [], file)
    if not items:
        console.print("no digests given (arguments or --file)")
        raise typer.Exit(1)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    requests: list[dict] = []
    with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"}) as http:
        for start in range(0, len(items), CHUNK):
            body: dict[str, str | int | list[str]] = {
                "action": action,
                "digests": items[start : start + CHUNK],
            }
            if reason is not None:
                body["reason"] = int(reason) if reason.isdigit() else reason
            try:
                response = http.post("/v1/revocations", json=body)
            except httpx.HTTPError as exc:
                console.print(f"[red]cannot reach {url}:[/red] {exc}")
                raise typer.Exit(2) from None
            if response.status_code != 202:
                console.print(f"[red]rejected[/red]: {problem_text(response)}")
                raise typer.Exit(1)
            requests.append(response.json())
        queued = sum(r["queued"] for r in requests)
        console.print(f"{action}: {queued} queued, {len(items) - queued} already in that state")
        if not wait or not queued:
            for r in requests:
                print(r["requestId"])
            return
        deadline = time.monotonic() + timeout
        failed: list[dict] = []
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(f"confirming {action}", total=queued)
            pending = [r["requestId"] for r in requests if r["queued"]]
            completed: dict[str, int] = {}
            while pending:
                still = []
                for request_id in pending:
                    state = http.get(f"/v1/revocations/{request_id}").json()
                    completed[request_id] = state["confirmed"] + state["failed"]
                    if state["done"]:
                        failed += [i for i in state["items"] if i["state"] == "failed"]
                    else:
                        still.append(request_id)
                progress.update(task, completed=sum(completed.values()))
                pending = still
                if pending:
                    if time.monotonic() > deadline:
                        console.print(
                            f"[yellow]not all confirmed after {timeout:.0f}s; the node keeps trying "
                            f"(check GET /v1/revocations/<id>)[/yellow]"
                        )
                        raise typer.Exit(3)
                    time.sleep(0.5)
    for item in failed:
        console.print(f"[red]failed[/red] {item['digest']}: {item['error']}")
    if failed:
        raise typer.Exit(4)
    console.print(f"{action}: {queued} confirmed on chain")
