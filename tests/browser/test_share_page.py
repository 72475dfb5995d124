"""The learner's path in headless Chromium against a real node anchoring on Anvil: the issuer makes a share link
at issuance, the learner opens it, downloads the PDF, its QR code (rendered with pdftoppm, decoded with zbarimg)
opens the share page again, and "Verify it now" ends in a VALID verification showing the credential's human
content.

The credential is the Commission's ELM v3 Annex I sample (tests/samples/ec-elm, source in tests/samples/README.md)
with the dev university's DID as its issuer, as that university would issue it. Saves the README's screenshots
(docs/share-page.png, docs/learner-pdf.png, docs/verifier.png) when missing or with CREDREG_UPDATE_SCREENSHOT=1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from node.cli.embedded import EmbeddedNode, node_settings
from node.registry.accreditation import store_document
from node.storage.db import session_scope
from tests.helpers.credentials import DEV_DIDS
from tests.helpers.paths import REPO, require
from tests.helpers.pdf import render_png, require_tools
from tests.helpers.samples import EC_ANNEX1, load

SCRIPT = REPO / "tests" / "helpers" / "js" / "share_page.mjs"
SHOTS = {
    "share": REPO / "docs" / "share-page.png",
    "pdf": REPO / "docs" / "learner-pdf.png",
    "verify": REPO / "docs" / "verifier.png",
}


@pytest.fixture()
def node(dev_network, tmp_path):
    harness = EmbeddedNode(
        node_settings(tmp_path, dev_network.chain.rpc_url, dev_network.deployment, dev_network.issuer.key)
    )
    yield harness
    harness.stop()


def _save(shot: Path, target: Path) -> None:
    if not target.exists() or os.environ.get("CREDREG_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, target)


def test_share_link_pdf_qr_code_and_a_valid_verification(node, dev_network, tmp_path):
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    require(Path(chromium).exists(), f"chromium not found at {chromium} (Debian: apt-get install chromium)")
    require((REPO / "node_modules" / "playwright-core").exists(), "npm playwright-core is not installed")
    require(shutil.which("node") is not None, "node is not installed")
    require_tools()
    with session_scope(node.runtime.factory) as s:  # the accreditor's document, as published to this node
        store_document(s, dev_network.issuer.address, json.dumps({"subject": {"name": "University of Zed"}}))
    cred = load(EC_ANNEX1)
    cred["issuer"]["id"] = DEV_DIDS["issuer"]
    r = node.http.post("/v1/credentials?share_link=true", json=cred)
    assert r.status_code == 202, r.text
    url = r.json()["shareLink"]["url"]
    node.wait_anchored([r.json()["digest"]])

    shots = tmp_path / "shots"
    shots.mkdir()
    proc = subprocess.run(
        ["node", str(SCRIPT), url, str(tmp_path), str(shots / "share.png"), str(shots / "verify.png")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["errors"] == [] and out["external"] == []

    share = out["share"]
    assert share["title"] == "Digital micro-credential creation" and share["holder"] == "Ana Andromeda"
    assert share["issuer"].startswith("University of Zed") and DEV_DIDS["issuer"] in share["issuer"]
    assert (share["ects"], share["eqf"], share["status"]) == ("2 ECTS", "EQF level 6", "Valid")
    assert "develop digital content" in share["outcomes"]
    assert share["stylesheet"] == "rgb(218, 251, 225)"  # the page's own stylesheet loaded under the CSP

    assert out["pdf"]["suggested"] == "credential.pdf"
    assert out["qr"] == url and out["followed"]["title"] == "Digital micro-credential creation"

    v = out["verify"]
    assert v["verdict"] == "valid", v
    assert "Valid credential" in v["banner"] and v["url"].endswith("/bundle.json")
    assert set(v["checks"].values()) == {"pass"} and "not_revoked" in v["checks"]
    assert v["title"] == "Digital micro-credential creation" and v["holder"] == "Ana Andromeda"
    assert v["issuer"] == "University of Zed" and (v["ects"], v["eqf"]) == ("2 ECTS", "EQF level 6")
    assert v["status"] == "Status: not revoked or suspended" and v["issued"] == "2022-12-31T23:00:00Z"
    assert "develop digital content" in v["outcomes"]
    assert v["technicalOpen"] is False and v["technicalOpenAfterClick"] is True

    _save(shots / "share.png", SHOTS["share"])
    _save(shots / "verify.png", SHOTS["verify"])
    _save(render_png(Path(out["pdf"]["file"]), tmp_path / "pdf-shot", dpi=70), SHOTS["pdf"])
