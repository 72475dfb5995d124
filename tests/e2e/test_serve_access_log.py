"""`credreg serve` logs a line per request by default, and none with `--no-access-log` (behind a proxy that logs
them already): in its worker processes too, which take their settings from the environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from node.dev.chains import free_port
from tests.helpers.processes import wait_for

REPO = Path(__file__).resolve().parents[2]
UNKNOWN = "0x" + "ab" * 32


def _serve(tmp_path: Path, name: str, *args: str) -> str:
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CREDREG_ENV_FILE": "/dev/null",
        "CREDREG_DATA_DIR": str(tmp_path / name),
        "CREDREG_DATABASE_URL": f"sqlite:///{tmp_path / name}.db",
    }
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "serve", "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    try:

        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                assert proc.poll() is None, log.read_text(errors="replace")
                return False

        wait_for(answers, 120, "credreg serve answers")
        for _ in range(6):  # reaches every worker in practice; each one's line would do
            r = httpx.get(f"http://127.0.0.1:{port}/v1/proofs/{UNKNOWN}", timeout=5)
            assert r.status_code == 404 and r.json()["errors"][0]["field"] == "path.digest"
    finally:
        proc.terminate()
        proc.wait(30)
    return log.read_text(errors="replace")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_access_log_on_by_default_and_off_on_request(tmp_path, workers):
    line = f'"GET /v1/proofs/{UNKNOWN} HTTP/1.1" 404'
    assert line in _serve(tmp_path, "default", "--workers", workers)
    quiet = _serve(tmp_path, "quiet", "--workers", workers, "--no-access-log")
    assert "Application startup complete" in quiet and line not in quiet
