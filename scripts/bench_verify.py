"""Benchmark: bundles verified per second, by `verify_bundles` (the `credreg verify` path) and by
`POST /v1/verify`, against a fresh local Anvil, with the naive path as baseline in the same run.

    .venv/bin/python scripts/bench_verify.py [--bundles 10000] [--batches 10] [--chunk 1000] [--sample 300]

* bundles: realistic Open Badges 3.0 micro-credentials (scripts/examples/ob3-microcredential.json with a
  distinct id and learner each), 10 batches anchored by the dev TI, a few revoked and suspended;
* CLI path: `verify_bundles(bundles, ChainContext(...))`, one run over all bundles (RPC calls counted);
* the CLI itself: `credreg verify FILE... --json` as a user runs it, one file per bundle (a fresh process: its
  start-up, reading the files and writing the report included), by default (two processes from 400 files on, with
  2+ CPUs) and with `--processes 1`, each the faster of 2 runs, against the in-process path above; start-up is the
  same command on one bundle file (min of 3) and `credreg verify --help`. The package is byte-compiled first, as
  `pip install` leaves it (with PYTHONDONTWRITEBYTECODE set, as here, every run would compile it again);
* API path: `POST /v1/verify` with `{"bundles": [...]}` in chunks of --chunk, served by uvicorn in a thread;
* baseline: the naive path on --sample bundles: `ProofBundle.load` (full JSON Schema and integrity check)
  plus one `CredentialAnchor.verify` eth_call per bundle (and nothing else: no registry checks, so the naive
  figure is an upper bound on what a per-bundle verifier achieves).
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from web3 import HTTPProvider

from anchoring.bundle.v1 import Anchor, ProofBundle
from anchoring.chain.transactions import TransactionSender
from anchoring.scheme.digest import hash_credential
from anchoring.scheme.merkle import MerkleTree
from anchoring.verify.context import ChainContext
from anchoring.verify.run import verify_bundles
from node.dev.chains import free_port, start_local_chain
from node.dev.network import DEV_DIDS, bootstrap_dev_network


class CountingProvider(HTTPProvider):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.calls = 0

    def make_request(self, method, params):
        self.calls += 1
        return super().make_request(method, params)


def make_bundles(network, n_bundles: int, n_batches: int) -> list[dict]:
    template = json.loads((REPO / "scripts" / "examples" / "ob3-microcredential.json").read_text())
    template["issuer"]["id"] = DEV_DIDS["issuer"]
    w3 = network.chain.web3()
    sender = TransactionSender(w3, network.issuer)
    anchor = network.anchor(w3)
    per = n_bundles // n_batches
    bundles: list[dict] = []
    for b in range(n_batches):
        creds = []
        for i in range(per):
            c = copy.deepcopy(template)
            c["id"] = f"urn:uuid:bench-{b}-{i}"
            c["credentialSubject"]["id"] = f"did:example:learner-{b}-{i}"
            creds.append(c)
        hashed = [hash_credential(c) for c in creds]
        tree = MerkleTree.build([h.digest for h in hashed])
        conf = sender.transact(anchor.anchor(tree.root, per))
        at = w3.eth.get_block(conf.block_number)["timestamp"]
        a = Anchor(
            network.deployment.chain_id,
            network.deployment.credential_anchor,
            bytes(conf.receipt["transactionHash"]),
            conf.block_number,
            network.issuer.address,
            at,
        )
        proofs = tree.all_proofs()
        batch = [
            ProofBundle(c, h.salt, h.digest, tuple(proofs[i]), tree.root, a).dump()
            for i, (c, h) in enumerate(zip(creds, hashed, strict=False))
        ]
        if b == 3:  # some revoked, some suspended: the status path is exercised
            multi = tree.multiproof([hashed[i].digest for i in (1, 2, 3)])
            sender.transact(anchor.revoke(tree.root, multi.leaves, multi.proof, multi.proof_flags, 4))
            multi = tree.multiproof([hashed[7].digest])
            sender.transact(anchor.suspend(tree.root, multi.leaves, multi.proof, multi.proof_flags, 9))
        bundles.extend(batch)
    return bundles


def bench_cli_path(network, bundles) -> dict:
    provider = CountingProvider(network.chain.rpc_url, request_kwargs={"timeout": 30})
    chain = ChainContext(network.chain.rpc_url, network.deployment, provider=provider)
    t = time.perf_counter()
    reports = verify_bundles(bundles, chain)
    elapsed = time.perf_counter() - t
    verdicts = {v: sum(r.verdict == v for r in reports) for v in ("valid", "invalid", "error")}
    return {
        "bundles": len(bundles),
        "seconds": elapsed,
        "per_second": len(bundles) / elapsed,
        "rpc_calls": provider.calls,
        "verdicts": verdicts,
    }


def _credreg_verify(network, deployment: Path, files: list[Path], *extra: str) -> tuple[float, int, bytes]:
    cmd = [
        str(Path(sys.executable).with_name("credreg")),
        "verify",
        *map(str, files),
        "--json",
        "--no-progress",
        *extra,
    ]
    cmd += ["--rpc", network.chain.rpc_url, "--deployment", str(deployment)]
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, check=False)
    return time.perf_counter() - t, done.returncode, done.stdout


def bench_cli_process(network, bundles) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-verify-cli-") as tmp:  # 10,000 files: not left behind
        work = Path(tmp)
        deployment = work / "deployment.json"
        network.deployment.save(deployment)
        files = []
        for i, bundle in enumerate(bundles):
            files.append(work / f"bundle-{i:05d}.json")
            files[-1].write_text(json.dumps(bundle))
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "anchoring")], check=True)
        runs = [_credreg_verify(network, deployment, files) for _ in range(2)]
        seconds, code, out = min(runs)
        report = json.loads(out)
        one_process = min(
            _credreg_verify(network, deployment, files, "--processes", "1")[0] for _ in range(2)
        )
        one = min(_credreg_verify(network, deployment, files[:1])[0] for _ in range(3))
    help_cmd = [str(Path(sys.executable).with_name("credreg")), "verify", "--help"]
    helps = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run(help_cmd, capture_output=True, check=True)
        helps.append(time.perf_counter() - t)
    return {
        "bundles": len(files),
        "seconds": seconds,
        "per_second": len(files) / seconds,
        "exit_code": code,
        "counts": report["counts"],
        "one_process_seconds": one_process,
        "one_process_per_second": len(files) / one_process,
        "one_file_seconds": one,
        "help_seconds": min(helps),
    }


def bench_api_path(network, bundles, chunk: int, in_thread: bool = False) -> dict:
    import httpx
    import uvicorn

    from api.app import create_app
    from node.settings import Settings
    from node.storage.db import make_engine, upgrade

    tmp = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    network.deployment.save(tmp / "deployment.json")
    settings = Settings(
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'node.db'}",
        rpc_url=network.chain.rpc_url,
        deployment_file=tmp / "deployment.json",
        # chunks of --chunk bundles (1,000 OB3 bundles are about 5 MB): past the public defaults on purpose
        max_verify_bytes=256 * 1024 * 1024,
        max_verify_bundles=max(chunk, 1),
        rate_limit_enabled=False,
    )
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    app = create_app(settings, engine=engine)
    port = free_port()
    # the server runs in its own (forked) process, as in production: the client's JSON work does not
    # share its GIL.  --api-in-thread measures the single-process set-up the tests use.
    if in_thread:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)

        def stop():
            return (setattr(server, "should_exit", True), thread.join(timeout=10))
    else:
        ctx = multiprocessing.get_context("fork")
        proc = ctx.Process(
            target=uvicorn.run,
            args=(app,),
            kwargs={"host": "127.0.0.1", "port": port, "log_level": "warning"},
            daemon=True,
        )
        proc.start()
        deadline = time.time() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

        def stop():
            return (proc.terminate(), proc.join(timeout=10))

    try:
        bodies = [
            json.dumps({"bundles": bundles[i : i + chunk]}).encode() for i in range(0, len(bundles), chunk)
        ]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            valid = 0
            t = time.perf_counter()
            for body in bodies:
                r = client.post("/v1/verify", content=body, headers={"content-type": "application/json"})
                r.raise_for_status()
                valid += r.json()["counts"]["valid"]
            elapsed = time.perf_counter() - t
    finally:
        stop()
    return {
        "bundles": len(bundles),
        "chunk": chunk,
        "server": "thread" if in_thread else "process",
        "requests": len(bodies),
        "seconds": elapsed,
        "per_second": len(bundles) / elapsed,
        "valid": valid,
    }


def bench_naive(network, bundles, sample: int) -> dict:
    w3 = network.chain.web3()
    anchor = network.anchor(w3)
    step = max(1, len(bundles) // sample)
    chosen = bundles[::step][:sample]
    t = time.perf_counter()
    for obj in chosen:
        b = ProofBundle.load(obj)
        anchor.verify(b.anchor.issuer, b.digest, b.root, b.proof)
    elapsed = time.perf_counter() - t
    return {
        "bundles": len(chosen),
        "seconds": elapsed,
        "per_second": len(chosen) / elapsed,
        "rpc_calls": len(chosen),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundles", type=int, default=10_000)
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--chunk", type=int, default=1000, help="bundles per POST /v1/verify")
    ap.add_argument("--sample", type=int, default=300, help="bundles for the naive baseline")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--api-in-thread", action="store_true", help="serve the API in a thread of this process")
    args = ap.parse_args()

    chain = start_local_chain("anvil")
    try:
        network = bootstrap_dev_network(chain)
        t = time.perf_counter()
        bundles = make_bundles(network, args.bundles, args.batches)
        setup = time.perf_counter() - t
        naive = bench_naive(network, bundles, args.sample)
        cli = bench_cli_path(network, bundles)
        process = bench_cli_process(network, bundles)
        api = bench_api_path(network, bundles, args.chunk, args.api_in_thread)
    finally:
        chain.stop()
    result = {
        "setup_seconds": setup,
        "naive": naive,
        "verify_bundles": cli,
        "credreg_verify": process,
        "api": api,
        "speedup_verify_bundles": cli["per_second"] / naive["per_second"],
        "speedup_api": api["per_second"] / naive["per_second"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{len(bundles)} bundles in {args.batches} batches (built and anchored in {setup:.1f} s)")
    print(
        f"naive baseline  : {naive['per_second']:8.0f} bundles/s  ({naive['bundles']} sampled, "
        f"ProofBundle.load + 1 CredentialAnchor.verify call each)"
    )
    print(
        f"verify_bundles  : {cli['per_second']:8.0f} bundles/s  ({cli['seconds']:.2f} s, {cli['rpc_calls']} RPC "
        f"calls, {cli['verdicts']})  x{result['speedup_verify_bundles']:.1f} vs naive"
    )
    print(
        f"credreg verify  : {process['per_second']:8.0f} bundles/s  ({process['bundles']} files, "
        f"{process['seconds']:.2f} s, exit {process['exit_code']}, {process['counts']})  "
        f"{process['per_second'] / cli['per_second']:.0%} of verify_bundles; start-up: one file "
        f"{process['one_file_seconds']:.2f} s, --help {process['help_seconds']:.2f} s"
    )
    print(
        f"  --processes 1 : {process['one_process_per_second']:8.0f} bundles/s  ({process['one_process_seconds']:.2f} s)"
        f"  {process['one_process_per_second'] / cli['per_second']:.0%} of verify_bundles"
    )
    print(
        f"POST /v1/verify : {api['per_second']:8.0f} bundles/s  ({api['requests']} requests of {api['chunk']}, "
        f"{api['seconds']:.2f} s, server in a {api['server']})  x{result['speedup_api']:.1f} vs naive"
    )


if __name__ == "__main__":
    main()
