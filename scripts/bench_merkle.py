#!/usr/bin/env python3
"""Benchmark anchoring.merkle against @openzeppelin/merkle-tree (node) and blockcerts-merkletools.

    .venv/bin/python scripts/bench_merkle.py                 # 10k, 100k, 1M (OZ up to 100k)
    .venv/bin/python scripts/bench_merkle.py --quick         # 1k, 10k
    .venv/bin/python scripts/bench_merkle.py --sizes 1000,50000 --oz-max 1000000

What is timed, per library, for N random 32-byte digests:

* ours (anchoring.merkle, keccak256, OZ StandardMerkleTree layout), in one process and in two
  (``--processes``):
  build = ``MerkleTree.build(digests, processes=P)`` (double-hash leaves, sort, inner nodes);
  proofs = ``tree.all_proofs()`` (every proof, from the stored tree, no rehashing).
* OZ (``node scripts/bench_oz_merkle.mjs``): build = ``StandardMerkleTree.of(values, ['bytes32'])``;
  proofs = ``tree.getProof(i)`` for every i (OZ's API verifies each proof before returning it).
  OZ is slow (about 20 s to build 100k here), so by default it runs up to ``--oz-max`` = 100,000 leaves;
  ratios for larger sizes are against OZ's rate at its largest measured size and are marked so.
* merkletools (blockcerts-merkletools, module ``blockcerts_merkletools``, sha256, no leaf hashing, no
  sorting, odd node promoted): build = ``add_leaf(hex list)`` + ``make_tree()`` (its API takes hex);
  proofs = ``get_proof(i)`` for every i.

Leaves/s = N / seconds, each the fastest of ``--repeat`` runs.  Targets: ours >= 40x OZ; at 1M, < 2.5 s and
>= 0.4x merkletools (issue 15).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from anchoring.scheme.merkle import MerkleTree, verify_proof
from anchoring.scheme.merkle_build import TWO_PROCESS_MIN_LEAVES

OZ_SCRIPT = ROOT / "scripts" / "bench_oz_merkle.mjs"


def parse_sizes(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        mult = 1
        if part.endswith("k"):
            mult, part = 1000, part[:-1]
        elif part.endswith("m"):
            mult, part = 1_000_000, part[:-1]
        out.append(int(float(part) * mult))
    return out


def digests(n: int) -> list[bytes]:
    blob = os.urandom(32 * n)
    return [blob[i : i + 32] for i in range(0, 32 * n, 32)]


def timed(fn, repeat: int = 1):
    """(result of the last run, the fastest of ``repeat`` runs in seconds): the minimum is the figure least
    disturbed by whatever else the machine does, for ours and the baseline alike."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        result = None  # the previous run's tree is freed before the next run, not during it
        gc.collect()
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return result, best


