"""/docs in headless Chromium: Swagger UI renders the node's OpenAPI document from assets this node serves, under
the pages' strict CSP (no violation), with no request to any other origin (it works offline)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from api.app import create_app
from node.settings import Settings
from tests.helpers.paths import REPO, require
from tests.helpers.servers import serving

CHROMIUM = os.environ.get("CREDREG_CHROMIUM", "/usr/bin/chromium")

SCRIPT = r"""
const { chromium } = require('playwright-core');
(async () => {
  const [url, executablePath] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath, headless: true, args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'] });
  const out = { errors: [], requests: [], csp: [] };
  try {
    const page = await browser.newPage();
    page.on('pageerror', e => out.errors.push(String(e)));
    page.on('request', r => out.requests.push(r.url()));
    await page.addInitScript(() => document.addEventListener('securitypolicyviolation',
      e => { (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI); }));
    await page.goto(url + '/docs', { waitUntil: 'load' });
    try { await page.waitForSelector('.swagger-ui .opblock', { timeout: 30000 }); }
    catch (e) { out.errors.push('no operation rendered: ' + String(e).split('\n')[0]); }
    out.operations = await page.$$eval('.swagger-ui .opblock', els => els.length);
    out.title = (await page.$$eval('.swagger-ui .title', els => els.map(e => e.textContent))).join(' ');
    out.authorize = await page.$$eval('.swagger-ui .btn.authorize', els => els.length);
    out.csp = await page.evaluate(() => window.__csp || []);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(3); });
"""


def test_docs_renders_offline_under_the_csp(tmp_path):
    node = shutil.which("node")
    require(node is not None, "node is not installed")
    require(Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    require((REPO / "node_modules" / "playwright-core").exists(), "npm playwright-core is not installed")
    app = create_app(Settings(data_dir=tmp_path, database_url="sqlite://", _env_file=None))
    script = tmp_path / "docs_page.cjs"
    script.write_text(SCRIPT)
    with serving(app) as base:
        proc = subprocess.run(
            [node, str(script), base, CHROMIUM],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "NODE_PATH": str(REPO / "node_modules")},
            check=False,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["errors"] == [] and out["csp"] == [], out
    assert out["operations"] >= 20 and "credreg node" in out["title"]
    assert out["authorize"] == 1  # the bearer scheme is declared, so Swagger UI offers to authorize
    assert all(u.startswith((base, "data:")) for u in out["requests"]), out["requests"]
