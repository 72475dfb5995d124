"""Anchoring fail-over with real processes: two `credreg pipeline` processes on one PostgreSQL and one issuer key,
on real Anvil. The holder is killed (SIGKILL), or loses its database connections (``pg_terminate_backend``, and then
its role may not log in for longer than the lease lasts): the standby takes over, exactly one process sends at a
time, and every credential is anchored exactly once."""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from node.issuance.accept import issue_many
from node.storage.db import make_engine
from tests.helpers.credentials import sample_credential
from tests.helpers.db import POSTGRES_URL
from tests.helpers.processes import Roles, issuer_transactions, postgres_schema, wait_for

pytestmark = pytest.mark.postgres

TTL = 2.0  # seconds: the takeover bound under test
BATCH = 20


def issue(roles: Roles, start: int, n: int) -> None:
    with Session(roles.engine) as s:
        issue_many(
            s, roles.issuer_id, [sample_credential(i) for i in range(start, start + n)], max_bytes=1 << 20
        )


def start_pair(roles: Roles, urls: tuple[str | None, str | None] = (None, None)):
    """Two pipelines started together (start-up is the slow part on a loaded machine), "a" and "b" on ``urls``:
    ``(holder name, holder, standby)`` by whichever won the lease."""
    roles.start_pipeline("a", db_url=urls[0])
    roles.start_pipeline("b", db_url=urls[1])
    by_pid = {p.pid: n for n, p in roles.procs.items()}
    wait_for(lambda: len(roles.heartbeats()) == 2 and roles.holder_pid() in by_pid, 90, "both pipelines up")
    name = by_pid[roles.holder_pid()]  # type: ignore[index]
    return name, roles.procs[name], roles.procs["b" if name == "a" else "a"]


def confirmed(roles: Roles) -> int:
    return sum(1 for b in roles.batches() if b.state == "confirmed")


def assert_anchored_exactly_once(roles: Roles, first_block: int, w3) -> None:
    """Every credential anchored; one successful transaction per batch, nothing else sent with the key."""
    wait_for(lambda: roles.unanchored() == 0, 60, "every credential anchored")
    batches = roles.batches()
    assert {b.state for b in batches} == {"confirmed"}
    sent = issuer_transactions(w3, roles.network.issuer.address, first_block)
    assert sorted(b.tx_hash for b in batches) == sorted("0x" + t["hash"].removeprefix("0x") for t in sent)
    assert all(t["status"] == 1 for t in sent)  # no revert (a second anchor of a root would revert)
    assert len({t["nonce"] for t in sent}) == len(sent) == len(batches)  # no nonce used twice, no re-send
    anchor = roles.network.anchor(w3)
    for b in batches:
        record = anchor.anchor_of(roles.network.issuer.address, bytes.fromhex(b.root[2:]))
        assert record is not None and record.block_number == b.block_number


def test_the_standby_takes_over_when_the_holder_is_killed(dev_network, tmp_path):
    w3 = dev_network.chain.web3()
    first_block = w3.eth.block_number
    with postgres_schema() as url:
        roles = Roles(tmp_path, dev_network, url, lease_ttl_seconds=TTL, batch_max_size=BATCH)
        try:
            _, a, b = start_pair(roles)
            issue(roles, 0, 60)
            wait_for(lambda: confirmed(roles) >= 1, 30, "a anchors")
            issue(roles, 60, 60)  # a backlog that a leaves behind
            a.kill()  # SIGKILL: no clean-up, the lease just stops being renewed
            killed = time.monotonic()
            wait_for(lambda: roles.holder_pid() == b.pid, TTL * 3 + 5, "b takes the lease over")
            took = time.monotonic() - killed
            assert took <= TTL + 2.5, f"takeover took {took:.1f}s with a {TTL}s lease"
            lease = roles.lease()
            assert lease is not None and lease.token == 2
            assert_anchored_exactly_once(roles, first_block, w3)
            assert {b.fence_token for b in roles.batches()} <= {1, 2}
            assert any(b.fence_token == 2 for b in roles.batches())  # b sent some of them
            assert "taken by" in roles.log(next(n for n, p in roles.procs.items() if p is b))
        finally:
            roles.stop()


def test_a_holder_cut_off_from_the_database_stops_sending_and_the_standby_takes_over(dev_network, tmp_path):
    w3 = dev_network.chain.web3()
    first_block = w3.eth.block_number
    tag = uuid.uuid4().hex[:8]
    db_roles = {"a": f"credreg_a_{tag}", "b": f"credreg_b_{tag}"}  # one database role per process, to cut one
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as c:
        for role in db_roles.values():
            c.execute(sa.text(f'CREATE ROLE "{role}" LOGIN SUPERUSER'))
    try:
        with postgres_schema() as url:
            roles = Roles(tmp_path, dev_network, url, lease_ttl_seconds=TTL, batch_max_size=BATCH)
            urls = tuple(url.replace("postgres@", f"{db_roles[n]}@", 1) for n in ("a", "b"))
            try:
                name, a, b = start_pair(roles, urls)  # type: ignore[arg-type]
                role = db_roles[name]

                def cut() -> int:
                    with admin.begin() as c:
                        return len(
                            c.execute(
                                sa.text(
                                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"
                                ),
                                {"r": role},
                            ).all()
                        )

                issue(roles, 0, 40)
                wait_for(lambda: confirmed(roles) >= 1, 30, "the holder anchors")

                # 1. the holder's connections killed once (what released the old advisory lock): it reconnects and
                # keeps the lease; the standby does not start sending beside it
                assert cut() >= 1
                issue(roles, 40, 40)
                wait_for(lambda: roles.unanchored() == 0, 60, "the holder anchors after reconnecting")
                lease = roles.lease()
                assert roles.holder_pid() == a.pid and lease is not None and lease.token == 1

                # 2. cut off for longer than its lease: the standby takes over; back, the old holder finds a newer
                # token and stands by
                with admin.begin() as c:
                    c.execute(sa.text(f'ALTER ROLE "{role}" NOLOGIN'))
                cut()
                issue(roles, 80, 40)
                wait_for(lambda: roles.holder_pid() == b.pid, TTL * 3 + 5, "the standby takes the lease over")
                wait_for(lambda: roles.unanchored() == 0, 60, "the new holder anchors the backlog")
                with admin.begin() as c:
                    c.execute(sa.text(f'ALTER ROLE "{role}" LOGIN'))
                issue(roles, 120, 40)
                key = roles.network.issuer.address.lower()
                wait_for(
                    lambda: any(
                        h.pid == a.pid and h.state.get("leases", {}).get(key, 0) is None
                        for h in roles.heartbeats()
                    ),
                    30,
                    "the old holder beats again, standing by",
                )
                lease = roles.lease()
                assert lease is not None and lease.token == 2 and roles.holder_pid() == b.pid
                assert_anchored_exactly_once(roles, first_block, w3)
                assert a.poll() is None  # it survived the cut
                assert "standing down" in roles.log(name) or "moved on past token" in roles.log(name)
            finally:
                roles.stop()
    finally:
        with admin.begin() as c:
            for role in db_roles.values():
                c.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
