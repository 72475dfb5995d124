"""Database fixtures for storage/API/batcher tests, loaded through ``pytest_plugins`` in conftest.py.

``db_url`` runs each test on SQLite (a temp file) AND on a real PostgreSQL (``CREDREG_TEST_POSTGRES_URL``,
default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) in a fresh schema that is dropped
afterwards. PostgreSQL unreachable: skipped with the reason, or a failure when ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from node.auth.tokens import create_issuer, create_token
from node.settings import Settings
from node.storage.db import make_engine, normalize_url, upgrade
from node.storage.db import session_factory as make_session_factory

POSTGRES_URL = os.environ.get(
    "CREDREG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_pg_status: dict[str, str | None] = {}


def _postgres_unavailable() -> str | None:
    if "reason" not in _pg_status:
        try:
            eng = make_engine(POSTGRES_URL, pool_pre_ping=False)
            try:
                with eng.connect() as c:
                    c.execute(sa.text("SELECT 1"))
                _pg_status["reason"] = None
            finally:
                eng.dispose()
        except Exception as exc:
            _pg_status["reason"] = f"PostgreSQL at {POSTGRES_URL} unreachable: {type(exc).__name__}: {exc}"[
                :300
            ]
    return _pg_status["reason"]


def _with_search_path(url: str, schema: str) -> str:
    url = normalize_url(url)
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def empty_postgres_schema() -> Iterator[str]:
    """The URL of a fresh, EMPTY PostgreSQL schema (no tables), dropped afterwards. Skips the test when PostgreSQL
    is unreachable, fails it under CI=true (where PostgreSQL is required)."""
    reason = _postgres_unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(POSTGRES_URL, schema)
    finally:
        with admin.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A URL to an EMPTY database (no tables): sqlite temp file or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'credreg-test.db'}"
        return
    with empty_postgres_schema() as url:
        yield url


@pytest.fixture
def engine(db_url):
    """A migrated engine (alembic upgrade head) on ``db_url``."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def settings(db_url, tmp_path):
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        batch_max_size=1000,
        batch_max_age_seconds=2.0,
        max_credential_bytes=64 * 1024,
        max_bulk_items=5000,
        # these API tests are about transport, storage and profile rules on any JSON (real European samples name
        # their own issuer URNs); the W3C VC rules are tested with the default (strict) in test_vc_issuance.py
        vc_validation="off",
        # every TestClient request comes from one address: a fast machine passes the per-IP limit (100/s) in
        # tests that allocate or read in loops; tests/api/test_limits.py turns the limits on and tests them
        rate_limit_enabled=False,
        _env_file=None,
    )


@dataclass
class IssuerFixture:
    id: int
    name: str
    address: str
    token: str  # issuer role
    reader_token: str  # reader role

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_issuer(session_factory, name: str = "Uni Test", address: str = "0x" + "11" * 20) -> IssuerFixture:
    with session_factory() as s:
        iss = create_issuer(s, name, address, did=f"did:example:{name.replace(' ', '-').lower()}")
        tok = create_token(s, iss.id, "issuer", "test")
        rd = create_token(s, iss.id, "reader", "test-reader")
        s.commit()
        return IssuerFixture(iss.id, iss.name, iss.address, tok.token, rd.token)


@pytest.fixture
def issuer(session_factory) -> IssuerFixture:
    return make_issuer(session_factory)


@pytest.fixture
def app(settings, engine):
    from api.app import create_app

    return create_app(settings, engine=engine)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def count_rows(engine, table: str) -> int:
    with engine.connect() as c:
        return int(c.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar())  # noqa: S608 - table names from tests


def downgrade(engine, revision: str) -> None:
    """alembic downgrade to ``revision`` on ``engine``."""
    from alembic import command

    from node.storage.db import _alembic_config

    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), revision)