def bench_ours(ds: list[bytes], processes: int, repeat: int) -> dict:
    tree, build_s = timed(lambda: MerkleTree.build(ds, processes=processes), repeat)
    proofs, proofs_s = timed(tree.all_proofs, repeat)
    # spot-check correctness so a fast-but-wrong build cannot pass unnoticed
    for i in (0, len(ds) // 2, len(ds) - 1):
        assert verify_proof(tree.root, ds[i], proofs[i])
    del proofs
    return {"build_s": build_s, "proofs_s": proofs_s, "root": tree.root.hex()}


def bench_merkletools(ds: list[bytes], with_proofs: bool, repeat: int) -> dict | None:
    try:
        from blockcerts_merkletools import MerkleTools
    except ImportError:
        return None
    hexes = [d.hex() for d in ds]

    def build():
        mt = MerkleTools(hash_type="sha256")
        mt.add_leaf(hexes)
        mt.make_tree()
        return mt

    mt, build_s = timed(build, repeat)
    proofs_s = None
    if with_proofs:
        get = mt.get_proof
        _, proofs_s = timed(lambda: [get(i) for i in range(len(ds))])  # once: ~40 s at 1M
    return {"build_s": build_s, "proofs_s": proofs_s}


def bench_oz(sizes: list[int], progress: Progress, task) -> dict[int, dict]:
    if not sizes:
        return {}
    if shutil.which("node") is None or not (ROOT / "node_modules" / "@openzeppelin" / "merkle-tree").exists():
        progress.console.print(
            "[yellow]node or node_modules/@openzeppelin/merkle-tree missing: OZ not measured"
        )
        return {}
    out: dict[int, dict] = {}
    proc = subprocess.Popen(
        ["node", str(OZ_SCRIPT), "--proofs", *map(str, sizes)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        row = json.loads(line)
        out[row["leaves"]] = row
        progress.advance(task)
    if proc.wait() != 0:
        raise SystemExit("OZ benchmark failed")
    return out


def rate(n: int, s: float | None) -> float | None:
    return None if not s else n / s


def both(row: dict) -> float | None:
    """Seconds for build + all proofs (what a batch costs end to end)."""
    if not row or row.get("proofs_s") is None:
        return None
    return row["build_s"] + row["proofs_s"]


def fmt_rate(r: float | None) -> str:
    return "-" if r is None else f"{r:,.0f}"


def fmt_ratio(a: float | None, b: float | None, mark: str = "") -> str:
    if a is None or b is None:
        return "-"
    r = a / b
    return f"{r:,.1f}x{mark}" if r >= 10 else f"{r:.2f}x{mark}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k,100k,1M", help="comma list, e.g. 10k,100k,1M")
    ap.add_argument("--quick", action="store_true", help="1k,10k only")
    ap.add_argument(
        "--oz-max", type=int, default=100_000, help="largest size measured with OZ (default 100000)"
    )
    ap.add_argument("--no-merkletools-proofs", action="store_true", help="skip merkletools' get_proof loop")
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per measurement in this process; the fastest is shown (default 3)",
    )
    ap.add_argument(
        "--processes",
        default="1,2",
        help="our builds to measure: 1 = one process, 2 = two (MerkleTree.build(processes=2)); default 1,2",
    )
    ap.add_argument("--json", action="store_true", help="also print the raw numbers as JSON")
    args = ap.parse_args()
    sizes = parse_sizes("1k,10k" if args.quick else args.sizes)
    processes = sorted({int(p) for p in args.processes.split(",")})
    oz_sizes = [n for n in sizes if n <= args.oz_max]
    console = Console(width=max(Console().width, 120))

    results: dict[int, dict] = {}
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        py_task = progress.add_task("ours + merkletools", total=(len(processes) + 1) * len(sizes))
        for n in sizes:
            ds = digests(n)
            results[n] = {}
            for p in processes:
                progress.update(
                    py_task, description=f"ours ({p} process{'es' if p > 1 else ''}), {n:,} leaves"
                )
                results[n][f"ours{p}"] = bench_ours(ds, p, args.repeat)
                progress.advance(py_task)
            roots = {results[n][f"ours{p}"].pop("root") for p in processes}
            assert len(roots) == 1, "the one- and two-process builds gave different roots"
            results[n]["ours"] = results[n][f"ours{processes[-1]}"]
            progress.update(py_task, description=f"merkletools, {n:,} leaves")
            results[n]["merkletools"] = bench_merkletools(ds, not args.no_merkletools_proofs, args.repeat)
            progress.advance(py_task)
            del ds
        oz_task = progress.add_task(
            f"@openzeppelin/merkle-tree (node), up to {args.oz_max:,}", total=len(oz_sizes)
        )
        oz = bench_oz(oz_sizes, progress, oz_task)
    for n, row in oz.items():
        results[n]["oz"] = row

    largest_oz = max(oz) if oz else None
    table = Table(title="Merkle tree build and proof generation, leaves per second (higher is better)")
    for col in (
        "leaves",
        "library",
        "build s",
        "build leaves/s",
        "proofs s",
        "proofs leaves/s",
        "both leaves/s",
    ):
        table.add_column(col, justify="right")
    ratios = Table(
        title=f"Ratios (ours with {processes[-1]} process{'es' if processes[-1] > 1 else ''} / other; "
        "targets: >= 40x OZ, >= 0.4x merkletools)"
    )
    for col in ("leaves", "build / OZ", "proofs / OZ", "both / OZ", "build / mt", "proofs / mt", "both / mt"):
        ratios.add_column(col, justify="right")
    for n in sizes:
        r = results[n]
        for lib in (*(f"ours{p}" for p in processes), "oz", "merkletools"):
            row = r.get(lib)
            name = {
                "ours1": "credreg (ours, 1 process)",
                "ours2": "credreg (ours, 2 processes)",
                "oz": "@openzeppelin/merkle-tree",
                "merkletools": "merkletools",
            }.get(lib, lib)
            if row is None:
                note = f"not measured (> --oz-max {args.oz_max:,})" if lib == "oz" else "not installed"
                table.add_row(f"{n:,}", name, "-", note, "-", "-", "-")
                continue
            table.add_row(
                f"{n:,}",
                name,
                f"{row['build_s']:.3f}",
                fmt_rate(rate(n, row["build_s"])),
                "-" if row.get("proofs_s") is None else f"{row['proofs_s']:.3f}",
                fmt_rate(rate(n, row.get("proofs_s"))),
                fmt_rate(rate(n, both(row))),
            )
        table.add_section()
        ours_b, ours_p = rate(n, r["ours"]["build_s"]), rate(n, r["ours"]["proofs_s"])
        ours_both = rate(n, both(r["ours"]))
        if "oz" in r:
            oz_b, oz_p, oz_both, mark = (
                rate(n, r["oz"]["build_s"]),
                rate(n, r["oz"]["proofs_s"]),
                rate(n, both(r["oz"])),
                "",
            )
        elif largest_oz is not None:
            ref = results[largest_oz]["oz"]
            oz_b, oz_p, oz_both = (
                rate(largest_oz, ref["build_s"]),
                rate(largest_oz, ref["proofs_s"]),
                rate(largest_oz, both(ref)),
            )
            mark = "*"
        else:
            oz_b = oz_p = oz_both = None
            mark = ""
        mt = r.get("merkletools") or {}
        ratios.add_row(
            f"{n:,}",
            fmt_ratio(ours_b, oz_b, mark),
            fmt_ratio(ours_p, oz_p, mark),
            fmt_ratio(ours_both, oz_both, mark),
            fmt_ratio(ours_b, rate(n, mt.get("build_s"))),
            fmt_ratio(ours_p, rate(n, mt.get("proofs_s"))),
            fmt_ratio(ours_both, rate(n, both(mt))),
        )
    console.print(table)
    console.print(ratios)
    if any(n > args.oz_max for n in sizes) and largest_oz is not None:
        console.print(
            f"* OZ not run at this size (--oz-max {args.oz_max:,}); ratio against OZ's rate at "
            f"{largest_oz:,} leaves. Run with --oz-max 1000000 to measure it (takes many minutes)."
        )
    console.print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; fastest of {args.repeat} runs each; "
        "ours with 2 processes hashes, sorts and builds half the tree in a second process (the default from "
        f"{TWO_PROCESS_MIN_LEAVES:,} leaves); merkletools is single-threaded; "
        "merkletools does no leaf hashing and no sorting (sha256, not contract-verifiable): it computes "
        "n-1 hashes per tree where the OZ scheme needs 3n-1 (two per leaf, one per inner node). "
        "'both' = build + all proofs. mt = merkletools."
    )
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
