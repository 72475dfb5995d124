"""Crash safety of the whole node, end to end: `credreg serve --pipeline` (the API and its pipeline child, one
process group) on SQLite and a real Anvil takes bulk issuance from a client while it is SIGKILLed three times at
random moments and restarted. The client retries whatever failed on the connection, with the same credential ids
(idempotent). Afterwards: every acknowledged (202) credential is stored exactly once, every stored credential sits
in exactly one batch whose root the chain shows anchored exactly once (one Anchored event per batch, no root twice,
nothing else sent with the key), and each credential's proof folds to its root on chain."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import httpx
import pytest
from sqlmodel import Session, select

from anchoring.chain.contracts import CredentialAnchor
from anchoring.scheme.encoding import from_hex
from anchoring.scheme.merkle import verify_proof
from node.dev.chains import free_port
from node.storage.db import make_engine, upgrade
from node.storage.models import Batch, Credential
from node.storage.trees import load_tree
from tests.helpers.credentials import sample_credential
from tests.helpers.paths import REPO
from tests.helpers.processes import Roles, children, issuer_transactions, wait_for

CHUNKS, PER_CHUNK = 5, 500
KILLS = 3
TTL = 1.5  # the lease a killed pipeline leaves behind lapses after this; the restarted one then takes over
#: a guard against hangs, not a speed claim: four start-ups of the node dominate (~50 s in all on an idle 2-core
#: machine, ~2 min at load 7, each start-up importing the API and the pipeline anew)
BUDGET = 200.0


class Node:
    """`credreg serve --pipeline` in a process group of its own (so one SIGKILL takes the API and the pipeline)."""

    def __init__(self, roles: Roles, port: int):
        self.roles = roles
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.env = dict(
            roles.env,
            CREDREG_DATABASE_URL=roles.db_url,
            CREDREG_ISSUER_PRIVATE_KEY="0x" + roles.network.issuer.key.hex(),
        )
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.start_seconds: list[tuple[float | None, float]] = []  # (API up, lease held)

    def start(self) -> None:
        self.starts += 1
        log = open(self.roles.tmp / f"node-{self.starts}.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "serve", "--pipeline", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )
        log.close()

        def up() -> bool:
            """The API answers and this node's pipeline child holds the key's lease (it has taken it over from
            the killed one, whose lease lapses after TTL)."""
            assert self.proc is not None and self.proc.poll() is None, self.log()
            if self.api_seconds is None:
                try:
                    if httpx.get(f"{self.base}/healthz", timeout=2).status_code != 200:
                        return False
                except httpx.HTTPError:
                    return False
                self.api_seconds = round(time.monotonic() - began, 1)
            return self.roles.holder_pid() in children(self.proc.pid)

        began = time.monotonic()
        self.api_seconds: float | None = None
        wait_for(up, 60, f"the node is up (start {self.starts})", poll=0.1)
        self.start_seconds.append((self.api_seconds, round(time.monotonic() - began, 1)))

    def kill(self) -> None:
        """SIGKILL to the whole process group: the API, the pipeline child, nothing cleans up."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        pgid = self.proc.pid
        wait_for(lambda: not _group_alive(pgid), 10, "the process group is gone")

    def stop(self) -> None:
        if self.proc is None or not _group_alive(self.proc.pid):
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            pass
        if _group_alive(self.proc.pid):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def log(self) -> str:
        return (self.roles.tmp / f"node-{self.starts}.log").read_text(errors="replace")[-3000:]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


class Client(threading.Thread):
    """Sends the chunks in order; a request that fails on the connection (the node died under it) is sent again,
    the same body, until it is acknowledged. Any other answer than 202 is recorded and ends the client."""

    def __init__(self, base: str, token: str, chunks: list[list[dict]], deadline: float):
        super().__init__(daemon=True)
        self.base, self.token, self.chunks, self.deadline = base, token, chunks, deadline
        self.acked: dict[str, str] = {}  # external id -> digest, from the 202 answers
        self.retries = 0
        self.replayed = 0  # acknowledged again on a retry: the killed attempt had committed
        self.seconds: list[float] = []  # how long each acknowledged request took
        self.in_flight = threading.Event()
        self.sending = 0  # the chunk being sent
        self.error: str | None = None

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as http:
            for index, chunk in enumerate(self.chunks):
                self.sending = index
                while True:
                    if time.monotonic() > self.deadline:
                        self.error = "client deadline passed"
                        return
                    self.in_flight.set()
                    began = time.monotonic()
                    try:
                        r = http.post("/v1/credentials/bulk", json=chunk)
                    except httpx.TransportError:  # refused, reset, cut mid-answer: the node is (re)starting
                        self.retries += 1
                        time.sleep(0.05)
                        continue
                    finally:
                        self.in_flight.clear()
                    if r.status_code != 202:
                        self.error = f"{r.status_code}: {r.text[:500]}"
                        return
                    self.seconds.append(round(time.monotonic() - began, 2))
                    body = r.json()
                    digests = body["digests"]
                    if len(digests) != len(chunk):
                        self.error = f"{len(digests)} digests for {len(chunk)} credentials"
                        return
                    self.replayed += body["created"] < len(chunk)
                    self.acked.update({c["id"]: d for c, d in zip(chunk, digests, strict=True)})
                    break


