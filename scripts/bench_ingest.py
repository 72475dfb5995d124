"""End-to-end ingest benchmark: credentials/s from the first request to the last anchored, through the real
API server, batcher and anchorer (`credreg serve` in its own process, as in production), against a fresh
local Anvil; on SQLite and PostgreSQL.

    python scripts/bench_ingest.py                       # 10k and 100k on SQLite and PostgreSQL
    python scripts/bench_ingest.py --sizes 10000 --databases sqlite

Baseline, measured in the same run: the same node fed one credential per request (the naive client),
on a sample, so the ratio shows what the bulk path buys. Also prints p50/p99 of acceptance -> anchored.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # measure the checkout this script is in

from node.auth.tokens import create_token, get_or_create_issuer
from node.dev.chains import free_port, start_local_chain
from node.dev.network import DEV_DIDS, bootstrap_dev_network, dev_credential_key_for
from node.storage.db import make_engine, normalize_url, session_scope, upgrade
from node.storage.db import session_factory as make_session_factory
from node.storage.models import Credential

POSTGRES_URL = os.environ.get(
    "CREDREG_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
console = Console()


def make_credentials(count: int, run: str) -> list[dict]:
    return [
        {
            # an Open Badges 3.0 credential whose every term a context defines, so eddsa-rdfc-2022 can sign it
            "@context": [
                "https://www.w3.org/ns/credentials/v2",
                "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            ],
            "id": f"urn:uuid:{run}-{i}",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": DEV_DIDS["issuer"], "type": ["Profile"], "name": "Dev University"},
            "validFrom": "2026-06-30T00:00:00Z",
            "name": "Data Literacy",
            "credentialSubject": {
                "id": f"did:example:learner-{i}",
                "type": ["AchievementSubject"],
                "achievement": {
                    "id": "urn:uuid:7d3c5e7a-0c1b-4f8e-9a55-000000000001",
                    "type": ["Achievement"],
                    "name": "Data Literacy",
                    "description": "3 ECTS, EQF level 6.",
                    "criteria": {"narrative": "Passed the final assessment."},
                },
            },
        }
        for i in range(count)
    ]


class Database:
    """A fresh, empty database for one measurement: a SQLite file or a new PostgreSQL schema."""

    def __init__(self, kind: str, folder: Path):
        self.kind = kind
        self.schema = None
        if kind == "sqlite":
            self.url = f"sqlite:///{folder / 'bench.db'}"
        else:
            self.schema = f"bench_{uuid.uuid4().hex[:12]}"
            with make_engine(POSTGRES_URL).begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            self.url = f"{normalize_url(POSTGRES_URL)}?options={quote(f'-csearch_path={self.schema}')}"

    def drop(self) -> None:
        if self.schema:
            with make_engine(POSTGRES_URL).begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))


class ServedNode:
    """`credreg serve` in a child process; the benchmark talks to it over HTTP and reads its database."""

    def __init__(self, folder: Path, chain, network, database_url: str, signing: bool = False):
        network.deployment.save(folder / "deployment.json")
        self.engine = make_engine(database_url)
        upgrade(self.engine)
        with session_scope(make_session_factory(self.engine)) as session:
            issuer = get_or_create_issuer(session, "bench university", network.issuer.address)
            token = create_token(session, issuer.id, label="bench").token
        port = free_port()
        env = dict(
            os.environ,
            CREDREG_DATA_DIR=str(folder),
            CREDREG_DATABASE_URL=database_url,
            CREDREG_RPC_URL=chain.rpc_url,
            CREDREG_DEPLOYMENT_FILE=str(folder / "deployment.json"),
            CREDREG_ISSUER_PRIVATE_KEY="0x" + network.issuer.key.hex(),
            CREDREG_PORT=str(port),
            # the one-per-request baseline sends 1,000 requests from one IP as fast as it can
            CREDREG_RATE_LIMIT_ENABLED="false",
        )
        env.pop("CREDREG_CREDENTIAL_KEY", None)
        if signing:  # the dev issuer's registered credential key (node/dev/network.py), from the environment
            key = dev_credential_key_for(network.issuer.key, chain.rpc_url, network.deployment)
            assert key is not None, "the bench network's issuer is the dev issuer"
            env["CREDREG_CREDENTIAL_KEY"] = key
        with open(folder / "node.log", "wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "node.cli", "serve", "--pipeline"], env=env, stdout=log, stderr=log
            )
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=120, headers={"Authorization": f"Bearer {token}"}
        )
        deadline = time.monotonic() + 300  # a loaded machine starts slowly
        while True:
            try:
                if self.http.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (folder / "node.log").read_text()[-2000:]
                raise RuntimeError(f"credreg serve did not start:\n{tail}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.http.close()
        self.engine.dispose()


def wait_all_anchored(node: ServedNode, total: int, progress: Progress, task, timeout: float) -> None:
    # the batches' sizes, not a count of anchored credentials: the same figure (a batch is confirmed in the
    # transaction that anchors its credentials), without a scan of the whole credential table every 50 ms that
    # competed with the node for the machine (on PostgreSQL a 100k table without vacuum is ~400 MB)
    deadline = time.monotonic() + timeout
    while True:
        with node.engine.connect() as conn:
            done = conn.execute(
                sa.text("SELECT coalesce(sum(size), 0) FROM batch WHERE state = 'confirmed'")
            ).scalar()
        progress.update(task, completed=done)
        if done >= total:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{done} of {total} anchored after {timeout:.0f}s")
        time.sleep(0.05)


def latencies(node: ServedNode) -> tuple[float, float]:
    with node.engine.connect() as conn:
        rows = conn.execute(sa.select(Credential.created_at, Credential.anchored_at)).all()
    values = sorted((a - c).total_seconds() for c, a in rows)
    p50 = statistics.median(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return p50, p99


def tenths(request_s: list[float]) -> dict[str, float]:
    """Mean time of a bulk request in the first and the last tenth of the load (at least one request each)."""
    if not request_s:
        return {}
    k = max(1, len(request_s) // 10)
    first, last = statistics.mean(request_s[:k]), statistics.mean(request_s[-k:])
    return {"first_tenth_s": first, "last_tenth_s": last, "last_vs_first": last / first}


def lookup_shapes(rows: int, ids: int, runs: int) -> list[dict]:
    """The idempotency lookup on PostgreSQL, as the planner sees it mid-ingest: ``rows`` credentials of one issuer
    inserted after the statistics were taken (a fresh migration analyzes an empty table). Times the previous shape
    (``issuer_id = ? AND external_id IN (...)``) against the current one (node.issuance.accept._existing), both on
    the same table and the same ``ids`` ids, interleaved; min/median/max of ``runs``."""
    from node.issuance.accept import _existing
    from node.storage.models import Credential

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        database = Database("postgres", Path(tmp))
        try:
            engine = make_engine(database.url)
            upgrade(engine)  # ANALYZE of the empty tables: the stale statistics of a young node
            factory = make_session_factory(engine)
            with session_scope(factory) as s:
                issuer_id = get_or_create_issuer(s, "lookup", "0x" + "cd" * 20).id
            t = Credential.__table__
            now = datetime.now(UTC).replace(tzinfo=None)
            with engine.begin() as conn:
                for start in range(0, rows, 10_000):
                    conn.execute(
                        t.insert(),
                        [
                            {
                                "digest": "0x" + f"{i:064x}",
                                "salt": b"s",
                                "canonical": b"{}",
                                "issuer_id": issuer_id,
                                "external_id": f"urn:x:{i}",
                                "status": "pending",
                                "created_at": now,
                            }
                            for i in range(start, min(rows, start + 10_000))
                        ],
                    )
            wanted = [f"urn:x:{i}" for i in range(rows - ids, rows)]
            previous = sa.select(t.c.external_id, t.c.digest, t.c.canonical, t.c.status).where(
                t.c.issuer_id == issuer_id, t.c.external_id.in_(wanted)
            )
            for _ in range(runs):
                with factory() as s:
                    a = time.perf_counter()
                    found_prev = len(s.execute(previous).all())
                    b = time.perf_counter()
                    found_now = len(_existing(s, issuer_id, t.c.external_id, wanted))
                    c = time.perf_counter()
                assert found_prev == found_now == ids
                out.append({"previous_ms": (b - a) * 1000, "current_ms": (c - b) * 1000})
            engine.dispose()
        finally:
            database.drop()
    return out


def run_once(
    chain,
    network,
    kind: str,
    count: int,
    bulk: bool,
    chunk: int,
    progress: Progress,
    proof: str | None = None,
) -> dict:
    """One measurement; `proof`: the node signs with it (None: the issuer has no key, unsigned salted-jcs)."""
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(kind, Path(tmp))
        node = None
        params = {"proof": proof} if proof else {}
        try:
            node = ServedNode(Path(tmp), chain, network, database.url, signing=proof is not None)
            creds = make_credentials(count, uuid.uuid4().hex[:8])
            label = f"{kind} {proof or 'unsigned'} {'bulk' if bulk else 'one per request'} {count:,}"
            sent = progress.add_task(f"{label}: sending", total=count)
            anchored = progress.add_task(f"{label}: anchored", total=count)
            start = time.perf_counter()
            request_s: list[float] = []  # per bulk request: does ingest stay flat as the table grows?
            if bulk:
                for i in range(0, count, chunk):
                    body = json.dumps(creds[i : i + chunk], separators=(",", ":"))
                    t = time.perf_counter()
                    response = node.http.post(
                        "/v1/credentials/bulk",
                        content=body,
                        headers={"Content-Type": "application/json"},
                        params=params,
                    )
                    response.raise_for_status()
                    request_s.append(time.perf_counter() - t)
                    progress.advance(sent, min(chunk, count - i))
            else:
                for cred in creds:
                    node.http.post("/v1/credentials", json=cred, params=params).raise_for_status()
                    progress.advance(sent)
            accepted = time.perf_counter() - start
            wait_all_anchored(node, count, progress, anchored, timeout=max(120, count / 100))
            total = time.perf_counter() - start
            p50, p99 = latencies(node)
            with node.engine.connect() as conn:
                batches = conn.execute(sa.text("SELECT count(*) FROM batch")).scalar()
            with node.engine.connect() as conn:
                rules = conn.execute(sa.text("SELECT DISTINCT digest_rule FROM credential")).scalars().all()
            expected = [None] if proof is None else ["compact" if proof.startswith("vc-jwt") else "jcs"]
            assert rules == expected, f"{proof}: stored digest rules {rules}, expected {expected}"
            return {
                "database": kind,
                "proof": proof or "unsigned",
                "mode": "bulk" if bulk else "single",
                "credentials": count,
                "batches": batches,
                "accept_s": accepted,
                "total_s": total,
                "per_s": count / total,
                "p50_s": p50,
                "p99_s": p99,
                **tenths(request_s),
            }
        finally:
            if node is not None:
                node.stop()
            database.drop()


def _spread(xs: list[float], fmt: str) -> str:
    return " / ".join(fmt.format(x) for x in (min(xs), statistics.median(xs), max(xs)))


JSON_OUT = typer.Option(None, "--json", help="Also write the results to this JSON file.")


def main(
    sizes: str = typer.Option("10000,100000", help="Comma-separated credential counts for the bulk runs."),
    databases: str = typer.Option("sqlite,postgres", help="sqlite, postgres or both."),
    baseline: int = typer.Option(1000, help="Credentials in the one-request-per-credential baseline."),
    chunk: int = typer.Option(5000, help="Credentials per bulk request."),
    lookup_rows: int = typer.Option(
        200_000, help="Rows for the PostgreSQL idempotency-lookup comparison (0: skip)."
    ),
    proofs: str = typer.Option(
        "eddsa-jcs-2022,vc-jwt,eddsa-rdfc-2022",
        help="Signed runs (bulk, sqlite), each beside the unsigned bulk run of the same size; '' for none.",
    ),
    signed_size: int = typer.Option(10000, help="Credentials per signed run (eddsa-jcs-2022, vc-jwt)."),
    rdfc_size: int = typer.Option(1000, help="Credentials in the eddsa-rdfc-2022 run (JSON-LD bound)."),
    rounds: int = typer.Option(
        1,
        min=1,
        help="Bulk runs per size and database, alternating the databases; the ratio is then per round and the median "
        "of the rounds (the machine's speed drifts between runs more than the databases differ).",
    ),
    json_out: Path = JSON_OUT,
) -> None:
    """Measure end-to-end ingest (request -> anchored) on a fresh Anvil, unsigned and signed per proof type."""
    if lookup_rows and "postgres" in databases:
        shapes = lookup_shapes(lookup_rows, 500, 3)
        prev = [r["previous_ms"] for r in shapes]
        cur = [r["current_ms"] for r in shapes]
        ratio = [p / c for p, c in zip(prev, cur, strict=True)]
        console.print(
            f"PostgreSQL idempotency lookup, 500 ids among {lookup_rows:,} rows of one issuer, statistics from the "
            f"empty table (min / median / max of 3): previous IN shape {_spread(prev, '{:.1f}')} ms, current "
            f"{_spread(cur, '{:.2f}')} ms, {_spread(ratio, '{:.0f}')}x"
        )
    chain = start_local_chain("anvil")
    results = []
    try:
        network = bootstrap_dev_network(chain)
        with Progress(console=console, transient=True) as progress:
            kinds = databases.split(",")
            results.extend(run_once(chain, network, kind, baseline, False, chunk, progress) for kind in kinds)
            results.extend(
                {**run_once(chain, network, kind, int(size), True, chunk, progress), "round": round_}
                for round_ in range(1, rounds + 1)
                for size in sizes.split(",")
                for kind in kinds
            )
            wanted = [p for p in proofs.split(",") if p]
            signed_sizes = {rdfc_size if p == "eddsa-rdfc-2022" else signed_size for p in wanted}
            for size in sorted(signed_sizes):
                if not any(
                    r["credentials"] == size and r["mode"] == "bulk" and r["database"] == "sqlite"
                    for r in results
                ):
                    results.append(run_once(chain, network, "sqlite", size, True, chunk, progress))
            for proof in wanted:
                size = rdfc_size if proof == "eddsa-rdfc-2022" else signed_size
                results.append(run_once(chain, network, "sqlite", size, True, chunk, progress, proof))
    finally:
        chain.stop()
    table = Table(
        title="End-to-end ingest: first request -> last anchored (Anvil, default batch 1,000 / 2 s)"
    )
    for column in (
        "database",
        "proof",
        "mode",
        "credentials",
        "batches",
        "accepted in",
        "anchored in",
        "credentials/s",
        "vs baseline",
        "vs unsigned",
        "p50 accept->anchored",
        "p99",
        "request, first / last tenth",
    ):
        table.add_column(column, justify="right")
    for r in results:
        base = next((b for b in results if b["database"] == r["database"] and b["mode"] == "single"), None)
        unsigned = next(
            (
                u
                for u in results
                if u["database"] == r["database"]
                and u["proof"] == "unsigned"
                and u["mode"] == r["mode"]
                and u["credentials"] == r["credentials"]
                and u.get("round", 1) == r.get("round", 1)
            ),
            r,
        )
        table.add_row(
            r["database"],
            r["proof"],
            r["mode"],
            f"{r['credentials']:,}",
            str(r["batches"]),
            f"{r['accept_s']:.2f} s",
            f"{r['total_s']:.2f} s",
            f"{r['per_s']:,.0f}",
            f"{r['per_s'] / base['per_s']:.1f}x" if base else "-",
            f"{r['per_s'] / unsigned['per_s']:.2f}x",
            f"{r['p50_s']:.2f} s",
            f"{r['p99_s']:.2f} s",
            f"{r['first_tenth_s']:.2f} / {r['last_tenth_s']:.2f} s ({r['last_vs_first']:.2f}x)"
            if "first_tenth_s" in r
            else "",
        )
    console.print(table)
    by_size: dict[int, list[float]] = {}
    for r in results:  # the issue's target: PostgreSQL against SQLite, same size, same round of the same run
        if r["database"] == "postgres" and r["mode"] == "bulk" and r["proof"] == "unsigned":
            lite = next(
                (
                    x
                    for x in results
                    if x["database"] == "sqlite"
                    and x["mode"] == "bulk"
                    and x["proof"] == "unsigned"
                    and x["credentials"] == r["credentials"]
                    and x.get("round", 1) == r.get("round", 1)
                ),
                None,
            )
            if lite:
                by_size.setdefault(r["credentials"], []).append(r["per_s"] / lite["per_s"])
                console.print(
                    f"PostgreSQL / SQLite, {r['credentials']:,} credentials, round {r.get('round', 1)}: "
                    f"{r['per_s'] / lite['per_s']:.2f}x ({r['per_s']:,.0f} vs {lite['per_s']:,.0f} credentials/s), "
                    f"PostgreSQL's last / first tenth {r['last_vs_first']:.2f}x"
                )
    for size, ratios in by_size.items():
        if len(ratios) > 1:
            console.print(
                f"PostgreSQL / SQLite, {size:,} credentials, {len(ratios)} rounds: median {statistics.median(ratios):.2f}x "
                f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x)"
            )
    if json_out:
        json_out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    typer.run(main)
