"""`credreg verify FILE... --rpc URL --deployment FILE [--node URL] [--json]`: the standalone verifier.

Trusts nothing but the chain: no node, no database, no node settings; only :mod:`anchoring`, an RPC
endpoint and the deployment file (where the contracts are), plus HTTPS for did:web documents and status
lists (``--offline``: none). Exit codes: 0 everything valid, 1 any invalid, 2 any error (chain unreachable,
wrong chain, a status list or DID that could not be fetched) and usage errors (missing file, bad deployment
file), 3 a plain signed credential without any anchor found ("signed, not anchored"; nothing invalid).

A file may hold one bundle, a JSON array of bundles, ``{"bundles": [...]}``, a plain signed credential (a JSON
VC with a Data Integrity proof, or an EnvelopedVerifiableCredential), or VC-JWT strings (one per line). A plain
credential's anchor is looked up at ``--node`` (its public ``GET /v1/proofs/{digest}``) or read from
``--proof FILE`` (that endpoint's JSON, for a single credential).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from anchoring.verify.report import ERROR, FAIL, NOT_ANCHORED, PASS, VerificationReport

if TYPE_CHECKING:
    from anchoring.signing.fetch import Fetcher

# The chain, signing and verification modules are imported inside `verify` (web3 alone takes about a second):
# `credreg verify --help` and usage errors answer without them.

__all__ = ["command", "run", "verify"]

EXIT_VALID, EXIT_INVALID, EXIT_ERROR, EXIT_NOT_ANCHORED = 0, 1, 2, 3
PROGRESS_THRESHOLD = 20  # show a progress bar from this many bundles on (files, with two processes)
#: verify in two processes from this many files on, with 2+ CPUs (scripts/bench_verify.py measures both)
PARALLEL_MIN_FILES = 400
#: per cent of the files the second process verifies (so that both finish together: scripts/bench_verify.py)
SECOND_SHARE = 47

_MARK = {
    PASS: "[green]✔ pass[/green]",
    FAIL: "[red]✘ fail[/red]",
    ERROR: "[bright_black]? error[/bright_black]",
}
_VERDICT = {
    "valid": "[bold green]VALID[/bold green]",
    "invalid": "[bold red]INVALID[/bold red]",
    "error": "[bold yellow]ERROR[/bold yellow]",
    NOT_ANCHORED: "[bold cyan]SIGNED, NOT ANCHORED[/bold cyan]",
}


def _read(path: Path) -> list[tuple[str, Any]]:
    """(source, bundle-or-credential-or-text) pairs from one file, parsed once and strictly (no duplicate keys, in
    an array's items too); text that does not parse is passed on for `format` to name what is wrong. Lines that
    are each a compact JWS are one VC-JWT each."""
    from anchoring.scheme.strict_json import strict_loads
    from anchoring.signing.vcjwt import is_compact_jws

    with open(path, "rb", buffering=0) as file:  # unbuffered bytes: half the cost of read_text per small file
        text = file.read().decode("utf-8", "replace")
    try:
        data = strict_loads(text)
    except ValueError:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and all(is_compact_jws(line) for line in lines):
            return [(f"{path}[{i}]", line) for i, line in enumerate(lines)]
        return [(str(path), text)]
    if isinstance(data, dict) and isinstance(data.get("bundles"), list):
        data = data["bundles"]
    if isinstance(data, list):
        return [(f"{path}[{i}]", item) for i, item in enumerate(data)]
    if isinstance(data, str):  # a JSON string: a VC-JWT or SD-JWT in quotes is verified as the text it holds
        return [(str(path), text)]
    return [(str(path), data)]


@dataclass(frozen=True)
class _Share:
    """One share of a run: what stopped it (a file that cannot be read), or its reports, and with two processes
    and compact --json each report's JSON, written by the process that verified it."""

    problem: str | None
    reports: list[VerificationReport]
    fragments: list[bytes] | None = None


def _slim(report: VerificationReport) -> VerificationReport:
    """What the first process needs of a report the second one verified and also wrote as JSON: what the summary
    table and a stack of the other share read of it (its verdict, the checks that did not pass, who issued it and
    when it was anchored); a stack itself whole, as its check is decided again over both shares. Pickling
    whole reports cost a tenth of a 10,000-file run."""
    if report.stack is not None:
        return report
    keep = ("digest", "issuer_did", "anchored_at_iso")
    summary = {k: report.summary[k] for k in keep if k in report.summary}
    issuer = report.summary.get("credential", {}).get("issuer")
    if issuer is not None:
        summary["credential"] = {"issuer": issuer}
    checks = [c for c in report.checks if c.status != PASS or c is report.checks[0]]
    return VerificationReport(
        checks, summary, report.source, report.anchor_found, None, report.credential_json
    )


def _code(counts: dict[str, int]) -> int:
    if counts["error"]:
        return EXIT_ERROR
    if counts["invalid"]:
        return EXIT_INVALID
    if counts.get(NOT_ANCHORED):
        return EXIT_NOT_ANCHORED
    return EXIT_VALID


_OVERALL = {
    EXIT_VALID: "valid",
    EXIT_INVALID: "invalid",
    EXIT_ERROR: "error",
    EXIT_NOT_ANCHORED: NOT_ANCHORED,
}


def _counts(reports: list[VerificationReport]) -> dict[str, int]:
    """{total, valid, invalid, error} (the shape of a batch POST /v1/verify), plus ``signed-not-anchored``
    only when some plain credential was. (Each verdict is worked out once: the exit code and the JSON's
    overall verdict come from these counts.)"""
    out = {"total": len(reports), "valid": 0, "invalid": 0, "error": 0}
    for r in reports:
        verdict = r.verdict
        out[verdict] = out.get(verdict, 0) + 1
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
    if s.get("secured"):
        facts.append(f"secured by {escape(s['secured'])}")
    if s.get("anchor"):
        facts.append(escape(s["anchor"]))
    if s.get("form") == "dc+sd-jwt":
        shown = ", ".join(s.get("disclosed") or []) or "nothing"
        facts.append(f"SD-JWT VC disclosed: {escape(shown)} ({s.get('withheld', 0)} withheld)")
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
        f"[yellow]{c['error']} error[/yellow]"
        + (f", [cyan]{c[NOT_ANCHORED]} signed, not anchored[/cyan]" if c.get(NOT_ANCHORED) else "")
        + f" of {c['total']}"
    )


