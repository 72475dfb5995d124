"""Engines, sessions and schema migrations (SQLite embedded default, PostgreSQL in production).

The schema is created only by alembic migrations (``upgrade``), never by ``create_all``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from node.storage import pipeline_tables  # noqa: F401 - registers the lease and heartbeat tables

__all__ = [
    "current_revision",
    "is_postgres",
    "is_sqlite",
    "make_engine",
    "normalize_url",
    "ping",
    "session_factory",
    "session_scope",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (``postgres://`` too)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    u = make_url(url)
    if u.get_backend_name() == "postgresql" and u.get_driver_name() != "psycopg":
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def is_sqlite(bind: Engine | sa.Connection | Session) -> bool:
    return _dialect(bind) == "sqlite"


def is_postgres(bind: Engine | sa.Connection | Session) -> bool:
    return _dialect(bind) == "postgresql"


def _dialect(bind) -> str:
    if isinstance(bind, Session):
        bind = bind.get_bind()
    return bind.dialect.name


#: SQLite ``PRAGMA synchronous`` levels accepted by :func:`make_engine` (``Settings.sqlite_synchronous``)
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def _sqlite_pragmas(synchronous: str, mmap_size: int = 0):
    """The per-connection set-up: foreign keys, busy timeout, WAL, ``synchronous`` and ``mmap_size``. In WAL mode
    ``NORMAL`` can lose the last commits on power loss (not on a process crash); ``FULL`` (the default) syncs the
    WAL at every commit, so a credential acknowledged with 202 survives power loss."""
    if synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(
            f"sqlite synchronous must be one of {', '.join(SQLITE_SYNCHRONOUS)}, not {synchronous!r}"
        )

    def on_connect(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute(f"PRAGMA mmap_size={int(mmap_size)}")
        finally:
            cur.close()

    return on_connect


def make_engine(
    url: str,
    *,
    echo: bool = False,
    sqlite_synchronous: str | None = None,
    sqlite_mmap_size: int | None = None,
    **kwargs,
) -> Engine:
    """An engine for ``url``: SQLite gets WAL, foreign keys, a busy timeout, ``PRAGMA synchronous`` and
    ``PRAGMA mmap_size`` (defaults ``Settings.sqlite_synchronous``, FULL, and ``Settings.sqlite_mmap_size``) on
    every connection; PostgreSQL goes through psycopg 3 with pre-ping (its commits are durable as configured on
    the server)."""
    url = normalize_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        db = u.database
        if not db or db == ":memory:":
            kwargs.setdefault("poolclass", StaticPool)
        else:
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, echo=echo, connect_args=connect_args, **kwargs)
        if sqlite_synchronous is None or sqlite_mmap_size is None:
            from node.settings import get_settings

            settings = get_settings()
            sqlite_synchronous = sqlite_synchronous or settings.sqlite_synchronous
            sqlite_mmap_size = settings.sqlite_mmap_size if sqlite_mmap_size is None else sqlite_mmap_size
        event.listen(engine, "connect", _sqlite_pragmas(sqlite_synchronous.upper(), sqlite_mmap_size))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return sa.create_engine(url, echo=echo, **kwargs)


def session_factory(engine: Engine) -> sessionmaker:
    """A sessionmaker producing SQLModel sessions; objects stay usable after commit."""
    return sessionmaker(bind=engine, class_=Session, expire_on_commit=False)


@contextlib.contextmanager
def session_scope(factory: sessionmaker) -> Iterator[Session]:
    """``with session_scope(factory) as s:`` commits on success, rolls back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer ``SELECT 1``."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


def _alembic_config(connection: sa.Connection | None = None):
    from alembic.config import Config

    cfg = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def analyze(conn: sa.Connection) -> None:
    """Refresh the planner statistics of this node's tables only: on PostgreSQL the tables of the current schema
    (a bare ANALYZE would walk every schema of the database, other nodes' and test schemas included)."""
    if conn.dialect.name == "postgresql":
        names: list[str] = list(
            conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).scalars()
        )
        for name in names:
            conn.exec_driver_sql(f'ANALYZE "{name}"')
    else:
        conn.exec_driver_sql("ANALYZE")


#: the tables the pipeline grows, and the rows each must hold before the node analyzes it itself: then again each time
#: it has doubled since its last ANALYZE. Where autovacuum is off, or has not woken yet, the statistics stay those of
#: the young (often empty) table, and plans cached for the life of a pooled connection go bad as the table grows.
#: Measured: the foreign-key check of each sealed credential (SELECT ... FROM batch WHERE id = $1, planned as a scan
#: of a batch table believed empty) made sealing 1,000 credentials take 41 ms at 400,000 rows instead of 18-23 ms.
#: Doubling, not autovacuum's "20 % changed": one ANALYZE of the credential table reads much of it, and at a few
#: percent it ran so often during a 100,000-credential load that it slowed the load instead.
GROWING_TABLES: dict[str, int] = {"credential": 10_000, "batch": 50}


def refresh_statistics(conn: sa.Connection) -> list[str]:
    """ANALYZE each of :data:`GROWING_TABLES` (this node's schema) that holds at least its minimum of rows and twice
    the rows of its last ANALYZE; PostgreSQL only (SQLite's plans for these lookups do not depend on statistics). A
    table another session is analyzing is skipped, not waited for. Returns the tables analyzed."""
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.execute(
        sa.text(
            "SELECT s.relname, s.n_live_tup, c.reltuples FROM pg_stat_user_tables s"
            " JOIN pg_class c ON c.oid = s.relid"
            " WHERE s.schemaname = current_schema() AND s.relname = ANY(:names)"
        ),
        {"names": list(GROWING_TABLES)},
    ).all()
    analyzed: list[str] = []
    for name, live, tuples in rows:
        now, then = int(str(live)), max(float(str(tuples)), 0.0)  # reltuples: -1 before any ANALYZE
        if now >= GROWING_TABLES[str(name)] and now >= 2 * then:
            conn.exec_driver_sql(f'ANALYZE (SKIP_LOCKED) "{name}"')
            analyzed.append(str(name))
    return analyzed


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: latest). Safe to call repeatedly."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with engine.begin() as conn:
            before = MigrationContext.configure(conn).get_current_revision()
            command.upgrade(_alembic_config(conn), revision)
            if MigrationContext.configure(conn).get_current_revision() != before:
                analyze(
                    conn
                )  # fresh planner statistics after a migration (new indexes and columns have none)
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()
