"""The depth/value caps of strict JSON: checked before parsing, without recursion, equal to the real depth."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchoring.scheme.strict_json import (
    MAX_DEPTH,
    TooDeep,
    TooManyValues,
    check_shape,
    strict_loads,
)

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{},"\\ab\u2028'),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(alphabet='[]{}"\\,k'), inner, max_size=4)
    ),
    max_leaves=40,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(_json)
def test_the_scan_measures_the_real_depth(value: object) -> None:
    """Brackets, quotes and backslashes inside strings and keys never count; the scan's depth is the true one."""
    text = json.dumps(value)
    depth = _depth(value)
    check_shape(text, depth)  # exactly at the limit: accepted
    if depth:
        with pytest.raises(TooDeep) as caught:
            check_shape(text, depth - 1)
        assert caught.value.depth == depth


def test_100000_nested_brackets_are_refused_before_parsing() -> None:
    for opener in ("[", '{"a":'):
        with pytest.raises(TooDeep) as caught:
            strict_loads(opener * 100_000)
        assert caught.value.limit == MAX_DEPTH


def test_deep_but_allowed_documents_parse() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert _depth(strict_loads(text)) == MAX_DEPTH
    with pytest.raises(TooDeep):
        strict_loads("[" + text + "]")


def test_value_count_is_capped() -> None:
    text = json.dumps(list(range(1000)))
    strict_loads(text, max_values=1001)
    with pytest.raises(TooManyValues):
        strict_loads(text, max_values=500)
    with pytest.raises(TooManyValues):
        strict_loads(json.dumps([{"a": 1, "b": 2}] * 400), max_values=1000)


def test_too_deep_and_too_many_are_format_errors() -> None:
    """The verifier and the API turn FormatError (a ValueError) into a ``fail`` / a 4xx, never a crash."""
    assert issubclass(TooDeep, ValueError) and issubclass(TooManyValues, ValueError)


def test_importing_everything_leaves_a_safe_recursion_limit() -> None:
    """py_ecc raises the limit to 100,000 on import (the C stack overflows long before that); the app factory and
    the CLI put it back. Run in a fresh interpreter so that no other test's imports decide the outcome."""
    code = (
        "import sys, py_ecc\n"
        "assert sys.getrecursionlimit() >= 100000, 'py_ecc no longer raises it: this test is stale'\n"
        "import anchoring, anchoring.cli, api.app, node.cli\n"
        "from node.cli import app as cli_app\n"
        "from api.app import create_app\n"
        "from node.settings import Settings\n"
        "create_app(Settings(database_url='sqlite://'))\n"
        "print(sys.getrecursionlimit())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert int(out.stdout.split()[-1]) <= 1000
