"""Two shares of a run in two processes (anchoring.verify.forked): the second share really runs in a forked child,
its answer comes back whole, and a child that fails, raises or answers nothing leaves the share to this process."""

from __future__ import annotations

import os

import pytest

from anchoring.verify.forked import run_in_two

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")


def test_the_second_share_runs_in_another_process_and_comes_back_whole():
    parent = os.getpid()
    first, second = run_in_two(lambda k: (k, os.getpid(), list(range(k * 100_000))))
    assert first == (0, parent, [])
    assert second[0] == 1 and second[1] != parent
    assert second[2] == list(range(100_000))  # larger than a pipe's buffer


def test_an_exception_in_the_child_is_computed_here_instead():
    parent, notes = os.getpid(), []

    def work(k):
        if os.getpid() != parent:
            raise RuntimeError("broken in the child")
        return k * 10

    assert run_in_two(work, notes.append) == (0, 10)
    assert notes == ["RuntimeError: broken in the child"]


def test_a_child_that_dies_without_an_answer_is_computed_here_instead():
    parent, notes = os.getpid(), []

    def work(k):
        if os.getpid() != parent:
            os._exit(3)
        return k + 1

    assert run_in_two(work, notes.append) == (1, 2)
    assert notes == ["the second process exited without an answer"]


def test_an_exception_in_the_first_share_propagates():
    parent = os.getpid()

    def work(k):
        if os.getpid() == parent and k == 0:
            raise ValueError("first share")
        return k

    with pytest.raises(ValueError, match="first share"):
        run_in_two(work)
