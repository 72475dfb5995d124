"""Two shares of a run in two processes (anchoring.verify.forked): the second share really runs in a forked child,
its answer comes back whole, a child that raises or answers nothing leaves the share to this process, and no fork
happens while another thread runs. Each case runs in a fresh interpreter: pytest's own process may hold threads
(servers of other tests), and run_in_two rightly refuses to fork there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")


def _run(body: str) -> dict:
    script = "import json, os, sys\nfrom anchoring.verify.forked import run_in_two\nparent = os.getpid()\n"
    script += textwrap.dedent(body)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_second_share_runs_in_another_process_and_comes_back_whole():
    got = _run(
        """
        first, second = run_in_two(lambda k: (k, os.getpid(), list(range(k * 100_000))))
        print(json.dumps({"first": first, "second_pid": second[1], "parent": parent, "n": len(second[2]),
                          "whole": second[2] == list(range(100_000))}))
        """
    )
    assert got["first"] == [0, got["parent"], []]
    assert got["second_pid"] != got["parent"]
    assert got["n"] == 100_000 and got["whole"]  # larger than a pipe's buffer


def test_an_exception_in_the_child_is_computed_here_instead():
    got = _run(
        """
        notes = []
        def work(k):
            if os.getpid() != parent:
                raise RuntimeError("broken in the child")
            return k * 10
        print(json.dumps({"result": run_in_two(work, notes.append), "notes": notes}))
        """
    )
    assert got == {"result": [0, 10], "notes": ["RuntimeError: broken in the child"]}


def test_a_child_that_dies_without_an_answer_is_computed_here_instead():
    got = _run(
        """
        notes = []
        def work(k):
            if os.getpid() != parent:
                os._exit(3)
            return k + 1
        print(json.dumps({"result": run_in_two(work, notes.append), "notes": notes}))
        """
    )
    assert got == {"result": [1, 2], "notes": ["the second process exited without an answer"]}


def test_an_exception_in_the_first_share_propagates():
    got = _run(
        """
        def work(k):
            if os.getpid() == parent and k == 0:
                raise ValueError("first share")
            return k
        try:
            run_in_two(work)
            print(json.dumps({"raised": None}))
        except ValueError as exc:
            print(json.dumps({"raised": str(exc)}))
        """
    )
    assert got == {"raised": "first share"}


def test_no_fork_while_another_thread_runs():
    got = _run(
        """
        import threading
        stop = threading.Event()
        other = threading.Thread(target=stop.wait)
        other.start()
        notes = []
        result = run_in_two(lambda k: (k, os.getpid()), notes.append)
        stop.set()
        other.join()
        print(json.dumps({"result": result, "parent": parent, "notes": notes}))
        """
    )
    assert got["result"] == [[0, got["parent"]], [1, got["parent"]]]  # both shares in this process
    assert got["notes"] == ["another thread is running, so no second process is forked"]
