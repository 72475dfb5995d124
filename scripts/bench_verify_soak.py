"""Soak benchmark: single-bundle `POST /v1/verify` for a bounded time, with the API workers' RSS at start and end.

    .venv/bin/python scripts/bench_verify_soak.py [--seconds 600] [--connections 32] [--workers 2] [--bundles 200]

The node runs as `credreg serve --workers N` (its own processes, SQLite, the public defaults: body 4 MiB,
verify_concurrency 4 per worker) against a fresh local Anvil, except rate limits, which are off (every request
comes from this one client address). Load: `wrk` (Debian's package; `make bench` installs it) with
--connections keep-alive connections, each request one of --bundles distinct anchored Open Badges 3.0 bundles
(scripts/bench_verify.make_bundles: some revoked, one suspended), in turn. Before the soak every bundle is verified
once and the verdicts counted, so the figures are of real verifications.

Prints: requests/s over the soak and per tenth of it (the soak runs as ten consecutive wrk runs), p50/p99 latency
per tenth, non-2xx answers, the workers' summed RSS (VmRSS) after a warm-up and after each tenth, and the same-run
baseline: `GET /healthz` at the same concurrency and worker count (the HTTP ceiling of this server on this
machine), with the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx

from node.dev.chains import free_port, start_local_chain
from node.dev.network import bootstrap_dev_network
from scripts.bench_verify import make_bundles

WRK_SCRIPT = """
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
local n = 0
local headers = {["Content-Type"] = "application/json"}
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/verify", headers, bodies[(n % #bodies) + 1])
end
"""


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants (the uvicorn supervisor and its workers)."""
    total = 0
    pending = [pid]
    while pending:
        p = pending.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        pending.extend(int(c) for c in children)
    return total


def serve(network, workers: int, work: Path) -> tuple[subprocess.Popen, str]:
    network.deployment.save(work / "deployment.json")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDREG_")}
    env.update(
        {
            "CREDREG_ENV_FILE": os.devnull,
            "CREDREG_DATA_DIR": str(work),
            "CREDREG_DATABASE_URL": f"sqlite:///{work / 'node.db'}",
            "CREDREG_RPC_URL": network.chain.rpc_url,
            "CREDREG_DEPLOYMENT_FILE": str(work / "deployment.json"),
            "CREDREG_RATE_LIMIT_ENABLED": "false",
            "PYTHONPATH": str(REPO),
        }
    )
    log = (work / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "serve", "--workers", str(workers), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while True:
        if proc.poll() is not None:
            raise RuntimeError((work / "serve.log").read_text()[-3000:])
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.time() > deadline:
            raise RuntimeError("the node did not start within 300 s")
        time.sleep(0.2)
    # every worker answers before the clock starts
    for _ in range(20 * workers):
        httpx.get(f"{base}/healthz", timeout=10)
    return proc, base


def wrk(base: str, seconds: float, connections: int, script: Path | None, env: dict[str, str]) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run(
        [*cmd, f"{base}/healthz" if script is None else base],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        m = re.search(rf"\s{label}\s+([\d.]+)(us|ms|s)\b", out)
        assert m, out
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests": requests,
        "per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=600.0, help="length of the verify soak")
    ap.add_argument("--connections", type=int, default=32, help="wrk keep-alive connections")
    ap.add_argument("--workers", type=int, default=2, help="API worker processes (`credreg serve --workers`)")
    ap.add_argument("--bundles", type=int, default=200, help="distinct bundles, verified in turn")
    ap.add_argument("--baseline-seconds", type=float, default=15.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk (Debian), or run `make bench` as root")

    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    chain = start_local_chain("anvil")
    try:
        print(f"anchoring {args.bundles} bundles on a fresh Anvil ...", flush=True)
        network = bootstrap_dev_network(chain)
        bundles = make_bundles(network, args.bundles, max(1, args.bundles // 100))
        bodies = [json.dumps(b, separators=(",", ":")) for b in bundles]
        (work / "bodies.jsonl").write_text("\n".join(bodies) + "\n")
        script = work / "verify.lua"
        script.write_text(WRK_SCRIPT)
        env = {**os.environ, "BENCH_BODIES": str(work / "bodies.jsonl")}
        print(f"starting `credreg serve --workers {args.workers}` ...", flush=True)
        proc, base = serve(network, args.workers, work)
        try:
            verdicts = Counter(
                httpx.post(
                    f"{base}/v1/verify", content=b, headers={"content-type": "application/json"}, timeout=30
                ).json()["verdict"]
                for b in bodies
            )
            print(f"verdicts of the {len(bodies)} bundles: {dict(verdicts)}", flush=True)
            warm = wrk(base, min(10.0, max(2.0, args.seconds / 10)), args.connections, script, env)
            rss_start = rss_kib(proc.pid)
            tenths, rss = [], [rss_start]
            for i in range(10):
                tenths.append(wrk(base, args.seconds / 10, args.connections, script, env))
                rss.append(rss_kib(proc.pid))
                t = tenths[-1]
                print(
                    f"  tenth {i + 1}: {t['per_second']:7.0f} req/s  p50 {t['p50_ms']:.1f} ms  "
                    f"p99 {t['p99_ms']:.1f} ms  non-2xx {t['non_2xx']}  RSS {rss[-1] / 1024:.1f} MiB",
                    flush=True,
                )
            baseline = wrk(base, args.baseline_seconds, args.connections, None, env)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        chain.stop()
        shutil.rmtree(work, ignore_errors=True)
    requests = sum(t["requests"] for t in tenths)
    per_second = statistics.mean(t["per_second"] for t in tenths)
    result = {
        "workers": args.workers,
        "connections": args.connections,
        "verdicts": dict(verdicts),
        "warm_up": warm,
        "tenths": tenths,
        "requests": requests,
        "per_second": per_second,
        "non_2xx": sum(t["non_2xx"] for t in tenths),
        "baseline_healthz": baseline,
        "rss_kib": rss,
        "ratio_verify_vs_healthz": per_second / baseline["per_second"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{args.bundles} distinct bundles, {args.connections} connections, {args.workers} worker(s), "
        f"soak {args.seconds:.0f} s, {requests:,} requests"
    )
    print(
        f"POST /v1/verify (one bundle): {per_second:7.0f} req/s  (tenths: "
        f"{[round(t['per_second']) for t in tenths]})  p99 per tenth max "
        f"{max(t['p99_ms'] for t in tenths):.1f} ms  non-2xx {result['non_2xx']}"
    )
    print(
        f"baseline GET /healthz       : {baseline['per_second']:7.0f} req/s  p99 {baseline['p99_ms']:.1f} ms  "
        f"(ratio verify/healthz {result['ratio_verify_vs_healthz']:.2f})"
    )
    print(
        f"workers' RSS: {rss_start / 1024:.1f} MiB after warm-up -> {rss[-1] / 1024:.1f} MiB at the end "
        f"(max {max(rss) / 1024:.1f}; {(rss[-1] - rss_start) * 1024 / max(1, requests):.1f} bytes per request)"
    )


if __name__ == "__main__":
    main()
