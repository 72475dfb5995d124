"""Lazy public APIs for packages (PEP 562): ``import anchoring`` or ``import anchoring.verify`` costs nothing until a
name is used, so the standalone verifier's ``--help`` and light users do not pay for web3, pyld or the signing
stack they never touch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str | tuple[str, str]], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``exports`` maps a public name to its module (or to ``(module,
    name there)``); the value is imported on first use and kept in ``namespace`` (the package's globals())."""

    def __getattr__(name: str) -> Any:
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = target if isinstance(target, tuple) else (target, name)
        value = getattr(import_module(module), attr)
        namespace[name] = value
        return value

    return __getattr__
