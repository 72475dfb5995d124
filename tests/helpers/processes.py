"""The node's roles as real processes for tests: `credreg pipeline` and `credreg serve --workers N` on a PostgreSQL
schema of their own, with settings in the environment (as in production), logs under the test's folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from node.auth.tokens import create_issuer, create_token
from node.dev.network import DevNetwork
from node.storage.db import make_engine, upgrade
from node.storage.models import Batch, Credential
from node.storage.pipeline_tables import PipelineHeartbeat, PipelineLease
from tests.helpers.db import empty_postgres_schema
from tests.helpers.paths import REPO


def children(pid: int) -> list[int]:
    """The direct child processes of ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (npm's `anvil` is a Node.js shim that spawns the native binary)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children(current))
    return tree


def wait_for(predicate: Callable[[], object], timeout: float, what: str, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout}s")
        time.sleep(poll)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema (migrated), dropped afterwards: its URL."""
    with empty_postgres_schema() as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


class Roles:
    """Processes of one node (one database, one issuer key) on ``network``'s chain."""

    def __init__(self, tmp: Path, network: DevNetwork, db_url: str, **settings: object):
        self.tmp = tmp
        self.network = network
        self.db_url = db_url
        self.engine = make_engine(db_url)
        deployment_file = tmp / "deployment.json"
        network.deployment.save(deployment_file)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CREDREG_")}
        self.env.update(
            {
                "CREDREG_ENV_FILE": os.devnull,
                "CREDREG_DATA_DIR": str(tmp),
                "CREDREG_RPC_URL": network.chain.rpc_url,
                "CREDREG_DEPLOYMENT_FILE": str(deployment_file),
                "CREDREG_BATCH_MAX_AGE_SECONDS": "0.2",
                "PYTHONPATH": str(REPO),
            }
        )
        self.env.update({f"CREDREG_{k.upper()}": str(v) for k, v in settings.items()})
        self.procs: dict[str, subprocess.Popen] = {}
        with Session(self.engine) as s:
            issuer = create_issuer(s, "Failover University", network.issuer.address, did=None)
            self.issuer_id = issuer.id
            self.token = create_token(s, issuer.id, "issuer", "roles").token
            s.commit()

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "node.cli", *args], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO
        )
        self.procs[name] = proc
        return proc

    def start_pipeline(self, name: str, db_url: str | None = None) -> subprocess.Popen:
        env = dict(self.env)
        env["CREDREG_DATABASE_URL"] = db_url or self.db_url
        env["CREDREG_ISSUER_PRIVATE_KEY"] = "0x" + self.network.issuer.key.hex()
        return self._start(name, ["pipeline"], env)

    def start_api(self, name: str, port: int, workers: int) -> subprocess.Popen:
        env = dict(self.env, CREDREG_DATABASE_URL=self.db_url)
        return self._start(name, ["serve", "--workers", str(workers), "--port", str(port)], env)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    # --- what the database says -------------------------------------------------------------------------------
    def lease(self) -> PipelineLease | None:
        with Session(self.engine) as s:
            return s.get(PipelineLease, self.network.issuer.address.lower())

    def holder_pid(self) -> int | None:
        lease = self.lease()
        if lease is None or lease.holder is None:
            return None
        return int(lease.holder.split(":")[1])

    def heartbeats(self) -> list[PipelineHeartbeat]:
        with Session(self.engine) as s:
            return list(s.exec(select(PipelineHeartbeat)))

    def unanchored(self) -> int:
        t = Credential.__table__
        with self.engine.connect() as c:
            return int(c.execute(sa.select(sa.func.count()).where(t.c.status != "anchored")).scalar_one())

    def batches(self) -> list[Batch]:
        with Session(self.engine) as s:
            return list(s.exec(select(Batch).order_by(Batch.id)))

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.engine.dispose()


def issuer_transactions(w3, address: str, first_block: int) -> list[dict]:
    """Every transaction sent from ``address`` in blocks after ``first_block``, with its receipt status."""
    found = []
    for number in range(first_block + 1, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["from"].lower() == address.lower():
                receipt = w3.eth.get_transaction_receipt(tx["hash"])
                found.append({"nonce": tx["nonce"], "hash": tx["hash"].hex(), "status": receipt["status"]})
    return found
