"""`credreg issue FILES... | DIR`: issue JSON credentials through a node's API and collect the learners' bundles.

Talks HTTP only, so it works against any node. Re-running it is safe: each chunk carries an
Idempotency-Key derived from its content, so nothing is issued twice. A rejected chunk is reported per source
file (and item, for a file holding an array): the node names items by their index in the request, this command
maps each index back to where the credential came from.
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
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True, emoji=False)  # DIDs such as did:key:... are no emoji shortcodes


#: what a folder is searched for: JSON credentials, and JSON-LD ones (Europass EDC files are *.jsonld)
PATTERNS = ("*.json", "*.jsonld")


@dataclass
class Item:
    source: Path
    name: str  # bundle file stem
    credential: dict
    position: int | None = None  # the item's index when its file holds an array

    @property
    def where(self) -> str:
        return f"{self.source}" + (f"[{self.position}]" if self.position is not None else "")


def collect(paths: list[Path]) -> list[Item]:
    """Credentials from files and folders (*.json, *.jsonld, recursively); a file holds one object or an array."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = {p for pattern in PATTERNS for p in path.rglob(pattern)}
            files += sorted(p for p in found if not p.name.endswith(".bundle.json"))
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
            items += [Item(file, f"{file.stem}-{i}", d, i) for i, d in enumerate(data)]
        else:
            raise typer.BadParameter(f"{file}: expected a JSON object or an array of objects")
    return items


def rejection_lines(response: httpx.Response, part: list[Item]) -> list[str]:
    """One line per offending item: its file (and position), its ``id``, the element or field, a short hint.

    ``part`` is the chunk that was posted: the node's ``index`` is a position in it.
    """
    try:
        body = response.json()
    except ValueError:
        return []
    lines: list[str] = []
    for e in body.get("errors", []) if isinstance(body, dict) else []:
        index = e.get("index")
        if isinstance(index, int) and 0 <= index < len(part):
            where = part[index].where
            cid = e.get("id") or part[index].credential.get("id")
            if isinstance(cid, str):
                where += f" ({cid})"
        else:
            where = "request"
        if e.get("element"):  # a profile element: its name, the hint, the paths that would satisfy it
            paths = " or ".join(e.get("paths") or [])
            lines.append(
                f"{where}: missing {e['element']}: {e.get('hint', '')}" + (f"; add {paths}" if paths else "")
            )
        else:
            name = str(e.get("field") or e.get("pointer") or "")
            if isinstance(index, int) and name.startswith(f"[{index}]"):
                name = name[len(f"[{index}]") :].lstrip(".")
            lines.append(f"{where}: {name + ': ' if name else ''}{e.get('message', '')}")
    return lines


def chunks(items: list[Item], count: int, max_bytes: int) -> list[tuple[int, list[Item], bytes]]:
    """(start, items, JSON body) per request: at most ``count`` items and, past the first item, ``max_bytes``."""
    out: list[tuple[int, list[Item], bytes]] = []
    part: list[Item] = []
    parts: list[bytes] = []
    start, size = 0, 2
    for i, item in enumerate(items):
        # the same bytes json.dumps(list, separators=(",", ":")) gives: Idempotency-Keys of earlier runs still match
        raw = json.dumps(item.credential, separators=(",", ":")).encode()
        if part and (len(part) >= count or size + len(raw) + 1 > max_bytes):
            out.append((start, part, b"[" + b",".join(parts) + b"]"))
            part, parts = [], []
            start, size = i, 2
        part.append(item)
        parts.append(raw)
        size += len(raw) + 1
    if part:
        out.append((start, part, b"[" + b",".join(parts) + b"]"))
    return out


def problem_text(response: httpx.Response, *, brief: bool = False) -> str:
    """The problem+json of a failed response in one line (``brief``: without its errors list)."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}: {response.text[:300]}"
    head = f"HTTP {response.status_code} {body.get('title', '')}: {body.get('detail', '')}"
    if brief:
        return head
    errors = "; ".join(
        f"{e.get('field') or e.get('pointer')}: {e.get('message')}" for e in body.get("errors", [])
    )
    return head + (f" ({errors})" if errors else "")


def issue(
    paths: list[Path] = typer.Argument(..., help="Credential files (JSON, JSON-LD) or folders.", exists=True),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="CREDREG_URL", help="The node's base URL."),
    token: str = typer.Option(
        ..., envvar="CREDREG_TOKEN", help="Issuer API token (env CREDREG_TOKEN).", show_default=False
    ),
    out: Path = typer.Option(Path("bundles"), help="Folder for the learners' proof bundles."),
    profile: str = typer.Option(None, help="Validation profile, e.g. eu-microcredential."),
    chunk: int = typer.Option(1000, min=1, max=10_000, help="Credentials per request."),
    chunk_bytes: int = typer.Option(
        32 * 1024 * 1024,
        min=1024,
        help="Bytes per request at most (keep it under the node's CREDREG_MAX_REQUEST_BYTES, 64 MiB by default); "
        "Europass EDC files with images weigh 0.5 MB each.",
    ),
    wait: bool = typer.Option(True, help="Wait until anchored and write bundles (--no-wait: just submit)."),
    timeout: float = typer.Option(600, help="Seconds to wait for anchoring."),
) -> None:
    """Issue credentials in bulk through a node and write each learner's bundle when anchored.

    Example: CREDREG_TOKEN=crt_... credreg issue scripts/examples/elm-microcredential.json --profile eu-microcredential

    A rejected chunk names each failing file (file.json[3] for the fourth credential of an array), the
    credential's id and, for a profile, each missing element with the paths that would satisfy it.
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
            for start, part, body in chunks(items, chunk, chunk_bytes):
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
                    accepted = f"; the {start} credentials before it were accepted" if start else ""
                    console.print(
                        f"[red]rejected[/red] (the chunk of {len(part)} from {escape(str(items[start].source))}"
                        f"{accepted}): {escape(problem_text(response, brief=True))}",
                        soft_wrap=True,
                    )
                    for line in rejection_lines(response, part):
                        console.print("  " + escape(line), soft_wrap=True, highlight=False)
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
