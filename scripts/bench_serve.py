"""Proof-serving benchmark: `GET /v1/proofs/{digest}` on a node holding N anchored credentials, against a trivial
FastAPI endpoint returning the same JSON, the node as `credreg serve --workers N` and the trivial app under uvicorn
with as many workers (1 and 2 by default, `--workers`), driven by `wrk` (Debian's package) with random digests.

    python scripts/bench_serve.py                          # 100k credentials in batches of 1,000 (quick)
    python scripts/bench_serve.py --credentials 1000000    # the issue's figure: 1M credentials, 1,000 batches
    python scripts/bench_serve.py --in-process-only        # only the in-process endpoint-body comparison
    python scripts/bench_serve.py --no-access-log          # both servers without uvicorn's access log

Prints, per concurrency (16 and 64), req/s and p50/p99 latency of both servers and the node's ratio to the
trivial endpoint (min/median/max over --runs runs), a paced run (`--rate`, default about 1,000 req/s: 16
connections, each pausing ~14 ms between requests; the table shows the rate reached) for the latency below
saturation, and the in-process cost of the endpoint body: the current
path (one Core query plus the sibling nodes sliced out of the stored tree) against the previous one (ORM rows with
the whole tree blob, parsed and kept in a 32-tree LRU) in the same run.

The credentials are written straight into a fresh SQLite database (real trees, batches marked confirmed), not
through the API: this measures reads, `scripts/bench_ingest.py` measures writes.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # measure the checkout this script is in

from anchoring.scheme.encoding import to_hex
from anchoring.scheme.merkle import MerkleTree
from node.auth.tokens import get_or_create_issuer
from node.dev.chains import free_port
from node.reads.lookup import load_credential
from node.reads.proofs import proof_for
from node.storage.db import make_engine, session_scope, upgrade
from node.storage.db import session_factory as make_session_factory
from node.storage.models import Batch, Credential
from node.storage.trees import load_tree

console = Console()

TRIVIAL_APP = """
import json, os
from fastapi import FastAPI
from fastapi.responses import Response
BODY = open(os.environ["BENCH_BODY"], "rb").read()
DOC = json.loads(BODY)
app = FastAPI()

@app.get("/v1/proofs/{digest}")
def proof(digest: str) -> dict:
    return DOC
