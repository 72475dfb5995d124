"""Compile contracts/ with Hardhat (npm solc, offline) and refresh the artifacts shipped in `anchoring`.

python scripts/build_artifacts.py            # rewrite anchoring/chain/artifacts/*.json
python scripts/build_artifacts.py --check    # exit 1 when the shipped artifacts are stale
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import typer

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "anchoring" / "chain" / "artifacts"
CONTRACTS = ("IssuerRegistry", "CredentialAnchor")


def compile_contracts(work_dir: Path) -> dict[str, dict]:
    """Run a fresh Hardhat compile into `work_dir` and return the slim artifact of each contract."""
    env = dict(
        os.environ,
        CREDREG_HH_ARTIFACTS=str(work_dir / "artifacts"),
        CREDREG_HH_CACHE=str(work_dir / "cache"),
        HARDHAT_DISABLE_TELEMETRY_PROMPT="true",
    )
    subprocess.run(
        [str(REPO / "node_modules" / ".bin" / "hardhat"), "compile", "--quiet"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    artifacts = {}
    for name in CONTRACTS:
        full = json.loads((work_dir / "artifacts" / "contracts" / f"{name}.sol" / f"{name}.json").read_text())
        artifacts[name] = {
            "contractName": name,
            "sourceName": full["sourceName"],
            "abi": full["abi"],
            "bytecode": full["bytecode"],
            "deployedBytecode": full["deployedBytecode"],
        }
    return artifacts


def render(artifact: dict) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def main(
    check: bool = typer.Option(False, help="Only compare; exit 1 when shipped artifacts differ."),
) -> None:
    """Compile the contracts and write (or check) the artifacts shipped in anchoring/chain/artifacts."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = compile_contracts(Path(tmp))
    stale = [
        n
        for n, a in fresh.items()
        if not (SHIPPED / f"{n}.json").exists() or (SHIPPED / f"{n}.json").read_text() != render(a)
    ]
    if check:
        if stale:
            typer.echo(f"stale artifacts: {', '.join(stale)} (run `make artifacts`)", err=True)
            raise typer.Exit(1)
        typer.echo("artifacts up to date")
        return
    SHIPPED.mkdir(parents=True, exist_ok=True)
    for name, artifact in fresh.items():
        (SHIPPED / f"{name}.json").write_text(render(artifact))
    typer.echo(
        f"wrote {len(fresh)} artifacts to {SHIPPED.relative_to(REPO)}"
        + (f" (changed: {', '.join(stale)})" if stale else " (unchanged)")
    )


if __name__ == "__main__":
    typer.run(main)
