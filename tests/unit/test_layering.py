"""HTTP stays in api/: node raises domain errors only, every one of which api/errors maps to a status code;
node (except its composition root node/cli) imports neither the web framework nor api."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import node.errors
from api.errors import STATUS_OF, status_of
from node.errors import NodeError

REPO = Path(__file__).resolve().parents[2]
WEB = ("fastapi", "starlette", "api")


def _domain_errors() -> list[type[NodeError]]:
    return [c for _, c in inspect.getmembers(node.errors, inspect.isclass) if issubclass(c, NodeError)]


@pytest.mark.parametrize("cls", [c for c in _domain_errors() if c is not NodeError], ids=lambda c: c.__name__)
def test_every_domain_error_has_a_status(cls):
    assert cls in STATUS_OF
    assert status_of(cls("x")) == STATUS_OF[cls]


def test_a_subclass_takes_its_base_status_and_keeps_its_slug():
    class Gone(node.errors.NotFound):
        slug = "gone"

    err = Gone("no longer here", slug=None)
    assert status_of(err) == 404 and err.slug == "gone" and status_of(NodeError("bare")) == 500


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            names.update(a.name for a in n.names)
        elif isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
            names.add(n.module)
    return names


def test_node_does_not_speak_http():
    offenders = []
    for path in sorted((REPO / "node").rglob("*.py")):
        if (REPO / "node" / "cli") in path.parents:
            continue  # the composition root may wire api
        for name in _imports(path):
            if name.split(".")[0] in WEB:
                offenders.append(f"{path.relative_to(REPO)}: {name}")
    assert offenders == []
