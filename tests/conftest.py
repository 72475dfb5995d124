"""Fixtures and markers for the whole suite.

Fixtures live in tests/helpers/ (chains, databases) and are registered here. Markers are set per folder, so a
folder says what its tests need and ``-m "not chain"`` is a real run without any chain:

    unit/       pure functions: no database, no chain, no network
    node/       the node's domain against real SQLite and PostgreSQL (marker ``postgres`` on the PostgreSQL half)
    api/        the HTTP API in process against real databases, no chain
    contracts/  the contracts on real Anvil and Ganache processes                       -> ``chain``
    e2e/        real servers, pipelines, CLIs and chains together                       -> ``chain``
    browser/    pages in headless Chromium against a real node                          -> ``chain``, ``browser``
    interop/    third-party verifiers, wallets and clients against the node             -> ``chain``, ``interop``

A test in unit/, node/ or api/ that asks for a chain fixture is a collection error, so the split stays true.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.helpers.chain", "tests.helpers.db", "tests.helpers.softhsm"]

_HERE = Path(__file__).parent
_MARKS = {
    "contracts": ("chain",),
    "e2e": ("chain",),
    "browser": ("chain", "browser"),
    "interop": ("chain", "interop"),
}
_CHAIN_FREE = ("unit", "node", "api")
_CHAIN_FIXTURES = {"dev_network", "any_network", "every_chain", "w3", "funder", "any_funder"}
_DB_FIXTURES = {"db_url", "engine", "session_factory", "settings", "app", "client", "issuer"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.fspath)).relative_to(_HERE).parts[0]
        for mark in _MARKS.get(folder, ()):
            item.add_marker(getattr(pytest.mark, mark))
        used = set(getattr(item, "fixturenames", ()))
        if folder in _CHAIN_FREE and used & _CHAIN_FIXTURES:
            raise pytest.UsageError(
                f"{item.nodeid} uses {sorted(used & _CHAIN_FIXTURES)}: a test that needs a chain "
                "belongs in contracts/, e2e/, browser/ or interop/"
            )
        if folder == "unit" and used & _DB_FIXTURES:
            raise pytest.UsageError(f"{item.nodeid} uses a database: it belongs in node/ or api/")
