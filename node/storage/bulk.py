"""Many rows into one table inside the caller's transaction, the fastest way each database takes them.

PostgreSQL: ``COPY ... FROM STDIN`` through psycopg. SQLAlchemy's executemany on psycopg 3 sends one prepared
INSERT per row (pipeline mode), which the server executes one by one; COPY took half the time for the same
1,000-row chunks (scripts/bench_ingest.py measures the whole ingest). A unique violation arrives as SQLAlchemy's
IntegrityError either way, so callers keep one retry path. SQLite: the driver's executemany (in process, in C).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

__all__ = ["insert_rows"]

_CHUNK = 5000


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys: column names) into ``table`` on ``conn``'s transaction."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, rows)
        return
    for i in range(0, len(rows), _CHUNK):
        conn.execute(sa.insert(table), list(rows[i : i + _CHUNK]))


def _copy(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    import psycopg

    columns = list(rows[0])
    quote = conn.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)  # make_engine: PostgreSQL goes through psycopg 3
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except psycopg.errors.IntegrityError as exc:  # as executemany would raise it: the caller's retry path
        raise IntegrityError(statement, None, exc) from exc
