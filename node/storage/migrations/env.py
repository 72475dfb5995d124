"""Alembic environment: uses the connection handed over by node.db.upgrade, else the settings URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import node.storage.learner_tables

# Importing the table modules registers their tables in SQLModel.metadata (for autogenerate).
import node.storage.models
import node.storage.pipeline_tables
import node.storage.registry_tables
import node.storage.revocation_tables
import node.storage.wallet_tables  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    from node.settings import get_settings
    from node.storage.db import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url)
    try:
        with engine.begin() as conn:
            _configure(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    from node.settings import get_settings
    from node.storage.db import normalize_url

    context.configure(
        url=normalize_url(config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
