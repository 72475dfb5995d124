"""Many rows into one table inside the caller's transaction, the fastest way each database takes them.

PostgreSQL: ``COPY ... FROM STDIN`` through psycopg. SQLAlchemy's executemany on psycopg 3 sends one prepared
INSERT per row (pipeline mode), which the server executes one by one; COPY took half the time for the same
1,000-row chunks (scripts/bench_ingest.py measures the whole ingest). The binary format, not text: the
credentials' canonical bytes and salts travel as they are instead of hex-escaped for the server to parse back, and
5,000 credential rows went in 0.23 s instead of 0.33 s (median of 12 alternating runs each, one server). Its values
must match the columns' types exactly, so the types are read from the server's catalogue for each COPY (one round
trip). A unique violation arrives as SQLAlchemy's IntegrityError either way, so callers keep one retry path.
SQLite: the driver's executemany (in process, in C).
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
    statement = (
        f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN (FORMAT BINARY)"
    )
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)  # make_engine: PostgreSQL goes through psycopg 3
    try:
        with raw.cursor() as cursor:
            types = _column_types(cursor, quote(table.name), columns)
            with cursor.copy(statement) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row([row[c] for c in columns])
    except psycopg.errors.IntegrityError as exc:  # as executemany would raise it: the caller's retry path
        raise IntegrityError(statement, None, exc) from exc


def _column_types(cursor: Any, table: str, columns: list[str]) -> list[int]:
    """The type oids of ``columns`` of ``table`` (a quoted name, found on the search path), in that order."""
    cursor.execute(
        "SELECT attname, atttypid::int FROM pg_attribute"
        " WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
        (table,),
    )
    oids = dict(cursor.fetchall())
    return [oids[c] for c in columns]
