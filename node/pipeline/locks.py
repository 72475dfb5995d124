"""One anchorer per issuer key: a PostgreSQL advisory lock, or a file lock beside the SQLite database."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from anchoring.scheme.keccak import keccak256
from node.storage.db import is_postgres


class AnchorerBusy(RuntimeError):
    """Another anchorer holds the lock for this key."""


def _lock_key(address: str) -> int:
    return int.from_bytes(keccak256(b"credreg-anchorer:" + address.lower().encode())[:8], "big", signed=True)


@contextmanager
def anchorer_lock(engine: Engine, address: str, lock_dir: Path | None = None) -> Iterator[None]:
    """Hold the single-anchorer lock for `address` while the block runs; AnchorerBusy if someone has it."""
    if is_postgres(engine):
        with engine.connect() as conn:
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": _lock_key(address)}).scalar()
            if not got:
                raise AnchorerBusy(f"another anchorer holds the lock for {address}")
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(address)})
                conn.commit()
        return
    database = engine.url.database
    folder = lock_dir or (Path(database).parent if database and database != ":memory:" else Path("."))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"anchorer-{address.lower()}.lock"
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AnchorerBusy(f"another anchorer holds {path}") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