def verify(
    bundles: Sequence[str],
    rpc: str,
    deployment: Path,
    json_output: bool = False,
    pretty: bool = False,
    timeout: float = 10.0,
    min_confirmations: int = 1,
    progress: bool | None = None,
    node: str | None = None,
    proof_file: Path | None = None,
    offline: bool = False,
    fetch_timeout: float = 5.0,
    audience: str | None = None,
    nonce: str | None = None,
    processes: int | None = None,
    did_documents: Sequence[Path] = (),
) -> None:
    """Verify proof bundles and signed credentials against the chain.

    BUNDLES: files of proof bundles (one, an array, or {"bundles": [...]}), plain signed credentials (JSON VC with a
    proof), VC-JWTs (one per line) or an SD-JWT VC presentation (dc+sd-jwt).

    Exit 0 all valid, 1 any invalid, 2 any error, 3 a plain credential signed but not anchored.

    Example: credreg verify bundle.json vc.jwt --rpc http://127.0.0.1:8545 --deployment deployment.json
    --node http://127.0.0.1:8000
    """
    from anchoring.chain.deployment import Deployment, DeploymentFileError
    from anchoring.errors import ChainError
    from anchoring.scheme.merkle import gc_paused, usable_cpus
    from anchoring.signing.did import DidResolver
    from anchoring.signing.fetch import HttpFetcher, OfflineFetcher
    from anchoring.verify.context import ChainContext
    from anchoring.verify.credential import is_plain_credential, verify_documents
    from anchoring.verify.forked import can_fork, run_in_two
    from anchoring.verify.stack import detach, resolve_stacks
    from anchoring.verify.web import WebContext

    # thousands of reports are millions of short-lived acyclic objects: with the cyclic GC running, its passes over
    # the growing heap cost a fifth of a 10,000-file run (scripts/bench_verify.py)
    with gc_paused():
        err = Console(stderr=True, emoji=False)  # "did:key:" is no emoji shortcode
        try:
            dep = Deployment.load(deployment)
        except DeploymentFileError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise click.exceptions.Exit(EXIT_ERROR) from None
        paths = [Path(b) for b in bundles]
        chain = ChainContext(rpc, dep, timeout=timeout, min_confirmations=min_confirmations)
        fetch: Fetcher = OfflineFetcher() if offline else HttpFetcher(timeout=fetch_timeout)
        try:
            resolver = DidResolver(documents=_did_documents(did_documents), fetch=None if offline else fetch)
        except (OSError, ValueError) as exc:  # FormatError is a ValueError
            err.print(f"[red]error:[/red] bad --did-document: {escape(str(exc))}")
            raise click.exceptions.Exit(EXIT_ERROR) from None
        web = WebContext(fetch=fetch, resolver=resolver, timeout=fetch_timeout)
        proofs: list[Any] | None = None
        if proof_file is not None:
            try:
                proofs = [json.loads(proof_file.read_text(encoding="utf-8"))]
            except (OSError, ValueError) as exc:
                err.print(
                    f"[red]error:[/red] cannot read the proof {escape(str(proof_file))}: {escape(str(exc))}"
                )
                raise click.exceptions.Exit(EXIT_ERROR) from None
        # many files: half of them read and verified by a forked second process (the work is per file)
        wanted = processes or (2 if len(paths) >= PARALLEL_MIN_FILES and usable_cpus() >= 2 else 1)
        parts = 2 if wanted == 2 and len(paths) >= 2 and proofs is None and can_fork() else 1
        compact_parts = parts > 1 and json_output and not pretty
        # the second process also copies the pages it touches (fork) and pickles its answer: it takes a little less
        second = len(paths) * SECOND_SHARE // 100 if parts > 1 else 0
        bounds = [0, len(paths) - second, len(paths)]

        def read_share(k: int) -> tuple[str | None, list[tuple[str, Any]]]:
            """The items of the k-th share's files, or what stops the run (a file that cannot be read)."""
            items: list[tuple[str, Any]] = []
            for path in paths[bounds[k] : bounds[k + 1]]:
                try:
                    items.extend(_read(path))
                except OSError as exc:
                    return f"cannot read {escape(str(path))}: {escape(exc.strerror or str(exc))}", []
            if items and proofs is not None and sum(1 for _, item in items if is_plain_credential(item)) != 1:
                return "--proof applies to exactly one plain credential", []
            return None, items

        def verify_share(
            k: int, items: list[tuple[str, Any]], progress_to: Callable[[int, int], object] | None = None
        ) -> _Share:
            """The k-th share's items verified; a second process's reports detached from their credentials
            (which would not cross the pipe cheaply) and, with their JSON written here, slim."""
            if not items:
                return _Share(None, [])
            reports = verify_documents(
                [b for _, b in items],
                chain,
                node=node,
                proofs=proofs,
                web=web,
                sources=[source for source, _ in items],
                progress=None if progress_to is None else (lambda n: progress_to(n, len(items))),
                audience=audience,
                nonce=nonce,
            )
            fragments = [r.to_json_bytes() for r in reports] if compact_parts else None
            if k:
                reports = [_slim(detach(r)) if compact_parts else detach(r) for r in reports]
            return _Share(None, reports, fragments)

        def share(k: int, progress_to: Callable[[int, int], object] | None = None) -> _Share:
            problem, items = read_share(k)
            return _Share(problem, []) if problem else verify_share(k, items, progress_to)

        items: list[tuple[str, Any]] = []
        if parts == 1:  # read first: the bar, when shown, counts bundles, and a file may hold many
            problem, items = read_share(0)
            if problem:
                err.print(f"[red]error:[/red] {problem}")
                raise click.exceptions.Exit(EXIT_ERROR)
        many = (len(items) if parts == 1 else len(paths)) >= PROGRESS_THRESHOLD
        show = progress if progress is not None else (many and err.is_terminal)

        def run_all(progress_to: Callable[[int, int], object] | None = None) -> list[_Share]:
            if parts == 1:
                return [verify_share(0, items, progress_to)]
            with contextlib.suppress(ChainError):  # both processes read the chain at the same head
                _ = chain.head  # a failure is remembered and reported per bundle, in both
            return list(
                run_in_two(
                    lambda k: share(k, progress_to if k == 0 else None),
                    lambda why: err.print(f"[yellow]note:[/yellow] {escape(why)}; verifying on one core"),
                )
            )

        if show:
            with Progress(
                TextColumn("verifying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
                # rich refreshes from a thread, and a process with threads does not fork: with two, the callback does
                auto_refresh=parts == 1,
            ) as bar:
                task = bar.add_task("verify", total=None)
                # with two processes the bar follows this one's share, scaled to the whole (the other's pace)
                shares = run_all(
                    lambda n, total: bar.update(
                        task, completed=n * parts, total=total * parts, refresh=parts > 1
                    )
                )
        else:
            shares = run_all()
        for done in shares:
            if done.problem is not None:
                err.print(f"[red]error:[/red] {done.problem}")
                raise click.exceptions.Exit(EXIT_ERROR)
        reports = [r for done in shares for r in done.reports]
        if not reports:
            err.print("[red]error:[/red] no bundles in the given files")
            raise click.exceptions.Exit(EXIT_ERROR)
        if parts > 1:
            resolve_stacks(reports)  # a stack's components may have been in the other share
        counts = _counts(reports)
        code = _code(counts)
        if compact_parts:
            fragments = [f for done in shares for f in (done.fragments or [])]
            for i, report in enumerate(reports):
                if report.stack is not None:  # decided again over both shares
                    fragments[i] = report.to_json_bytes()
            head = {"verdict": _OVERALL[code], "counts": counts}
            sys.stdout.flush()
            sys.stdout.buffer.write(
                _json_bytes(head, False)[:-1] + b',"reports":[' + b",".join(fragments) + b"]}\n"
            )
            sys.stdout.buffer.flush()
        elif json_output:
            doc = {
                "verdict": _OVERALL[code],
                "counts": counts,
                "reports": [r.to_dict() for r in reports],
            }
            # compact unless asked: indenting a 10,000-bundle report cost a fifth of the run
            sys.stdout.flush()
            sys.stdout.buffer.write(_json_bytes(doc, pretty) + b"\n")
            sys.stdout.buffer.flush()
        else:
            out = Console(emoji=False)  # "did:key:z6Mk..." must not render as a key emoji
            if len(reports) == 1:
                _print_one(out, reports[0])
            else:
                _print_many(out, reports)
        raise click.exceptions.Exit(code)


# Declared with click, not Typer: Typer builds a pydantic validator for every parameter, which took about a third of
# `credreg verify`'s start-up (0.3 s of 0.5 s on a slow day, python -X importtime). `node.cli` lists it in the
# `credreg` app by forwarding to it.
_FLOAT_POSITIVE = click.FloatRange(min=0.1)
_PATH = click.Path(path_type=Path)

command = click.Command(
    "verify",
    callback=verify,
    help=(verify.__doc__ or "").replace("\n    ", "\n"),
    short_help="Verify proof bundles and signed credentials against the chain.",
    no_args_is_help=True,
    params=[
        click.Argument(["bundles"], nargs=-1, required=True),
        click.Option(
            ["--rpc"],
            required=True,
            envvar="CREDREG_VERIFY_RPC_URL",
            show_envvar=True,
            help="JSON-RPC URL of the chain.",
        ),
        click.Option(
            ["--deployment"],
            type=_PATH,
            required=True,
            envvar="CREDREG_VERIFY_DEPLOYMENT",
            show_envvar=True,
            help="Deployment file naming the chain id and contract addresses.",
        ),
        click.Option(
            ["--json", "json_output"], is_flag=True, help="Print the reports as JSON on stdout (compact)."
        ),
        click.Option(["--pretty"], is_flag=True, help="With --json: indent the JSON for reading."),
        click.Option(
            ["--timeout"],
            type=_FLOAT_POSITIVE,
            default=10.0,
            show_default=True,
            help="RPC timeout in seconds.",
        ),
        click.Option(
            ["--min-confirmations"],
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="Confirmations an anchor needs to count (fewer: error).",
        ),
        click.Option(
            ["--progress/--no-progress"],
            default=None,
            help="Progress bar (default: on for many bundles on a terminal).",
        ),
        click.Option(
            ["--node"],
            envvar="CREDREG_VERIFY_NODE",
            show_envvar=True,
            help="A node's base URL: where a plain credential's anchor is looked up (GET /v1/proofs/{digest}).",
        ),
        click.Option(
            ["--proof", "proof_file"],
            type=_PATH,
            help="The anchor proof of a single plain credential (the JSON of GET /v1/proofs/{digest}).",
        ),
        click.Option(
            ["--offline"],
            is_flag=True,
            help="Fetch no did:web documents and no status lists (they report error); a --node given is still asked.",
        ),
        click.Option(
            ["--fetch-timeout"],
            type=_FLOAT_POSITIVE,
            default=5.0,
            show_default=True,
            help="Timeout in seconds for did:web, status lists and --node.",
        ),
        click.Option(
            ["--audience"], help="SD-JWT VC presentations: the key-binding JWT's aud must be this (you)."
        ),
        click.Option(
            ["--nonce"],
            help="SD-JWT VC presentations: the key-binding JWT's nonce must be this one you gave.",
        ),
        click.Option(
            ["--processes"],
            type=click.IntRange(1, 2),
            help=f"Verify in 1 or 2 processes (default: 2 from {PARALLEL_MIN_FILES} files on, with 2+ CPUs).",
        ),
        click.Option(
            ["--did-document", "did_documents"],
            type=_PATH,
            multiple=True,
            help="A DID document (or a JSON array of them) to use instead of resolving that DID: an offline cache.",
        ),
    ],
)


def _json_bytes(doc: dict[str, Any], pretty: bool) -> bytes:
    """UTF-8 JSON, compact or indented by two; orjson, or the standard library for what orjson does not take
    (integers beyond 64 bits, which a report may quote from a document)."""
    import orjson

    try:
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2 if pretty else 0)
    except TypeError:
        text = json.dumps(
            doc, indent=2 if pretty else None, separators=None if pretty else (",", ":"), ensure_ascii=False
        )
        return text.encode()


def _did_documents(paths: Sequence[Path]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        docs = data if isinstance(data, list) else [data]
        if not all(isinstance(d, dict) and isinstance(d.get("id"), str) for d in docs):
            raise ValueError(f"{path}: a DID document is a JSON object with its DID as id")
        out.extend(docs)
    return out


def run(args: list[str], prog_name: str = "credreg verify") -> None:
    """Run `verify` as a program of its own (the fast path of `credreg verify`, and `python -m anchoring.cli`).

    Ends the process without the interpreter's teardown once the output is flushed: freeing the objects of
    10,000 reports one by one took a second after the work was done (scripts/bench_verify.py)."""
    # and without the cyclic GC: the pause inside `verify` ending would start a collection over the run's whole
    # heap (0.35 s after 10,000 files) just before the process ends
    gc.disable()
    try:
        command.main(args=args, prog_name=prog_name)
    except SystemExit as exc:
        if exc.code is not None and not isinstance(exc.code, int):
            raise  # a message to print: the normal way
        import logging

        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exc.code or 0)


if __name__ == "__main__":
    run(sys.argv[1:])
