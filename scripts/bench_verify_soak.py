"""Soak benchmark: single-bundle `POST /v1/verify` for a bounded time, with the server's RSS at start and end.

    .venv/bin/python scripts/bench_verify_soak.py [--seconds 600] [--clients 32] [--bundles 200]

The node runs `create_app` under uvicorn in its own (forked) process against a fresh local Anvil, with the
public defaults (body 4 MiB, verify_concurrency 4) except rate limits, which are off (every request comes from
this one client IP). Clients: --clients threads, each with its own keep-alive httpx connection, cycling through
--bundles distinct anchored Open Badges 3.0 bundles (scripts/bench_verify.make_bundles).

Prints: requests/s over the soak and per tenth of it, p50/p99 latency, status counts, the server's RSS (VmRSS)
after a warm-up and at the end, and the same-run baseline: `GET /healthz` at the same concurrency (the HTTP
ceiling of this server on this machine), with the ratio.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx

from node.dev.chains import free_port, start_local_chain
from node.dev.network import bootstrap_dev_network
from scripts.bench_verify import make_bundles


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def serve(network) -> tuple[multiprocessing.Process, str]:
    import uvicorn

    from api.app import create_app
    from node.settings import Settings
    from node.storage.db import make_engine, upgrade

    tmp = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    network.deployment.save(tmp / "deployment.json")
    settings = Settings(
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'node.db'}",
        rpc_url=network.chain.rpc_url,
        deployment_file=tmp / "deployment.json",
        rate_limit_enabled=False,
        _env_file=None,
    )
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    app = create_app(settings, engine=engine)
    port = free_port()
    proc = multiprocessing.get_context("fork").Process(
        target=uvicorn.run,
        args=(app,),
        kwargs={"host": "127.0.0.1", "port": port, "log_level": "warning"},
        daemon=True,
    )
    proc.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            return proc, base
        except httpx.HTTPError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def load(base: str, seconds: float, clients: int, requests: list[tuple[str, str, bytes | None]]) -> dict:
    """``clients`` threads sending ``requests`` round-robin for ``seconds``: (time, latency, status) per reply."""
    stop = time.perf_counter() + seconds
    results: list[list[tuple[float, float, int]]] = [[] for _ in range(clients)]

    def client(i: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            n = i
            while (now := time.perf_counter()) < stop:
                method, path, body = requests[n % len(requests)]
                n += clients
                try:
                    r = http.request(method, path, content=body, headers={"content-type": "application/json"})
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                results[i].append((now, time.perf_counter() - now, status))

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    flat = sorted((x for r in results for x in r), key=lambda x: x[0])
    latencies = sorted(x[1] for x in flat)
    tenths = Counter(min(9, int((x[0] - start) / (elapsed / 10))) for x in flat)
    return {
        "requests": len(flat),
        "seconds": elapsed,
        "per_second": len(flat) / elapsed,
        "per_second_by_tenth": [round(tenths[k] / (elapsed / 10)) for k in range(10)],
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "statuses": dict(Counter(x[2] for x in flat)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=600.0, help="length of the verify soak")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--bundles", type=int, default=200)
    ap.add_argument("--baseline-seconds", type=float, default=15.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    chain = start_local_chain("anvil")
    try:
        network = bootstrap_dev_network(chain)
        bundles = make_bundles(network, args.bundles, max(1, args.bundles // 100))
        proc, base = serve(network)
        assert proc.pid is not None
        try:
            verify = [("POST", "/v1/verify", json.dumps(b).encode()) for b in bundles]
            warm = load(base, min(10.0, args.seconds / 10), args.clients, verify)
            rss_start = rss_kib(proc.pid)
            soak = load(base, args.seconds, args.clients, verify)
            rss_end = rss_kib(proc.pid)
            baseline = load(base, args.baseline_seconds, args.clients, [("GET", "/healthz", None)])
        finally:
            proc.terminate()
            proc.join(timeout=10)
    finally:
        chain.stop()
    result = {
        "warm_up": warm,
        "soak": soak,
        "baseline_healthz": baseline,
        "rss_kib_start": rss_start,
        "rss_kib_end": rss_end,
        "ratio_verify_vs_healthz": soak["per_second"] / baseline["per_second"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.bundles} distinct bundles, {args.clients} clients, soak {soak['seconds']:.0f} s")
    print(
        f"POST /v1/verify (one bundle): {soak['per_second']:7.0f} req/s  p50 {soak['p50_ms']:.0f} ms  "
        f"p99 {soak['p99_ms']:.0f} ms  statuses {soak['statuses']}"
    )
    print(f"  req/s per tenth of the soak: {soak['per_second_by_tenth']}")
    print(
        f"baseline GET /healthz       : {baseline['per_second']:7.0f} req/s  (ratio verify/healthz "
        f"{result['ratio_verify_vs_healthz']:.2f})"
    )
    print(
        f"server RSS: {rss_start / 1024:.1f} MiB after warm-up -> {rss_end / 1024:.1f} MiB at the end "
        f"({(rss_end - rss_start) / max(1, soak['requests']) * 1024:.0f} bytes per request)"
    )


if __name__ == "__main__":
    main()
