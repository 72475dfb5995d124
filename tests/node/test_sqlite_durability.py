"""SQLite commits survive power loss by default: PRAGMA synchronous=FULL on every connection, set by a setting."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from node.settings import Settings, get_settings
from node.storage.db import make_engine

LEVELS = {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}


def _level(engine) -> tuple[int, str]:
    with engine.connect() as c:
        return c.execute(sa.text("PRAGMA synchronous")).scalar_one(), c.execute(
            sa.text("PRAGMA journal_mode")
        ).scalar_one()


def test_full_is_the_default_on_every_connection(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDREG_SQLITE_SYNCHRONOUS", raising=False)
    get_settings.cache_clear()
    assert Settings(_env_file=None).sqlite_synchronous == "FULL"
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}", pool_size=2)
    try:
        conns = [engine.connect(), engine.connect()]  # two pooled connections, each set up
        assert [c.execute(sa.text("PRAGMA synchronous")).scalar_one() for c in conns] == [2, 2]
        for c in conns:
            c.close()
        assert _level(engine) == (2, "wal")
    finally:
        engine.dispose()


@pytest.mark.parametrize("level", ["NORMAL", "EXTRA"])
def test_the_setting_chooses_the_level(tmp_path, monkeypatch, level):
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}", sqlite_synchronous=level)
    try:
        assert _level(engine)[0] == LEVELS[level]
    finally:
        engine.dispose()
    monkeypatch.setenv("CREDREG_SQLITE_SYNCHRONOUS", level)
    get_settings.cache_clear()
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")  # no argument: the process's settings decide
        assert _level(engine)[0] == LEVELS[level]
        engine.dispose()
    finally:
        get_settings.cache_clear()


def test_a_bad_level_is_refused(tmp_path):
    with pytest.raises(ValidationError, match="sqlite_synchronous"):
        Settings(sqlite_synchronous="SOMETIMES", _env_file=None)
    with pytest.raises(ValueError, match="synchronous"):
        make_engine(f"sqlite:///{tmp_path / 'd.db'}", sqlite_synchronous="SOMETIMES")


def _mmap_sizes(engine, connections: int = 2) -> list[int]:
    conns = [engine.connect() for _ in range(connections)]
    try:
        return [c.execute(sa.text("PRAGMA mmap_size")).scalar_one() for c in conns]
    finally:
        for c in conns:
            c.close()


def test_every_connection_reads_through_a_memory_map_of_the_setting_s_size(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDREG_SQLITE_MMAP_SIZE", raising=False)
    get_settings.cache_clear()
    assert Settings(_env_file=None).sqlite_mmap_size == 1 << 30
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}", pool_size=2)
    try:
        assert _mmap_sizes(engine) == [1 << 30, 1 << 30]
    finally:
        engine.dispose()
    monkeypatch.setenv("CREDREG_SQLITE_MMAP_SIZE", "0")  # off: reads through each connection's own cache
    get_settings.cache_clear()
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
        assert _mmap_sizes(engine) == [0, 0]
        engine.dispose()
    finally:
        get_settings.cache_clear()
    with pytest.raises(ValidationError, match="sqlite_mmap_size"):
        Settings(sqlite_mmap_size=-1, _env_file=None)


def test_a_mapped_reader_sees_each_commit_of_another_connection(tmp_path):
    # the file grows under the map while another connection writes: each read transaction sees the newest commit
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}", sqlite_mmap_size=1 << 20, pool_size=2)
    try:
        with engine.begin() as w:
            w.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"))
        reader = engine.connect()
        rows = 0
        for n in (10, 2_000):  # the second round outgrows the 1 MiB map: reads past it go through read()
            with engine.begin() as w:
                w.execute(sa.text("INSERT INTO t (v) VALUES (randomblob(1000))"), [{}] * n)
            rows += n
            assert reader.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == rows
            reader.rollback()
        reader.close()
    finally:
        engine.dispose()
