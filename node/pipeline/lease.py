"""Leases with fencing tokens: one sender per issuer chain key, a standby that takes over within a bounded time.

A lease is a row of ``pipeline_lease`` named by the lower-case chain key address (the indexer has one named
``indexer``). Its holder renews it every ``ttl / 3`` (``LeaseKeeper``, the heartbeat thread); a holder that dies or
cannot reach the database stops renewing, the row expires after ``ttl`` seconds, and a standby's ``try_acquire``
(polled every fraction of a second) takes it over, adding one to its fencing ``token``.

The token is stored with every write-ahead row, and ``check`` (the outbox's ``Fence``) runs inside the write-ahead
transaction, before its commit and the broadcast that follows: it reads the lease row under a row lock
(``FOR SHARE`` on PostgreSQL; SQLite's write lock is already held by the write-ahead insert) and refuses when the
token moved on, the holder changed, or less than ``ttl / 4`` of the lease is left. So a holder that lost its
database connection (PostgreSQL ``pg_terminate_backend``) and was replaced finds a newer token once it reconnects
and sends nothing; a takeover cannot happen between the check and the commit, and the lease still has ``ttl / 4``
to run when the broadcast goes out milliseconds later.

Expiry is judged by the database's clock on PostgreSQL (processes on several hosts need no clock agreement) and by
the local clock on SQLite (one host). Besides the database, a holder keeps a local deadline: the monotonic time of
its last successful renewal plus ``ttl - ttl / 4``; past it, ``held`` is false and ``check`` refuses without asking.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from node.pipeline.outbox import FenceLost
from node.storage.db import is_postgres
from node.storage.models import utcnow
from node.storage.pipeline_tables import EPOCH, PipelineHeartbeat, PipelineLease

__all__ = ["INDEXER_LEASE", "Lease", "LeaseKeeper", "lease_name", "new_holder_id"]

log = logging.getLogger("credreg.lease")

INDEXER_LEASE = "indexer"

_T = PipelineLease.__table__


def lease_name(address: str) -> str:
    """The signer lease of a chain key: its lower-case address."""
    return address.lower()


def new_holder_id() -> str:
    """``host:pid:random``: unique per process start, readable in ``/readyz`` and the logs."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(3)}"


def db_now(conn: Connection | Session) -> datetime:
    """Now, naive UTC, by the database's clock on PostgreSQL (the local clock on SQLite)."""
    if is_postgres(conn):
        value = conn.execute(sa.text("SELECT clock_timestamp() AT TIME ZONE 'UTC'")).scalar()
        assert isinstance(value, datetime)
        return value
    return utcnow()


