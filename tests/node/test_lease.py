"""The pipeline lease on SQLite and PostgreSQL: one holder, fencing tokens that only grow, expiry and takeover,
the fence checked in the write-ahead transaction."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from node.pipeline.lease import Lease, LeaseKeeper
from node.pipeline.outbox import FenceLost
from node.storage.pipeline_tables import PipelineHeartbeat, PipelineLease

TTL = 0.6


def wait_until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_one_holder_tokens_grow_and_a_standby_takes_over_after_expiry(engine):
    a = Lease(engine, "0xabc", "a", TTL)
    b = Lease(engine, "0xabc", "b", TTL)
    other = Lease(engine, "0xdef", "b", TTL)
    assert a.try_acquire() and a.token == 1
    assert not b.try_acquire() and b.token is None
    assert other.try_acquire()  # leases are per name: one key's holder does not block another key's
    assert a.renew() and a.token == 1  # renewing keeps the token
    a.check(1)
    with pytest.raises(FenceLost):
        a.check(0)
    wait_until(b.try_acquire, timeout=TTL * 4)  # a stopped renewing: b takes over once it expired
    assert b.token == 2
    assert not a.held  # a's local deadline passed too
    assert not a.renew()
    with pytest.raises(FenceLost):
        a.check(1)
    b.release()
    assert a.try_acquire() and a.token == 3  # released: taken at once, and the token still grows


def test_a_holder_that_missed_its_renewals_refuses_although_its_token_is_still_current(engine):
    a = Lease(engine, "0xabc", "a", TTL)
    assert a.try_acquire()
    b = Lease(engine, "0xabc", "b", TTL)
    wait_until(lambda: not a.held, timeout=TTL * 2)
    with pytest.raises(FenceLost):
        a.check(1)
    wait_until(b.try_acquire, timeout=TTL * 4)


def test_the_fence_check_reads_the_lease_row_in_the_callers_transaction(engine):
    a = Lease(engine, "0xabc", "a", 30)
    assert a.try_acquire()
    with Session(engine) as session:
        a.check(1, session)
        session.rollback()
    # someone else took the lease behind a's back (as a standby does after expiry): a's next check refuses
    with engine.begin() as conn:
        conn.execute(sa.update(PipelineLease.__table__).values(holder="b", token=2))
    with Session(engine) as session, pytest.raises(FenceLost, match="moved on past token 1"):
        a.check(1, session)
    assert not a.held


def test_the_keeper_renews_and_writes_the_heartbeat(engine):
    ttl = 4.0  # renewed every 1.3 s: room for a loaded machine
    a = Lease(engine, "0xabc", "a", ttl)
    assert a.try_acquire()
    keeper = LeaseKeeper(engine, "a", [a], ttl / 3)
    keeper.state["chain"] = {"ok": True, "message": "block 7"}
    thread = threading.Thread(target=keeper.run, daemon=True)
    thread.start()
    try:
        time.sleep(ttl * 1.25)  # longer than its lifetime: held throughout because the keeper renews it
        assert a.held and a.token == 1
        assert not Lease(engine, "0xabc", "b", ttl).try_acquire()
    finally:
        keeper.stop()
        thread.join(5)
    with Session(engine) as session:
        row = session.get(PipelineHeartbeat, "a")
        assert (
            row is not None
            and row.state["chain"]["message"] == "block 7"
            and row.state["leases"] == {"0xabc": 1}
        )
    keeper.remove()
    with Session(engine) as session:
        assert session.get(PipelineHeartbeat, "a") is None
