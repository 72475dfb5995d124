"""The /verify page in headless Chromium: a valid bundle shows valid, a tampered one shows which check failed.

Needs Debian `chromium` (/usr/bin/chromium, or $CHROMIUM_PATH) and npm `playwright-core`; skips with the
reason on a developer machine when either is missing, fails in CI (conftest.require). The README's screenshot of
this page (docs/verifier.png) is taken by tests/browser/test_share_page.py, on a real ELM credential.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from node.dev.chains import free_port
from node.dev.network import DEV_DIDS
from tests.helpers.bundles import make_batch
from tests.helpers.credentials import credential
from tests.helpers.nodes import build_app
from tests.helpers.paths import REPO, require

pytestmark = pytest.mark.chain

SCRIPT = REPO / "tests" / "helpers" / "js" / "verify_page.mjs"


@pytest.fixture()
def server(dev_network, tmp_path):
    import uvicorn

    app = build_app(tmp_path, dev_network.chain.rpc_url, dev_network.deployment)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not srv.started:
        assert time.time() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_verifier_page_in_headless_chromium(dev_network, server, tmp_path):
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    require(Path(chromium).exists(), f"chromium not found at {chromium} (Debian: apt-get install chromium)")
    require(
        (REPO / "node_modules" / "playwright-core").exists(),
        "npm playwright-core is not installed (npm install --no-save playwright-core)",
    )
    require(shutil.which("node") is not None, "node is not installed")
    batch = make_batch(dev_network, [credential(i) for i in range(3)])
    (tmp_path / "valid.json").write_text(json.dumps(batch.bundles[0], indent=2))
    tampered = copy.deepcopy(batch.bundles[1])
    tampered["credential"]["name"] = "Micro-credential in Forgery"
    (tmp_path / "tampered.json").write_text(json.dumps(tampered, indent=2))
    shot = tmp_path / "verifier.png"
    proc = subprocess.run(
        [
            "node",
            str(SCRIPT),
            server,
            str(tmp_path / "valid.json"),
            str(tmp_path / "tampered.json"),
            str(shot),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # the malformed bundle's 422 is logged by Chromium as a failed resource; anything else is a page error
    assert [e for e in out["errors"] if "status of 422" not in e] == [] and out["external"] == []

    valid = out["valid"]
    assert valid["verdict"] == "valid", valid
    assert "Valid credential" in valid["banner"]
    assert set(valid["checks"]) == {
        "format",
        "integrity",
        "inclusion",
        "anchored",
        "issuer_trusted",
        "not_revoked",
        "issuer_matches",
        "signature",
        "validity_period",
        "status_list",
        "scope",
        "joint",
        "stack",
    }
    assert all(c["status"] == "pass" for c in valid["checks"].values())
    assert valid["checks"]["anchored"]["color"] == "rgb(26, 127, 55)"  # green mark
    assert DEV_DIDS["issuer"] in valid["issuer"]
    assert "confirmation" in valid["anchored"] and "Z)" in valid["anchored"]  # human time + ISO UTC
    assert f"issued by {DEV_DIDS['issuer']}" in valid["summary"]

    tampered = out["tampered"]
    assert tampered["verdict"] == "invalid"
    assert tampered["checks"]["integrity"]["status"] == "fail"
    assert tampered["checks"]["integrity"]["color"] == "rgb(198, 40, 40)"  # red mark
    assert "altered" in tampered["checks"]["integrity"]["reason"]
    assert tampered["checks"]["issuer_matches"]["status"] == "error"  # grey: skipped, depends on integrity
    assert "failed: integrity" in tampered["summary"]

    assert out["dropped"]["verdict"] == "valid"
    malformed = out["malformed"]
    assert malformed["verdict"] == "invalid" and malformed["checks"]["format"]["status"] == "fail"
    assert (
        shot.stat().st_size > 10_000
    )  # the README's docs/verifier.png is test_share_page's (a real ELM credential)
