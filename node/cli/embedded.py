"""A whole node in one process (API over real HTTP on a free port, batcher, anchorer) against a given chain.

Used by the end-to-end tests, the demo and the ingest benchmark, so all three exercise the real server.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import uvicorn
from pydantic import SecretStr

from anchoring.chain.deployment import Deployment
from node.auth.tokens import create_token
from node.dev.chains import free_port
from node.pipeline.runtime import NodeRuntime
from node.settings import Settings
from node.storage.db import session_scope


def node_settings(
    tmp: Path,
    rpc_url: str,
    deployment: Deployment,
    issuer_key: bytes,
    database_url: str | None = None,
    **overrides,
) -> Settings:
    from node.dev.network import dev_credential_key_for

    deployment_file = tmp / "deployment.json"
    deployment.save(deployment_file)
    dev_key = dev_credential_key_for(issuer_key, rpc_url, deployment)
    if dev_key is not None and "credential_key" not in overrides:
        # the dev issuer signs what it issues (its key is registered on the dev chain)
        overrides["credential_key"] = SecretStr(dev_key)
    return Settings(
        data_dir=tmp,
        database_url=database_url,
        rpc_url=rpc_url,
        deployment_file=deployment_file,
        issuer_private_key=SecretStr("0x" + issuer_key.hex()),
        batch_max_age_seconds=0.2,
        **overrides,
    )


class EmbeddedNode:
    def __init__(self, settings: Settings, pipeline: bool = True):
        from api.app import create_app

        self.port = free_port()
        # the links the node serves (status lists, share pages, offers) name where it listens, never the Host header
        settings = settings.model_copy(update={"host": "127.0.0.1", "port": self.port})
        self.settings = settings
        self.runtime = NodeRuntime.from_settings(settings)
        with session_scope(self.runtime.factory) as session:
            self.token = create_token(session, self.runtime.issuer_id, label="e2e").token
        self.app = create_app(settings, engine=self.runtime.engine)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("API server did not start")
            time.sleep(0.05)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.http = httpx.Client(
            base_url=self.base_url, timeout=60, headers={"Authorization": f"Bearer {self.token}"}
        )
        if pipeline:
            self.runtime.start_pipeline()

    def issue(self, credential: dict, **kwargs) -> str:
        response = self.http.post("/v1/credentials", json=credential, **kwargs)
        if response.status_code not in (200, 201, 202):
            raise RuntimeError(f"issue failed: HTTP {response.status_code}: {response.text[:500]}")
        return response.json()["digest"]

    def wait_anchored(self, digests: list[str], timeout: float = 60.0) -> dict[str, dict]:
        """Poll the public proof endpoint until every digest is anchored."""
        deadline = time.monotonic() + timeout
        proofs: dict[str, dict] = {}
        pending = list(digests)
        while pending:
            still = []
            for digest in pending:
                body = self.http.get(f"/v1/proofs/{digest}").json()
                if body.get("state") == "anchored":
                    proofs[digest] = body
                else:
                    still.append(digest)
            pending = still
            if pending:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{len(pending)} credentials not anchored in {timeout}s")
                time.sleep(0.2)
        return proofs

    def stop(self) -> None:
        self.runtime.stop_pipeline()
        self.server.should_exit = True
        self.thread.join(10)
        self.http.close()
        self.runtime.close()
