"""`credreg verify BUNDLE... --rpc URL --deployment FILE [--json]`: the standalone verifier.

Trusts nothing but the chain: no node, no database, no node settings; only :mod:`anchoring`, an RPC
endpoint and the deployment file (where the contracts are).  Exit codes: 0 every bundle valid, 1 any
invalid, 2 any error (chain unreachable, wrong chain) and usage errors (missing file, bad deployment file).

A file may hold one bundle, a JSON array of bundles, or ``{"bundles": [...]}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from anchoring.chain.deployment import Deployment, DeploymentFileError
from anchoring.verify.context import ChainContext
from anchoring.verify.report import ERROR, FAIL, PASS, VerificationReport
from anchoring.verify.run import verify_bundles

__all__ = ["verify"]

EXIT_VALID, EXIT_INVALID, EXIT_ERROR = 0, 1, 2
PROGRESS_THRESHOLD = 20  # show a progress bar from this many bundles on

_MARK = {
    PASS: "[green]✔ pass[/green]",
    FAIL: "[red]✘ fail[/red]",
    ERROR: "[bright_black]? error[/bright_black]",
}
_VERDICT = {
    "valid": "[bold green]VALID[/bold green]",
    "invalid": "[bold red]INVALID[/bold red]",
    "error": "[bold yellow]ERROR[/bold yellow]",
}


def _read(path: Path) -> list[tuple[str, Any]]:
    """(source, bundle-or-text) pairs from one file; unparsable text is passed on for `format` to report."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return [(str(path), text)]
    if isinstance(data, dict) and isinstance(data.get("bundles"), list):
        data = data["bundles"]
    if isinstance(data, list):
        return [(f"{path}[{i}]", item) for i, item in enumerate(data)]
    return [(str(path), text)]  # one bundle: verified from the text (strict: duplicate keys refused)


def exit_code(reports: list[VerificationReport]) -> int:
    verdicts = {r.verdict for r in reports}
    if "error" in verdicts:
        return EXIT_ERROR
    if "invalid" in verdicts:
        return EXIT_INVALID
    return EXIT_VALID


def _overall(reports: list[VerificationReport]) -> str:
    return {EXIT_VALID: "valid", EXIT_INVALID: "invalid", EXIT_ERROR: "error"}[exit_code(reports)]


def _counts(reports: list[VerificationReport]) -> dict[str, int]:
    out = {"total": len(reports), "valid": 0, "invalid": 0, "error": 0}
    for r in reports:
        out[r.verdict] += 1
    return out


def _print_one(console: Console, report: VerificationReport) -> None:
    s = report.summary
    title = f"{escape(report.source or 'bundle')}: {_VERDICT[report.verdict]}"
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    table.add_column("check")
    table.add_column("result")
    table.add_column("reason", overflow="fold")
    for c in report.checks:
        table.add_row(c.name, _MARK[c.status], escape(c.reason))
    console.print(table)
    facts = []
    if s.get("issuer_did"):
        facts.append(f"issuer [bold]{escape(s['issuer_did'])}[/bold] ({s.get('issuer_address')})")
    if s.get("anchored_at_iso"):
        facts.append(
            f"anchored {s['anchored_at_iso']} in block {s.get('block')} "
            f"({s.get('confirmations')} confirmations) on chain {s.get('chain_id')}"
        )
    if s.get("digest"):
        facts.append(f"digest {s['digest']}")
    for f in facts:
        console.print("  " + f)


def _print_many(console: Console, reports: list[VerificationReport]) -> None:
    table = Table(title=f"{len(reports)} bundles", title_justify="left")
    table.add_column("bundle", overflow="fold")
    table.add_column("verdict")
    table.add_column("issuer")
    table.add_column("anchored (UTC)")
    table.add_column("why not valid", overflow="fold")
    shown = [r for r in reports if r.verdict != "valid"] if len(reports) > 50 else reports
    for r in shown[:200]:
        bad = [c for c in r.checks if c.status == FAIL] or [c for c in r.checks if c.status == ERROR][:1]
        why = "; ".join(f"{c.name}: {c.reason}" for c in bad)
        table.add_row(
            escape(r.source or ""),
            _VERDICT[r.verdict],
            escape(r.summary.get("issuer_did", "")),
            r.summary.get("anchored_at_iso", "") or "",
            escape(why),
        )
    if len(shown) < len(reports):
        table.caption = f"{len(reports) - len(shown)} valid bundles not listed"
    if len(shown) > 200:
        table.caption = (table.caption or "") + f"; {len(shown) - 200} more not listed (use --json)"
    console.print(table)
    c = _counts(reports)
    console.print(
        f"[green]{c['valid']} valid[/green], [red]{c['invalid']} invalid[/red], "
        f"[yellow]{c['error']} error[/yellow] of {c['total']}"
    )


def verify(
    bundles: list[Path] = typer.Argument(
        ..., help='Proof bundle files (JSON: one bundle, an array, or {"bundles": [...]}).'
    ),
    rpc: str = typer.Option(..., "--rpc", envvar="CREDREG_VERIFY_RPC_URL", help="JSON-RPC URL of the chain."),
    deployment: Path = typer.Option(
        ...,
        "--deployment",
        envvar="CREDREG_VERIFY_DEPLOYMENT",
        help="Deployment file naming the chain id and contract addresses.",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the reports as JSON on stdout."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help="RPC timeout in seconds."),
    min_confirmations: int = typer.Option(
        1, "--min-confirmations", min=1, help="Confirmations an anchor needs to count (fewer: error)."
    ),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress bar (default: on for many bundles on a terminal)."
    ),
) -> None:
    """Verify proof bundles against the chain alone. Exit 0 all valid, 1 any invalid, 2 any error."""
    err = Console(stderr=True)
    try:
        dep = Deployment.load(deployment)
    except DeploymentFileError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR) from None
    items: list[tuple[str, Any]] = []
    for path in bundles:
        try:
            items.extend(_read(path))
        except OSError as exc:
            err.print(
                f"[red]error:[/red] cannot read {escape(str(path))}: {escape(exc.strerror or str(exc))}"
            )
            raise typer.Exit(EXIT_ERROR) from None
    if not items:
        err.print("[red]error:[/red] no bundles in the given files")
        raise typer.Exit(EXIT_ERROR)
    chain = ChainContext(rpc, dep, timeout=timeout, min_confirmations=min_confirmations)
    show = progress if progress is not None else (len(items) >= PROGRESS_THRESHOLD and err.is_terminal)
    sources = [s for s, _ in items]
    if show:
        with Progress(
            TextColumn("verifying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("verify", total=len(items))
            reports = verify_bundles(
                [b for _, b in items],
                chain,
                sources=sources,
                progress=lambda n: bar.update(task, completed=n),
            )
    else:
        reports = verify_bundles([b for _, b in items], chain, sources=sources)
    code = exit_code(reports)
    if json_output:
        doc = {
            "verdict": _overall(reports),
            "counts": _counts(reports),
            "reports": [r.to_dict() for r in reports],
        }
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        out = Console()
        if len(reports) == 1:
            _print_one(out, reports[0])
        else:
            _print_many(out, reports)
    raise typer.Exit(code)


def run(args: list[str], prog_name: str = "credreg verify") -> None:
    """Run `verify` as a program of its own (the fast path of `credreg verify`, and `python -m anchoring.cli`)."""
    app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
    app.command()(verify)
    app(args=args, prog_name=prog_name)


if __name__ == "__main__":
    run(sys.argv[1:])
