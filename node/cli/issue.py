"""`credreg issue FILES... | DIR`: issue JSON credentials through a node's API and collect the learners' bundles.

Talks HTTP only, so it works against any node. Re-running it is safe: each chunk carries an
Idempotency-Key derived from its content, so nothing is issued twice.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True)


@dataclass
class Item:
    source: Path
    name: str  # bundle file stem
    credential: dict


def collect(paths: list[Path]) -> list[Item]:
    """Credentials from files and folders (*.json, recursively); a file holds one object or an array."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.json") if not p.name.endswith(".bundle.json"))
        else:
            files.append(path)
    items: list[Item] = []
    for file in files:
        try:
            data = json.loads(file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise typer.BadParameter(f"{file}: {exc}") from None
        if isinstance(data, dict):
            items.append(Item(file, file.stem, data))
        elif isinstance(data, list) and all(isinstance(d, dict) for d in data):
            items += [Item(file, f"{file.stem}-{i}", d) for i, d in enumerate(data)]
        else:
            raise typer.BadParameter(f"{file}: expected a JSON object or an array of objects")
    return items


def problem_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    errors = "; ".join(
        f"{e.get('field') or e.get('pointer')}: {e.get('message')}" for e in body.get("errors", [])
    )
    return f"HTTP {response.status_code} {body.get('title', '')}: {body.get('detail', '')}" + (
        f" ({errors})" if errors else ""
    )


def issue(
    paths: list[Path] = typer.Argument(..., help="Credential JSON files or folders.", exists=True),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="CREDREG_URL", help="The node's base URL."),
    token: str = typer.Option(
        ..., envvar="CREDREG_TOKEN", help="Issuer API token (env CREDREG_TOKEN).", show_default=False
    ),
    out: Path = typer.Option(Path("bundles"), help="Folder for the learners' proof bundles."),
    profile: str = typer.Option(None, help="Validation profile, e.g. eu-microcredential."),
    chunk: int = typer.Option(1000, min=1, max=10_000, help="Credentials per request."),
    wait: bool = typer.Option(True, help="Wait until anchored and write bundles (--no-wait: just submit)."),
    timeout: float = typer.Option(600, help="Seconds to wait for anchoring."),
) -> None:
    """Issue credentials in bulk through a node and write each learner's bundle when anchored.

    Example: CREDREG_TOKEN=crt_... credreg issue scripts/examples --out bundles --profile eu-microcredential
    """
    items = collect(paths)
    if not items:
        console.print("no credentials found")
        raise typer.Exit(1)
    digests: list[str] = []
    params = {"profile": profile} if profile else {}
    progress_columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"}) as http:
        with Progress(*progress_columns, console=console) as progress:
            task = progress.add_task("issuing", total=len(items))
            for start in range(0, len(items), chunk):
                part = [item.credential for item in items[start : start + chunk]]
                body = json.dumps(part, separators=(",", ":")).encode()
                key = "cli-" + hashlib.sha256(body).hexdigest()[:48]
                try:
                    response = http.post(
                        "/v1/credentials/bulk",
                        content=body,
                        params=params,
                        headers={"Content-Type": "application/json", "Idempotency-Key": key},
                    )
                except httpx.HTTPError as exc:
                    console.print(f"[red]cannot reach {url}:[/red] {exc}")
                    raise typer.Exit(2) from None
                if response.status_code != 202:
                    first = items[start].source
                    console.print(
                        f"[red]rejected[/red] (chunk starting at {first}): {problem_text(response)}"
                    )
                    raise typer.Exit(1)
                digests += response.json()["digests"]
                progress.advance(task, len(part))
        console.print(f"accepted {len(digests)} credentials")
        if not wait:
            for item, digest in zip(items, digests, strict=False):
                print(f"{digest}  {item.name}")
            return
        out.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        with Progress(*progress_columns, console=console) as progress:
            task = progress.add_task("anchoring", total=len(items))
            remaining = list(zip(items, digests, strict=False))
            while remaining:
                item, digest = remaining[0]
                response = http.get(f"/v1/credentials/{digest}/bundle")
                if response.status_code == 200:
                    (out / f"{item.name}.bundle.json").write_text(
                        json.dumps(response.json(), indent=2) + "\n"
                    )
                    remaining.pop(0)
                    progress.advance(task)
                    continue
                if response.status_code != 409:  # 409: not anchored yet
                    console.print(f"[red]{item.name}:[/red] {problem_text(response)}")
                    raise typer.Exit(1)
                if time.monotonic() > deadline:
                    console.print(
                        f"[yellow]{len(remaining)} credentials not anchored after {timeout:.0f}s; "
                        "run the same command again later to collect their bundles[/yellow]"
                    )
                    raise typer.Exit(3)
                time.sleep(0.5)
    console.print(f"wrote {len(items)} bundles to {out}")
    for item, digest in zip(items, digests, strict=False):
        print(f"{digest}  {out / (item.name + '.bundle.json')}")
