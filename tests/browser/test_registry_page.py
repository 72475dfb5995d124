"""The /registry page in headless Chromium (Debian `chromium` driven by npm `playwright-core`): the
accreditation tree and an issuer's history render from the live API, and on-chain strings are shown as text."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from eth_account import Account

from anchoring.chain.contracts import IssuerKind
from anchoring.scheme.keccak import keccak256
from node.registry.indexer import Indexer
from node.settings import Settings
from node.storage.db import make_engine, upgrade
from tests.helpers.chain import advance, send
from tests.helpers.paths import REPO, require

CHROMIUM = os.environ.get("CREDREG_CHROMIUM", "/usr/bin/chromium")
XSS_DID = '<img src=x onerror="window.__xss=1">did:example:evil'

BROWSER_SCRIPT = r"""
const { chromium } = require('playwright-core');
(async () => {
  const [url, executablePath, ti] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath, headless: true, args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'] });
  const out = { errors: [], requests: [] };
  try {
    const page = await browser.newPage();
    page.on('pageerror', e => out.errors.push(String(e)));
    page.on('request', r => out.requests.push(r.url()));
    await page.addInitScript(() => document.addEventListener('securitypolicyviolation',
                                                            () => { window.__csp = (window.__csp || 0) + 1; }));
    await page.goto(url + '/registry', { waitUntil: 'load' });
    await page.waitForSelector('#tree li', { timeout: 15000 });
    out.treeStatus = await page.textContent('#tree-status');
    out.headerBackground = await page.$eval('header', h => getComputedStyle(h).backgroundColor);
    out.cspViolations = await page.evaluate(() => window.__csp || 0);
    out.nodes = await page.$$eval('#tree li', lis => lis.map(li => ({
      address: li.getAttribute('data-address'),
      depth: (() => { let d = 0, p = li.parentElement; while (p && p.id !== 'tree') { if (p.tagName === 'UL') d++; p = p.parentElement; } return d; })(),
    })));
    await page.click(`button.node[data-address="${ti}"]`);
    await page.waitForSelector('#history tr.event', { timeout: 15000 });
    out.title = await page.textContent('#detail-title');
    out.entry = await page.textContent('#entry');
    out.history = await page.$$eval('#history tr.event', trs => trs.map(tr => Array.from(tr.cells).map(td => td.textContent)));
    out.xss = await page.evaluate(() => window.__xss === 1);
    out.imgs = await page.$$eval('img', imgs => imgs.length);
    // deep link
    await page.goto(url + '/registry#' + ti, { waitUntil: 'load' });
    await page.waitForSelector('#history tr.event', { timeout: 15000 });
    out.deepLinkTitle = await page.textContent('#detail-title');
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(3); });
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def browser_ready():
    node = shutil.which("node")
    require(node is not None, "node is not installed")
    require(Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    require(
        (REPO / "node_modules" / "playwright-core").exists(),
        "npm playwright-core is not installed (npm install --no-save playwright-core)",
    )
    return node


@pytest.fixture()
def served(tmp_path, dev_network):
    """A real HTTP server (uvicorn in a thread) with the registry indexed from the dev chain."""
    import uvicorn

    from api.app import create_app

    w3 = dev_network.chain.web3()
    registry = dev_network.registry(w3)
    ti = Account.create().address
    send(
        w3,
        dev_network.tao,
        registry.accredit(ti, IssuerKind.TI, XSS_DID, keccak256(b"page doc"), '{"jurisdiction":"FI"}'),
    )
    advance(w3, 60)
    send(w3, dev_network.tao, registry.suspend(ti, "check"))
    advance(w3, 60)
    send(w3, dev_network.tao, registry.reinstate(ti, "ok"))

    url = f"sqlite:///{tmp_path / 'page.db'}"
    engine = make_engine(url)
    upgrade(engine)
    from node.storage.db import session_factory

    Indexer(session_factory(engine), w3, dev_network.deployment, confirmations=1).run_once()
    app = create_app(Settings(data_dir=tmp_path, database_url=url, _env_file=None), engine=engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", ti
    server.should_exit = True
    thread.join(10)
    engine.dispose()


def test_registry_page_tree_and_history(browser_ready, served, dev_network, tmp_path):
    base, ti = served
    script = tmp_path / "registry_page.cjs"
    script.write_text(BROWSER_SCRIPT)
    env = {**os.environ, "NODE_PATH": str(REPO / "node_modules")}
    proc = subprocess.run(
        [browser_ready, str(script), base, CHROMIUM, ti],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["errors"] == []
    assert all(u.startswith(base) for u in out["requests"]), "the page loads nothing from elsewhere (no CDN)"
    assert out["headerBackground"] == "rgb(31, 58, 95)", "registry.css applies under the page's CSP"
    assert out["cspViolations"] == 0
    depth = {n["address"]: n["depth"] for n in out["nodes"]}
    assert depth[dev_network.root_tao.address] == 0
    assert depth[dev_network.tao.address] == 1
    assert depth[ti] == 2 and depth[dev_network.issuer.address] == 2
    assert "entries" in out["treeStatus"]
    assert ti in out["title"] and ti in out["deepLinkTitle"]
    assert XSS_DID in out["entry"]  # shown as text...
    assert out["xss"] is False and out["imgs"] == 0  # ...never as markup
    assert dev_network.tao.address in out["entry"] and dev_network.root_tao.address in out["entry"]
    changes = [row[1] for row in out["history"]]
    assert changes == ["accredited", "suspended (active -> suspended)", "reinstated (suspended -> active)"]
    assert all(row[2] == dev_network.tao.address for row in out["history"])
    assert [row[3] for row in out["history"]] == ["-", "check", "ok"]  # the reason texts
    assert all(row[5].startswith("0x") and len(row[5]) == 66 for row in out["history"])


def test_page_and_script_are_served(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app

    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    app = create_app(Settings(data_dir=tmp_path, database_url=url, _env_file=None))
    with TestClient(app) as c:
        page = c.get("/registry")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert (
            '<script src="/registry/registry.js">' in page.text and "http" not in page.text.split("<body>")[0]
        )
        js = c.get("/registry/registry.js")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
        assert "innerHTML" not in js.text
        assert c.get("/v1/registry/tree").json()["roots"] == []
