"""Static analysis of the contracts with slither, offline, as a gate: no high or medium finding left unexplained.

    python scripts/slither_check.py [--accepted docs/security.md] [--json report.json] [--slither-json raw.json]
    python scripts/slither_check.py --from raw.json --accepted other.md      # judge a saved slither report

Compiles contracts/ with the Hardhat project (the npm solc, no compiler download) into a temporary folder, runs
slither on it (``slither . --hardhat-ignore-compile --filter-paths node_modules``) and compares every high and
medium finding, keyed by detector and function (``incorrect-equality IssuerRegistry._transition``), with the
accepted findings listed in docs/security.md (lines ``| <detector> | <Contract.function> | ...``). Exits 0 when
every finding is explained and every explanation still matches a finding, 1 otherwise, 2 when slither or the
compiler cannot run. Prints the counts by impact.

slither-analyzer (0.11.6) pins web3 < 8 while the node uses web3 8, so it lives in a virtualenv of its own:
``.venv-slither`` (made by ``make lint``), or the path in ``CREDREG_SLITHER``, or ``slither`` on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GATED = ("High", "Medium")
ACCEPTED_ROW = re.compile(r"^\|\s*`?([a-z0-9-]+)`?\s*\|\s*`?([A-Za-z0-9_]+\.[A-Za-z0-9_]+)`?\s*\|", re.M)


def slither_binary() -> str | None:
    for candidate in (os.environ.get("CREDREG_SLITHER"), str(REPO / ".venv-slither" / "bin" / "slither")):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("slither")


def accepted(doc: Path) -> set[tuple[str, str]]:
    return set(ACCEPTED_ROW.findall(doc.read_text(encoding="utf-8"))) if doc.exists() else set()


def run(slither: str, workdir: Path) -> dict:
    env = {
        **os.environ,
        "CREDREG_HH_ARTIFACTS": str(workdir / "artifacts"),
        "CREDREG_HH_CACHE": str(workdir / "cache"),
    }
    npx = shutil.which("npx") or "npx"
    compiled = subprocess.run(
        [npx, "hardhat", "compile", "--quiet"], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    if compiled.returncode != 0:
        raise RuntimeError(f"hardhat compile failed: {compiled.stderr[-2000:]}")
    out = workdir / "slither.json"
    done = subprocess.run(
        [slither, ".", "--hardhat-ignore-compile", "--filter-paths", "node_modules", "--json", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if not out.exists():
        raise RuntimeError(f"slither produced no report (exit {done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(out.read_text())
    if not report.get("success"):
        raise RuntimeError(f"slither failed: {report.get('error')}")
    return report


def findings(report: dict) -> list[dict]:
    out = []
    for r in report.get("results", {}).get("detectors", []):
        element = next((e for e in r.get("elements", []) if e.get("type") == "function"), None)
        where = "?"
        if element is not None:
            parent = element.get("type_specific_fields", {}).get("parent", {}).get("name", "?")
            where = f"{parent}.{element['name'].split('(')[0]}"
        out.append(
            {
                "check": r["check"],
                "impact": r["impact"],
                "confidence": r["confidence"],
                "where": where,
                "description": r["description"].strip().splitlines()[0],
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accepted", type=Path, default=REPO / "docs" / "security.md")
    parser.add_argument("--json", type=Path, help="write the findings and the verdict here")
    parser.add_argument("--slither-json", type=Path, help="also keep slither's own JSON report here")
    parser.add_argument(
        "--from", dest="saved", type=Path, help="judge this saved slither JSON instead of running it"
    )
    args = parser.parse_args(argv)
    if args.saved is not None:
        report = json.loads(args.saved.read_text())
    else:
        slither = slither_binary()
        if slither is None:
            print(
                "slither is not installed: run `make lint` (it makes .venv-slither) or set CREDREG_SLITHER",
                file=sys.stderr,
            )
            return 2
        try:
            with tempfile.TemporaryDirectory(prefix="credreg-slither-") as tmp:
                report = run(slither, Path(tmp))
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.slither_json:
            args.slither_json.write_text(json.dumps(report))
    found = findings(report)
    gated = {(f["check"], f["where"]) for f in found if f["impact"] in GATED}
    explained = accepted(args.accepted)
    unexplained = sorted(gated - explained)
    stale = sorted(explained - gated)
    by_impact = Counter(f["impact"] for f in found)
    print(
        "slither: "
        + ", ".join(f"{n} {impact.lower()}" for impact, n in sorted(by_impact.items()))
        + " findings"
    )
    for check, where in unexplained:
        print(f"UNEXPLAINED {check} in {where}: explain it in {args.accepted} or fix the contract")
    for check, where in stale:
        print(
            f"STALE explanation {check} in {where}: slither no longer reports it; remove it from {args.accepted}"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"findings": found, "unexplained": unexplained, "stale": stale}, indent=2) + "\n"
        )
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    sys.exit(main())
