"""scripts/gas_report.py (`make gas`) runs against the current contracts and enforces the anchoring bound."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import typer

from scripts import gas_report
from tests.helpers.paths import REPO, require

OPERATIONS = [
    "deploy IssuerRegistry",
    "deploy CredentialAnchor",
    "accredit TAO",
    "accredit TI",
    "suspend TI",
    "reinstate TI",
    "add a verification key (first)",
    "add a verification key (further)",
    "anchor a batch of 1",
    "anchor a batch of 1,000",
    "anchor a batch of 1,000,000",
    "verify view (1,000-leaf batch)",
    "revoke 1 credential",
    "revoke 100 in one transaction",
    "revoke 512 in one transaction",
    "publish status list hash (version 1)",
    "publish status list hash (version 2)",
]


@pytest.mark.chain
def test_gas_report_measures_every_operation_within_the_bound():
    require((REPO / "node_modules" / ".bin" / "anvil").exists(), "anvil is not installed (run `npm ci`)")
    # PYTHONPATH: this checkout's packages, not whichever the environment has installed
    done = subprocess.run(
        [sys.executable, "scripts/gas_report.py", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    rows = {row["operation"]: row["gas"] for row in json.loads(done.stdout)}
    assert list(rows) == OPERATIONS
    anchors = [gas for operation, gas in rows.items() if operation.startswith("anchor ")]
    assert max(anchors) <= gas_report.ANCHOR_GAS_BOUND
    assert max(anchors) - min(anchors) < 100  # independent of the batch size
    assert rows["revoke 512 in one transaction"] < 512 * rows["revoke 1 credential"]


def test_gas_report_exits_1_when_anchoring_costs_more_than_the_bound(monkeypatch, capsys):
    monkeypatch.setattr(
        gas_report, "measure", lambda: [("anchor a batch of 1", 55_001, ""), ("accredit TI", 241_680, "")]
    )
    with pytest.raises(typer.Exit) as info:
        gas_report.main(as_json=True)
    assert info.value.exit_code == 1
    assert json.loads(capsys.readouterr().out)[0]["gas"] == 55_001  # the error went to stderr
