"""Consistent copies of a node's database (``credreg db backup``), for audits and restores.

* SQLite: the online backup API (``sqlite3.Connection.backup``), page by page so progress can be shown, while the
  node keeps running. If writers change the source under a stepwise copy, SQLite restarts it; after a few restarts
  the copy is taken in one step (one read transaction: a snapshot, writers in WAL mode are not blocked). The copy
  is then switched to rollback-journal mode (``journal_mode=DELETE``) so it is one self-contained file that needs
  no ``-wal`` beside it, checked with ``PRAGMA quick_check``, and only then renamed into place.
* PostgreSQL: ``pg_dump`` (Debian's postgresql-client) in its custom format, one repeatable-read snapshot; the
  password goes through ``PGPASSWORD`` in its environment, never on its command line; the schema named by the
  URL's ``search_path`` option (if any) is dumped alone. Restore with ``pg_restore``.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import make_url

__all__ = ["BackupError", "BackupResult", "backup_database", "pg_dump_command"]

Progress = Callable[[int, int], None]  # (done, total) in pages (SQLite) or tables (PostgreSQL)

STEP_PAGES = 1024
MAX_RESTARTS = 3


class BackupError(RuntimeError):
    """The copy could not be made (the message says why); nothing is left at the output path."""


@dataclass(frozen=True)
class BackupResult:
    kind: str  # sqlite | postgresql
    path: Path
    bytes: int
    units: int  # pages (SQLite) or tables (PostgreSQL) copied
    note: str = ""


def backup_database(
    url: str, out: Path, progress: Progress | None = None, *, force: bool = False
) -> BackupResult:
    """Copy the database at `url` to `out` consistently (see the module docstring)."""
    if out.exists() and not force:
        raise BackupError(f"{out} exists: choose another name or pass --force")
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        if not u.database or u.database == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        return _backup_sqlite(Path(u.database).expanduser(), out, progress)
    if backend == "postgresql":
        return _backup_postgres(url, out, progress)
    raise BackupError(f"no backup method for {backend} databases")


# ------------------------------------------------------------------------------------------------- SQLite
def _backup_sqlite(src: Path, out: Path, progress: Progress | None) -> BackupResult:
    if not src.exists():
        raise BackupError(f"{src}: no such database file")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    for leftover in (partial, Path(f"{partial}-journal")):
        leftover.unlink(missing_ok=True)
    restarts = 0
    last_remaining: int | None = None

    def on_step(_status: int, remaining: int, total: int) -> None:
        nonlocal restarts, last_remaining
        if last_remaining is not None and remaining > last_remaining:  # the source changed: SQLite restarted
            restarts += 1
            if restarts > MAX_RESTARTS:
                raise _Restarting
        last_remaining = remaining
        if progress is not None:
            progress(total - remaining, total)

    source = sqlite3.connect(src, timeout=30)
    note = ""
    try:
        target = sqlite3.connect(partial)
        try:
            try:
                source.backup(target, pages=STEP_PAGES, progress=on_step)
            except _Restarting:
                note = f"the source kept changing ({restarts} restarts): copied in one step"
                source.backup(target, pages=-1)
            pages = int(target.execute("PRAGMA page_count").fetchone()[0])
            if progress is not None:
                progress(pages, pages)
            target.execute("PRAGMA journal_mode=DELETE")
            check = target.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"the copy fails PRAGMA quick_check: {check}")
        finally:
            target.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"SQLite backup of {src} failed: {exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    os.replace(partial, out)
    return BackupResult("sqlite", out, out.stat().st_size, pages, note)


class _Restarting(Exception):
    """Raised from the progress callback to stop a stepwise copy that keeps restarting."""


# ------------------------------------------------------------------------------------------------- PostgreSQL
def _search_path(options: str | None) -> str | None:
    if not options:
        return None
    m = re.search(r"-c\s*search_path=([^\s,]+)", unquote(options))
    return m.group(1) if m else None


def pg_dump_command(url: str, out: Path) -> tuple[list[str], dict[str, str]]:
    """The ``pg_dump`` command line and the extra environment (the password) for `url`."""
    u = make_url(url)
    binary = shutil.which("pg_dump")
    if binary is None:
        raise BackupError("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    args = [binary, "--format=custom", "--no-owner", "--verbose", f"--file={out}"]
    if u.host:
        args.append(f"--host={u.host}")
    if u.port:
        args.append(f"--port={u.port}")
    if u.username:
        args.append(f"--username={u.username}")
    options = u.query.get("options")
    schema = _search_path(options if isinstance(options, str) else None)
    if schema:
        args.append(f"--schema={schema}")
    args.append(f"--dbname={u.database or 'postgres'}")
    env = {"PGCONNECT_TIMEOUT": "10"}
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    sslmode = u.query.get("sslmode")
    if isinstance(sslmode, str):
        env["PGSSLMODE"] = sslmode
    return args, env


def _tables(url: str, schema: str | None) -> int:
    import sqlalchemy as sa

    from node.storage.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            q = "SELECT count(*) FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema = "
            if schema:
                return int(conn.execute(sa.text(q + ":s"), {"s": schema}).scalar() or 0)
            return int(conn.execute(sa.text(q + "ANY(current_schemas(false))")).scalar() or 0)
    finally:
        engine.dispose()


def _backup_postgres(url: str, out: Path, progress: Progress | None) -> BackupResult:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    args, env = pg_dump_command(url, partial)
    options = make_url(url).query.get("options")
    try:
        total = _tables(url, _search_path(options if isinstance(options, str) else None))
    except Exception as exc:  # noqa: BLE001 - reported as the reason the backup cannot start
        raise BackupError(
            f"cannot reach the database: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        ) from None
    done = 0
    errors: list[str] = []
    proc = subprocess.Popen(
        args, env={**os.environ, **env}, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # --verbose: one "dumping contents of table" line per table
        if "dumping contents of table" in line:
            done += 1
            if progress is not None:
                progress(min(done, total), total)
        elif "error" in line.lower():
            errors.append(line.strip())
    code = proc.wait()
    if code != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed (exit {code}): {' | '.join(errors)[:500] or 'see its output'}")
    os.replace(partial, out)
    if progress is not None:
        progress(total, total)
    return BackupResult("postgresql", out, out.stat().st_size, done, "restore with pg_restore")