class Lease:
    """One named lease as seen by one holder. Thread-safe: the signer loop acquires and checks, the keeper renews.
    Quacks as the outbox's ``Fence`` (``token``, ``check``)."""

    def __init__(self, engine: Engine, name: str, holder: str, ttl: float):
        if ttl <= 0:
            raise ValueError("lease ttl must be positive")
        self.engine = engine
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.margin = ttl / 4
        self._token: int | None = None
        self._deadline = 0.0  # monotonic: past it, the lease is treated as lost without asking the database
        self._lock = threading.Lock()

    # --- the fence -------------------------------------------------------------------------------------------
    @property
    def token(self) -> int | None:
        with self._lock:
            if self._token is not None and time.monotonic() >= self._deadline:
                log.warning("lease %s: not renewed in time; standing down", self.name)
                self._token = None
            return self._token

    @property
    def held(self) -> bool:
        return self.token is not None

    def check(self, token: int | None, session: Session | None = None) -> None:
        """Raise FenceLost unless ``token`` is this holder's current token and the lease has ``margin`` left.
        With ``session``, the lease row is read (and locked against a takeover) in that session's transaction."""
        mine = self.token
        if token is None or mine != token:
            raise FenceLost(f"lease {self.name}: token {token} is not the current one ({mine})")
        if session is None:
            with self.engine.begin() as conn:
                self._check_row(conn, token)
        else:
            self._check_row(session, token)

    def _check_row(self, conn: Connection | Session, token: int) -> None:
        query = sa.select(_T.c.holder, _T.c.token, _T.c.expires_at).where(_T.c.name == self.name)
        if is_postgres(conn):
            query = query.with_for_update(read=True)
        row = conn.execute(query).first()
        now = db_now(conn)
        if row is None or row.token != token or row.holder != self.holder:
            self._lose()
            current = f"token {row.token} held by {row.holder}" if row is not None else "no lease row"
            raise FenceLost(f"lease {self.name} moved on past token {token}: {current}")
        if row.expires_at - now < timedelta(seconds=self.margin):
            raise FenceLost(
                f"lease {self.name}: less than {self.margin:.1f}s left; not sending until renewed"
            )

    # --- taking, keeping, giving back ---------------------------------------------------------------------------
    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it or its holder's expired; True if this holder has it now."""
        if self.held:
            return True
        started = time.monotonic()
        with self.engine.begin() as conn:
            now = db_now(conn)
            conn.execute(
                sa.text(
                    "INSERT INTO pipeline_lease (name, holder, token, expires_at) VALUES (:n, NULL, 0, :epoch) "
                    "ON CONFLICT (name) DO NOTHING"
                ),
                {"n": self.name, "epoch": EPOCH},
            )
            taken = conn.execute(
                _T.update()
                .where(_T.c.name == self.name, _T.c.expires_at <= now)
                .values(
                    holder=self.holder,
                    token=_T.c.token + 1,
                    expires_at=now + timedelta(seconds=self.ttl),
                    acquired_at=now,
                    renewed_at=now,
                )
            ).rowcount
            if taken != 1:
                return False
            token: int = conn.execute(sa.select(_T.c.token).where(_T.c.name == self.name)).scalar_one()
        with self._lock:
            self._token = int(token)
            self._deadline = started + self.ttl - self.margin
        log.info("lease %s: taken by %s with fencing token %s", self.name, self.holder, token)
        return True

    def renew(self) -> bool:
        """Extend the lease by ``ttl``; False (and the lease dropped) if it expired or moved on."""
        with self._lock:
            token = self._token
        if token is None:
            return False
        started = time.monotonic()
        with self.engine.begin() as conn:
            now = db_now(conn)
            renewed = conn.execute(
                _T.update()
                .where(
                    _T.c.name == self.name,
                    _T.c.holder == self.holder,
                    _T.c.token == token,
                    _T.c.expires_at > now,
                )
                .values(expires_at=now + timedelta(seconds=self.ttl), renewed_at=now)
            ).rowcount
        if renewed != 1:
            self._lose()
            log.warning("lease %s: lost (token %s expired or taken over)", self.name, token)
            return False
        with self._lock:
            if self._token == token:
                self._deadline = started + self.ttl - self.margin
        return True

    def release(self) -> None:
        """Give the lease back at once (clean shutdown): a standby takes it on its next poll."""
        with self._lock:
            token, self._token = self._token, None
        if token is None:
            return
        with self.engine.begin() as conn:
            conn.execute(
                _T.update()
                .where(_T.c.name == self.name, _T.c.holder == self.holder, _T.c.token == token)
                .values(holder=None, expires_at=EPOCH)
            )
        log.info("lease %s: released (token %s)", self.name, token)

    def _lose(self) -> None:
        with self._lock:
            self._token = None


class LeaseKeeper:
    """The heartbeat thread of a pipeline process: every ``interval`` (``ttl / 3``) it renews the leases this
    process holds and writes its ``pipeline_heartbeat`` row with the last known chain state (``state``, filled in
    by the chain watcher). A failed beat (database unreachable) is logged and tried again at the next tick; the
    leases' local deadlines make the process stand down if beats keep failing."""

    def __init__(self, engine: Engine, holder: str, leases: list[Lease], interval: float):
        self.engine = engine
        self.holder = holder
        self.leases = leases
        self.interval = interval
        self.state: dict = {}
        self.started_at = utcnow()
        self.stop_event = threading.Event()

    def beat(self) -> None:
        for lease in self.leases:
            try:
                lease.renew()
            except sa.exc.SQLAlchemyError as exc:
                log.warning("lease %s: renewal failed: %s", lease.name, type(exc).__name__)
        state = dict(self.state)
        state["leases"] = {lease.name: lease.token for lease in self.leases}
        with Session(self.engine) as session:
            now = db_now(session)
            row = session.get(PipelineHeartbeat, self.holder)
            if row is None:
                row = PipelineHeartbeat(
                    holder=self.holder,
                    host=socket.gethostname()[:255],
                    pid=os.getpid(),
                    started_at=self.started_at,
                    beat_at=now,
                    state=state,
                )
            else:
                row.beat_at, row.state = now, state
            session.add(row)
            session.commit()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.beat()
            except sa.exc.SQLAlchemyError as exc:
                log.warning("heartbeat failed: %s", type(exc).__name__)
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        self.stop_event.set()

    def remove(self) -> None:
        """Delete this process's heartbeat row (clean shutdown)."""
        with Session(self.engine) as session:
            row = session.get(PipelineHeartbeat, self.holder)
            if row is not None:
                session.delete(row)
                session.commit()
