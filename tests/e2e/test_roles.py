"""The roles as processes on PostgreSQL: `credreg serve --workers 2` (two uvicorn worker processes, no pipeline)
beside one `credreg pipeline`, under concurrent issuance and proof reads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from anchoring.scheme.encoding import from_hex
from anchoring.scheme.merkle import verify_proof
from node.dev.chains import free_port
from tests.helpers.credentials import sample_credential
from tests.helpers.processes import Roles, children, postgres_schema, wait_for

pytestmark = pytest.mark.postgres


def test_two_api_workers_and_one_pipeline_under_concurrent_issuance_and_proof_reads(dev_network, tmp_path):
    with postgres_schema() as url:
        # 200 proof reads from one client address in a few seconds: a fast machine passes the per-IP limit, which
        # tests/api/test_limits.py tests; this test is about the roles.
        roles = Roles(tmp_path, dev_network, url, batch_max_size=25, rate_limit_enabled=False)
        try:
            pipeline = roles.start_pipeline("pipeline")
            port = free_port()
            api = roles.start_api("api", port, workers=2)
            base = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {roles.token}"}

            def up() -> bool:
                try:
                    return httpx.get(f"{base}/healthz", timeout=10).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_for(up, 240, "the API workers answer", poll=0.3)  # start-up: ~10 s idle, 70 s at load 15
            wait_for(lambda: roles.holder_pid() == pipeline.pid, 90, "the pipeline holds the lease")
            assert len(children(api.pid)) >= 2  # the uvicorn supervisor and its two worker processes
            assert "no pipeline here" in roles.log("api")

            statuses: list[int] = []
            digests: list[str] = []

            def issue(chunk: int) -> list[str]:
                with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                    body = [sample_credential(chunk * 10 + i) for i in range(10)]
                    r = http.post("/v1/credentials/bulk", json=body)
                    statuses.append(r.status_code)
                    assert r.status_code == 202, r.text
                    return r.json()["digests"]

            def read(n: int) -> None:
                with httpx.Client(base_url=base, timeout=60) as http:
                    for _ in range(n):
                        for digest in list(digests)[-10:]:
                            statuses.append(http.get(f"/v1/proofs/{digest}").status_code)

            with ThreadPoolExecutor(8) as pool:
                first = pool.submit(issue, 0).result()
                digests.extend(first)
                issued = [pool.submit(issue, c) for c in range(1, 9)]
                reads = [pool.submit(read, 5) for _ in range(4)]
                for f in issued:
                    digests.extend(f.result())
                for f in reads:
                    f.result()
            assert len(set(digests)) == 90
            assert all(s in (200, 202) for s in statuses), sorted(set(statuses))

            def all_anchored() -> dict[str, dict] | None:
                with httpx.Client(base_url=base, timeout=30) as http:
                    proofs = {d: http.get(f"/v1/proofs/{d}").json() for d in digests}
                return proofs if all(p.get("state") == "anchored" for p in proofs.values()) else None

            proofs = wait_for(all_anchored, 90, "every credential anchored", poll=0.5)
            for digest, proof in proofs.items():
                assert verify_proof(
                    from_hex(proof["root"]), from_hex(digest), [from_hex(x) for x in proof["proof"]]
                )
            assert "credreg.lease" not in roles.log("api")  # no pipeline code ran in the API processes
            assert {p.pid for p in roles.heartbeats()} == {pipeline.pid}
        finally:
            roles.stop()


def test_stopping_serve_with_pipeline_stops_its_pipeline_child(dev_network, tmp_path):
    """`credreg serve --pipeline` stopped by SIGTERM (systemd, Kubernetes, a supervisor) stops its pipeline child
    too, exit 0: uvicorn re-raises SIGTERM after its shutdown, which used to kill serve before it could stop the
    child, leaving a pipeline running orphaned (holding the issuer key's lease)."""
    with postgres_schema() as url:
        roles = Roles(tmp_path, dev_network, url)
        try:
            env = dict(roles.env, CREDREG_DATABASE_URL=url)
            env["CREDREG_ISSUER_PRIVATE_KEY"] = "0x" + dev_network.issuer.key.hex()
            serve = roles._start("serve", ["serve", "--pipeline", "--port", str(free_port())], env)
            wait_for(roles.holder_pid, 90, "the pipeline child took the issuer key's lease")
            [child] = children(serve.pid)
            assert roles.holder_pid() == child
            serve.terminate()
            assert serve.wait(30) == 0, roles.log("serve")
            wait_for(lambda: not (Path("/proc") / str(child)).exists(), 20, "the pipeline child exited")
            assert roles.holder_pid() is None  # it gave the lease back: a standby takes over at once
        finally:
            roles.stop()
