"""Running the npm third-party verifier / issuer (tests/helpers/js/vc_interop.mjs) from Python."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from anchoring.signing.jsonld import BUNDLED_CONTEXTS, bundled_context
from tests.helpers.paths import REPO, require

SCRIPT = REPO / "tests" / "helpers" / "js" / "vc_interop.mjs"
#: contexts the npm context packages do not carry: served to the JS loader from credreg's bundled copies
EXTRA_CONTEXTS = [
    url for url in BUNDLED_CONTEXTS if "imsglobal" in url or "status/v1" in url or "europa" in url
]


def require_js() -> str:
    node = shutil.which("node")
    require(node is not None, "node is not installed")
    for pkg in ("@digitalbazaar/vc", "@digitalbazaar/eddsa-jcs-2022-cryptosuite", "jose"):
        require(
            (REPO / "node_modules" / pkg / "package.json").exists(), f"npm package {pkg} is not installed"
        )
    assert node is not None
    return node


def run_js(request: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    node = require_js()
    request = {"contexts": {u: bundled_context(u) for u in EXTRA_CONTEXTS}, **request}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "request.json"
        path.write_text(json.dumps(request))
        proc = subprocess.run(
            [node, str(SCRIPT), str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
