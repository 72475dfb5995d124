"""Compiled contract artifacts shipped as package data, so a pip-installed node needs no JavaScript."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

CONTRACT_NAMES = ("IssuerRegistry", "CredentialAnchor")


@cache
def load_artifact(name: str) -> dict[str, Any]:
    """Return {abi, bytecode, deployedBytecode, ...} of a contract compiled from contracts/."""
    if name not in CONTRACT_NAMES:
        raise KeyError(f"unknown contract {name!r}; known: {', '.join(CONTRACT_NAMES)}")
    text = resources.files("anchoring.chain.artifacts").joinpath(f"{name}.json").read_text()
    return json.loads(text)


def abi(name: str) -> list[dict[str, Any]]:
    return load_artifact(name)["abi"]