"""


def load(db_url: str, credentials: int, batch_size: int) -> list[str]:
    """N anchored credentials in batches of ``batch_size``; returns their digests."""
    engine = make_engine(db_url)
    upgrade(engine)
    sf = make_session_factory(engine)
    with session_scope(sf) as s:
        issuer_id = get_or_create_issuer(s, "Bench University", "0x" + "ab" * 20).id
    rng = random.Random(7)
    ct, bt = Credential.__table__, Batch.__table__
    now = datetime.now(UTC).replace(tzinfo=None)
    digests: list[str] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("loading credentials", total=credentials)
        for start in range(0, credentials, batch_size):
            n = min(batch_size, credentials - start)
            values = [rng.randbytes(32) for _ in range(n)]
            tree = MerkleTree.build(values)
            with engine.begin() as c:
                bid = c.execute(
                    bt.insert()
                    .values(
                        issuer_id=issuer_id,
                        root=to_hex(tree.root),
                        size=n,
                        state="confirmed",
                        tree=tree.to_bytes(),
                        chain_id=31337,
                        contract_address="0x5FbDB2315678afecb367f032d93F642f64180aa3",
                        nonce=start // batch_size,
                        tx_hash=to_hex(rng.randbytes(32)),
                        block_number=100 + start // batch_size,
                        block_hash=to_hex(rng.randbytes(32)),
                        block_timestamp=1_780_000_000,
                        confirmations=2,
                        created_at=now,
                        confirmed_at=now,
                    )
                    .returning(bt.c.id)
                ).scalar_one()
                rows = [
                    {
                        "digest": to_hex(v),
                        "salt": b"\0" * 16,
                        "canonical": b"{}",
                        "issuer_id": issuer_id,
                        "external_id": f"urn:bench:{start + i}",
                        "status": "anchored",
                        "batch_id": bid,
                        "leaf_index": i,
                        "created_at": now,
                        "anchored_at": now,
                    }
                    for i, v in enumerate(values)
                ]
                c.execute(ct.insert(), rows)
            digests += (r["digest"] for r in rows)
            progress.update(task, advance=n)
    with engine.begin() as c:
        c.execute(sa.text("ANALYZE"))
    engine.dispose()
    return digests


def previous_path(session, digest: str) -> list[str]:
    """The endpoint body before proofs were sliced: ORM rows, the whole tree blob parsed (32-tree LRU)."""
    cred, batch, _issuer = load_credential(session, digest)
    assert batch is not None and cred.leaf_index is not None
    return [to_hex(h) for h in load_tree(batch).proof_at(cred.leaf_index)]


def in_process(db_url: str, digests: list[str], samples: int, runs: int) -> dict[str, list[float]]:
    """CPU milliseconds per endpoint body (this process's CPU time: robust to a loaded machine), previous and
    current path, interleaved runs on the same digests."""
    engine = make_engine(db_url)
    sf = make_session_factory(engine)
    rng = random.Random(11)
    out: dict[str, list[float]] = {"previous": [], "current": []}
    for _ in range(runs):
        chosen = rng.sample(digests, min(samples, len(digests)))
        for name, fn in (
            ("previous", previous_path),
            ("current", lambda s, d: proof_for(s.connection(), d).proof),
        ):
            t = time.process_time()
            for d in chosen:
                with sf() as s:
                    fn(s, d)
            out[name].append((time.process_time() - t) * 1000 / len(chosen))
    engine.dispose()
    return out


def serve(cmd: list[str], env: dict[str, str], port: int, log: Path, workers: int) -> subprocess.Popen:
    with log.open("ab") as out:  # a file, not a pipe: an unread pipe fills up and stops the server
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300  # a loaded machine imports slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            for _ in range(20 * workers):  # every worker is up before the clock starts
                httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=10)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start within 300 s")


WRK_SCRIPT = """
local digests = {}
for line in io.lines(os.getenv("BENCH_DIGESTS")) do digests[#digests + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/v1/proofs/" .. digests[math.random(#digests)])
end
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if pause > 0 then
  delay = function() return pause end
end
"""


def wrk(
    port: int, connections: int, seconds: int, script: Path, env: dict[str, str], rate: int = 0
) -> dict[str, float]:
    """One wrk run; with `rate`, every connection pauses between its requests (wrk's `delay()`) for its share of
    the period less ~2 ms (a request's own time at that load), so the offered load is about `rate` req/s and the
    latency is measured below saturation; the table shows the rate reached."""
    if rate:
        env = {**env, "BENCH_DELAY_MS": str(max(1, round(connections * 1000 / rate) - 2))}
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        m = re.search(rf"\s{label}\s+([\d.]+)(us|ms|s)\b", out)
        assert m, out
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed requests:\n{out}")
    return {"rps": rps, "p50": ms("50%"), "p99": ms("99%")}


def spread(xs: list[float], fmt: str = "{:,.0f}") -> str:
    return " / ".join(fmt.format(x) for x in (min(xs), statistics.median(xs), max(xs)))


def main(
    credentials: int = typer.Option(
        100_000, help="anchored credentials to load (the issue's figure: 1000000)"
    ),
    batch_size: int = typer.Option(1_000, help="credentials per batch"),
    connections: str = typer.Option("16,64", help="wrk connection counts"),
    seconds: int = typer.Option(10, help="wrk duration per run"),
    runs: int = typer.Option(3, help="runs per figure (min/median/max)"),
    workers: str = typer.Option("1,2", help="API worker counts (node and trivial app alike)"),
    rate: int = typer.Option(
        1_000,
        help="also a paced run at about this many req/s (16 connections) for p99 below saturation; 0: none",
    ),
    samples: int = typer.Option(2_000, help="digests per in-process run"),
    access_log: bool = typer.Option(
        True,
        "--access-log/--no-access-log",
        help="both servers with uvicorn's access log (the default of each) or both without it",
    ),
    in_process_only: bool = typer.Option(False, help="skip the HTTP part"),
    json_out: bool = typer.Option(False, "--json", help="print the figures as JSON"),
) -> None:
    work = Path(tempfile.mkdtemp(prefix="credreg-bench-serve-"))
    try:
        db_url = f"sqlite:///{work / 'credreg.db'}"
        t = time.perf_counter()
        digests = load(db_url, credentials, batch_size)
        console.print(
            f"{credentials:,} anchored credentials in {credentials // batch_size:,} batches "
            f"loaded in {time.perf_counter() - t:.1f} s"
        )
        figures: dict = {"credentials": credentials, "batch_size": batch_size}
        ip = in_process(db_url, digests, samples, runs)
        figures["in_process_ms"] = ip
        ratio = [p / c for p, c in zip(ip["previous"], ip["current"], strict=True)]
        console.print(
            f"endpoint body in process, CPU ms (min/median/max of {runs}): previous {spread(ip['previous'], '{:.3f}')}, "
            f"current {spread(ip['current'], '{:.3f}')}; current is {spread(ratio, '{:.1f}')}x faster"
        )
        if not in_process_only:
            conns = [int(c) for c in connections.split(",")]
            figures["http"] = {
                f"workers{w}": http(db_url, digests, work, conns, seconds, runs, int(w), rate, access_log)
                for w in workers.split(",")
            }
        if json_out:
            print(json.dumps(figures))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def http(
    db_url: str,
    digests: list[str],
    work: Path,
    conns: list[int],
    seconds: int,
    runs: int,
    workers: int,
    rate: int = 0,
    access_log: bool = True,
) -> dict:
    if shutil.which("wrk") is None:
        console.print("wrk is missing: apt-get install wrk (Debian), or run `make bench` as root")
        raise typer.Exit(1)
    digest_file = work / "digests.txt"
    digest_file.write_text("\n".join(digests) + "\n")
    script = work / "proofs.lua"
    script.write_text(WRK_SCRIPT)
    (work / "trivial_app.py").write_text(TRIVIAL_APP)
    env = {**os.environ, "CREDREG_DATABASE_URL": db_url, "BENCH_DIGESTS": str(digest_file)}
    env["PYTHONPATH"] = f"{REPO_ROOT}{os.pathsep}{work}"
    node_port, trivial_port = free_port(), free_port()
    # the node as operators run it (`credreg serve --workers N`: gc.freeze after start-up), rate limits off (wrk is
    # one client address); the trivial app under plain uvicorn with as many workers; both log each request, or
    # neither does (the access log costs either ~40-90 us a request: a baseline without it was not the same server)
    node_env = {k: v for k, v in env.items() if not k.startswith("CREDREG_")}
    node_env.update(
        {
            "CREDREG_ENV_FILE": os.devnull,
            "CREDREG_DATA_DIR": str(work),
            "CREDREG_DATABASE_URL": db_url,
            "CREDREG_RATE_LIMIT_ENABLED": "false",
        }
    )
    node_cmd = [
        sys.executable,
        "-m",
        "node.cli",
        "serve",
        "--workers",
        str(workers),
        "--port",
        str(node_port),
        "--access-log" if access_log else "--no-access-log",
    ]
    node = serve(node_cmd, node_env, node_port, work / "node.log", workers)
    try:
        body = httpx.get(f"http://127.0.0.1:{node_port}/v1/proofs/{digests[0]}").content
        (work / "body.json").write_bytes(body)
        env["BENCH_BODY"] = str(work / "body.json")
        uvicorn = [sys.executable, "-m", "uvicorn", "--access-log" if access_log else "--no-access-log"]
        trivial_cmd = [
            *uvicorn,
            "--host",
            "127.0.0.1",
            "--port",
            str(trivial_port),
            "--workers",
            str(workers),
        ]
        trivial = serve([*trivial_cmd, "trivial_app:app"], env, trivial_port, work / "trivial.log", workers)
        try:
            out: dict = {"body_bytes": len(body), "workers": workers, "access_log": access_log}
            table = Table(
                title=f"GET /v1/proofs/{{digest}}, {len(digests):,} credentials, {workers} worker(s) each, "
                f"access log {'on' if access_log else 'off'}, min / median / max of {runs}"
            )
            for col in ("c", "server", "req/s", "p50 ms", "p99 ms", "node / trivial"):
                table.add_column(col, justify="right")

            def measure(label: str, c: int, paced_at: int = 0) -> dict[str, list[dict[str, float]]]:
                res: dict[str, list[dict[str, float]]] = {"node": [], "trivial": []}
                for _ in range(runs):  # interleaved: both see the same machine load
                    res["node"].append(wrk(node_port, c, seconds, script, env, paced_at))
                    res["trivial"].append(wrk(trivial_port, c, seconds, script, env, paced_at))
                ratio = [n["rps"] / t["rps"] for n, t in zip(res["node"], res["trivial"], strict=True)]
                for name in ("node", "trivial"):
                    rows = res[name]
                    table.add_row(
                        label,
                        name,
                        spread([r["rps"] for r in rows]),
                        spread([r["p50"] for r in rows], "{:.1f}"),
                        spread([r["p99"] for r in rows], "{:.1f}"),
                        spread(ratio, "{:.0%}") if name == "node" and not paced_at else "",
                    )
                return res if paced_at else {**res, "ratio": ratio}

            for c in conns:
                out[f"c{c}"] = measure(str(c), c)
            if rate:
                out[f"rate{rate}"] = measure(f"~{rate:,}/s", 16, rate)
            console.print(table)
            return out
        finally:
            trivial.terminate()
            trivial.wait(10)
    finally:
        node.terminate()
        node.wait(10)


if __name__ == "__main__":
    typer.run(main)
