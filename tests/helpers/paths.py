"""Where the repository is, and requirements that skip on a developer machine but fail in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI") == "true"


REPO = Path(__file__).resolve().parents[2]


def require(condition: bool, reason: str) -> None:
    """Skip with a visible reason on a developer machine; fail in CI, where everything must run."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)
