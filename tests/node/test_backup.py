"""`credreg db backup` on SQLite (online backup API, while another connection keeps writing) and PostgreSQL
(pg_dump, restored with pg_restore into a database of its own): the copy holds every row, and a SQLite copy is one
self-contained file that `credreg audit` accepts where a plain copy of the live file is refused."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from node.cli import build_app
from node.issuance.accept import issue_many
from node.registry.audit import AuditRefused, inspect_sqlite_copy
from node.storage.backup import BackupError, backup_database, pg_dump_command
from node.storage.db import make_engine, normalize_url
from tests.helpers.db import POSTGRES_URL, count_rows

TABLES = ("issuer", "credential", "api_token")


def _fill(session_factory, issuer_id: int, n: int) -> None:
    with session_factory() as s:
        issue_many(
            s, issuer_id, [{"id": f"urn:uuid:{uuid.uuid4()}", "n": i} for i in range(n)], max_bytes=65536
        )


def test_backup_copies_every_row(db_url, engine, session_factory, issuer, tmp_path):
    _fill(session_factory, issuer.id, 300)
    out = tmp_path / ("copy.db" if db_url.startswith("sqlite") else "copy.dump")
    seen: list[tuple[int, int]] = []
    result = CliRunner().invoke(
        build_app(),
        ["db", "backup", str(out), "--database-url", db_url, "--no-progress"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert f"backup written to {out}" in result.output.replace("\n", "")
    again = CliRunner().invoke(build_app(), ["db", "backup", str(out), "--database-url", db_url])
    assert again.exit_code == 2 and "exists" in again.output  # never overwritten without --force
    backup_database(db_url, out, lambda done, total: seen.append((done, total)), force=True)
    assert seen and seen[-1][0] == seen[-1][1] > 0  # progress reached its end
    schema = None
    if db_url.startswith("sqlite"):
        restored_url = f"sqlite:///{out}"
        assert inspect_sqlite_copy(out).journal_mode == "delete"  # self-contained: the audit accepts it
        assert not Path(f"{out}-wal").exists()
    else:
        restored_url, schema = _restore(out)
    restored = make_engine(restored_url)
    try:
        for table in TABLES:
            assert count_rows(restored, table) == count_rows(engine, table), table
    finally:
        restored.dispose()
        if schema:
            admin = make_engine(POSTGRES_URL)
            with admin.begin() as c:
                c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def test_sqlite_backup_while_another_connection_writes(session_factory, issuer, db_url, tmp_path):
    if not db_url.startswith("sqlite"):
        pytest.skip("the online backup API is SQLite's")
    _fill(session_factory, issuer.id, 2000)  # several backup steps of 1024 pages
    stop = threading.Event()

    def write():
        while not stop.is_set():
            _fill(session_factory, issuer.id, 5)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        result = backup_database(db_url, tmp_path / "busy.db")
    finally:
        stop.set()
        writer.join()
    conn = sqlite3.connect(tmp_path / "busy.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM credential").fetchone()[0] >= 2000
    finally:
        conn.close()
    assert result.units > 0


def test_a_plain_copy_of_the_live_file_is_refused(session_factory, issuer, db_url, tmp_path):
    if not db_url.startswith("sqlite"):
        pytest.skip("WAL files are SQLite's")
    _fill(session_factory, issuer.id, 10)
    live = Path(db_url.removeprefix("sqlite:///"))
    plain = tmp_path / "plain.db"
    plain.write_bytes(live.read_bytes())
    with pytest.raises(AuditRefused, match="WAL mode"):
        inspect_sqlite_copy(plain)
    with pytest.raises(AuditRefused, match="write-ahead frames"):
        inspect_sqlite_copy(live)  # the live file, its -wal beside it
    with pytest.raises(BackupError, match="no such database file"):
        backup_database(f"sqlite:///{tmp_path / 'missing.db'}", tmp_path / "x.db")


def test_pg_dump_gets_the_password_from_its_environment_never_argv(tmp_path):
    args, env = pg_dump_command(
        "postgresql+psycopg://auditor:s3cret@db.example:5433/credreg?options=-csearch_path%3Dtenant_a",
        tmp_path / "x.dump",
    )
    assert "s3cret" not in " ".join(args) and env["PGPASSWORD"] == "s3cret"
    assert "--schema=tenant_a" in args and "--host=db.example" in args and "--port=5433" in args
    assert "--dbname=credreg" in args and "--format=custom" in args


def _restore(dump: Path) -> tuple[str, str]:
    """Restore the dump with pg_restore into a fresh schema of the test database (a CREATE DATABASE would cost a
    checkpoint, over a minute on a busy machine): the URL of the restored schema, and the schema's name."""
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True)
    schema = next(
        line.split()[4] for line in listing.stdout.splitlines() if " TABLE " in line and "credential" in line
    )
    script = subprocess.run(
        ["pg_restore", "--no-owner", "--file=-", str(dump)], capture_output=True, text=True, check=True
    ).stdout
    restored = f"r_{uuid.uuid4().hex[:14]}"
    url = sa.engine.make_url(normalize_url(POSTGRES_URL))
    subprocess.run(
        [
            "psql",
            "--quiet",
            "--set=ON_ERROR_STOP=1",
            f"--host={url.host}",
            f"--port={url.port or 5432}",
            f"--username={url.username}",
            f"--dbname={url.database}",
        ],
        input=script.replace(schema, restored),  # the schema names are random: nothing else matches them
        capture_output=True,
        text=True,
        check=True,
    )
    return url.render_as_string(hide_password=False) + f"?options=-csearch_path%3D{restored}", restored
