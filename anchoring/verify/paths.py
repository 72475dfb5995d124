"""Values at a dotted path in a JSON document, walking arrays on the way: how checks and views read credentials
whose vocabularies put one value or a list at any level (``credentialSubject.achievement.creditsAvailable``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["walk_path"]


def walk_path(node: Any, path: str) -> Iterator[Any]:
    """Every value at the dotted ``path``; arrays on the way and at the end are walked."""
    if isinstance(node, list):
        for item in node:
            yield from walk_path(item, path)
        return
    if not path:
        if node is not None:
            yield node
        return
    head, _, rest = path.partition(".")
    if isinstance(node, dict) and head in node:
        yield from walk_path(node[head], rest)