@pytest.mark.timeout(BUDGET + 60)
def test_whole_node_kill_loop_loses_nothing_and_anchors_each_credential_once(dev_network, tmp_path):
    started = time.monotonic()
    rng = random.Random()
    w3 = dev_network.chain.web3()
    first_block = w3.eth.block_number
    db_url = f"sqlite:///{tmp_path / 'node.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
    roles = Roles(
        tmp_path,
        dev_network,
        db_url,
        lease_ttl_seconds=TTL,
        batch_max_size=200,
        rate_limit_enabled="false",
    )
    node = Node(roles, free_port())
    chunks = [[sample_credential(c * PER_CHUNK + i) for i in range(PER_CHUNK)] for c in range(CHUNKS)]
    try:
        node.start()
        client = Client(node.base, roles.token, chunks, deadline=started + BUDGET)
        client.start()
        interrupted = 0
        at_kills: list[
            dict[str, int]
        ] = []  # batch states at each kill (a "submitted" one: killed mid-anchor)
        for k in range(1, KILLS + 1):
            # kill k at a random moment once the client sends chunk k (so k chunks are stored and the pipeline,
            # up, has work): mid-request, mid-commit, mid-seal, mid-anchor...
            wait_for(lambda: client.sending >= k or not client.is_alive(), 60, f"the client sends chunk {k}")  # noqa: B023
            time.sleep(rng.uniform(0.0, 0.5))
            interrupted += client.in_flight.is_set()
            node.kill()
            at_kills.append(dict(Counter(b.state for b in roles.batches())))
            node.start()
        client.join(timeout=max(1.0, started + BUDGET - time.monotonic()))
        assert not client.is_alive(), "the client did not finish"
        assert client.error is None, client.error
        ids = [c["id"] for chunk in chunks for c in chunk]
        assert set(client.acked) == set(ids)  # every request was acknowledged in the end
        issued_at = time.monotonic() - started
        wait_for(lambda: roles.unanchored() == 0, 60, "every stored credential anchored", poll=0.2)
        anchored_at = time.monotonic() - started
        node.stop()

        # acknowledged = stored, exactly once, with the digest the 202 named
        with Session(roles.engine) as s:
            stored = list(s.exec(select(Credential)))
            batches = {b.id: b for b in s.exec(select(Batch))}
            trees = {b.id: load_tree(b) for b in batches.values() if b.state == "confirmed"}
        per_id = Counter(c.external_id for c in stored)
        assert len(stored) == len(ids) and set(per_id) == set(ids) and set(per_id.values()) == {1}
        assert {c.external_id: c.digest for c in stored} == client.acked

        # stored = anchored once: each credential in a confirmed batch, one Anchored event per batch root
        anchor = CredentialAnchor(w3, dev_network.deployment.credential_anchor)
        events = anchor.events(["Anchored"], first_block + 1, first_topic=[dev_network.issuer.address])
        roots = Counter(bytes(e.args["root"]) for e in events)
        assert all(n == 1 for n in roots.values()), "a root anchored twice"
        used = {c.batch_id for c in stored}
        assert None not in used
        assert all(batches[b].state == "confirmed" for b in used), {batches[b].state for b in used}
        assert set(roots) == {from_hex(batches[b].root) for b in used}
        by_root = {bytes(e.args["root"]): e for e in events}
        for b in used:
            batch = batches[b]
            event = by_root[from_hex(batch.root)]
            assert event.args["leafCount"] == batch.size
            assert "0x" + event.tx_hash.hex() == batch.tx_hash.lower()
        # nothing else sent with the key: one successful transaction per batch, no nonce twice, no re-send
        sent = issuer_transactions(w3, dev_network.issuer.address, first_block)
        assert all(t["status"] == 1 for t in sent)
        assert len({t["nonce"] for t in sent}) == len(sent) == len(used)
        # the batches hold these credentials and nothing else (a re-sealed batch adds one random leaf)
        assert sum(batches[b].size - (batches[b].nonce_leaf is not None) for b in used) == len(stored)
        for c in stored:
            assert c.status == "anchored"
            root = from_hex(batches[c.batch_id].root)
            proof = trees[c.batch_id].proof(from_hex(c.digest))
            assert verify_proof(root, from_hex(c.digest), proof), c.external_id
        print(
            f"{len(stored)} credentials, {len(used)} batches, {node.starts} starts, {KILLS} kills "
            f"({interrupted} with a request in flight), {client.retries} retried requests, "
            f"{client.replayed} replayed, requests took {client.seconds}s, batches at the kills {at_kills}, "
            f"fencing tokens {sorted(Counter(batches[b].fence_token for b in used).items())}, "
            f"start-ups {node.start_seconds}s, issued by {issued_at:.1f}s, anchored by {anchored_at:.1f}s, "
            f"{time.monotonic() - started:.1f}s"
        )
    finally:
        node.stop()
        roles.stop()
