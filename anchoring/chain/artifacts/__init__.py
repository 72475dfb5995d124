"""Compiled contract artifacts shipped as package data, so a pip-installed node needs no JavaScript.

The top level holds the current contracts (compiled from contracts/ by `make artifacts`, checked against a
fresh compile by the tests); ``v1/`` holds the frozen version-1 artifacts (compiled at commit 3befd1b),
kept so verifiers can still read version-1 deployments and tests can deploy them.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["CONTRACT_NAMES", "abi", "load_artifact"]

CONTRACT_NAMES = ("IssuerRegistry", "CredentialAnchor")
#: artifact folders by contract major version
_FOLDERS = {2: "", 1: "v1"}


@cache
def load_artifact(name: str, major: int = 2) -> dict[str, Any]:
    """Return {abi, bytecode, deployedBytecode, ...} of a contract (current version unless `major` says)."""
    if name not in CONTRACT_NAMES:
        raise KeyError(f"unknown contract {name!r}; known: {', '.join(CONTRACT_NAMES)}")
    if major not in _FOLDERS:
        raise KeyError(f"no artifacts for contract version {major}")
    folder = resources.files("anchoring.chain.artifacts")
    if _FOLDERS[major]:
        folder = folder.joinpath(_FOLDERS[major])
    artifact: dict[str, Any] = json.loads(folder.joinpath(f"{name}.json").read_text())
    return artifact


def abi(name: str, major: int = 2) -> list[dict[str, Any]]:
    """The ABI of a contract (current version unless `major` says)."""
    result: list[dict[str, Any]] = load_artifact(name, major)["abi"]
    return result
