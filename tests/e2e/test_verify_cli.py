"""`credreg verify`: exit codes 0 / 1 / 2, readable output, --json, files holding many bundles."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from anchoring.cli import command
from node.dev.chains import free_port
from node.dev.network import DEV_DIDS
from tests.helpers.bundles import make_batch
from tests.helpers.credentials import credential

pytestmark = pytest.mark.chain

app = command
runner = CliRunner(env={"COLUMNS": "200"})  # the dev issuer DID (a did:key) fits the table


@pytest.fixture(scope="module")
def files(dev_network, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    batch = make_batch(dev_network, [credential(i) for i in range(3)])
    dev_network.deployment.save(d / "deployment.json")
    (d / "valid.json").write_text(json.dumps(batch.bundles[0]))
    (d / "valid2.json").write_text(json.dumps(batch.bundles[1]))
    tampered = copy.deepcopy(batch.bundles[2])
    tampered["credential"]["name"] = "Forged"
    (d / "tampered.json").write_text(json.dumps(tampered))
    (d / "many.json").write_text(json.dumps({"bundles": batch.bundles}))
    (d / "garbage.json").write_text("this is not json")
    return d


def run(files, rpc, *args):
    return runner.invoke(app, [*args, "--rpc", rpc, "--deployment", str(files / "deployment.json")])


def test_valid_bundle_exits_0_with_a_readable_table(dev_network, files):
    result = run(files, dev_network.chain.rpc_url, str(files / "valid.json"))
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output
    for name in (
        "format",
        "integrity",
        "inclusion",
        "anchored",
        "issuer_trusted",
        "not_revoked",
        "issuer_matches",
    ):
        assert name in result.output
    assert DEV_DIDS["issuer"] in result.output


def test_tampered_bundle_exits_1_and_names_the_check(dev_network, files):
    result = run(files, dev_network.chain.rpc_url, str(files / "valid.json"), str(files / "tampered.json"))
    assert result.exit_code == 1, result.output
    assert "INVALID" in result.output and "integrity" in result.output
    result = run(files, dev_network.chain.rpc_url, str(files / "garbage.json"))
    assert result.exit_code == 1 and "format" in result.output


def test_json_output(dev_network, files):
    result = run(
        files, dev_network.chain.rpc_url, "--json", str(files / "many.json"), str(files / "tampered.json")
    )
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "invalid"
    assert doc["counts"] == {"total": 4, "valid": 3, "invalid": 1, "error": 0}
    assert [r["verdict"] for r in doc["reports"]] == ["valid", "valid", "valid", "invalid"]
    assert doc["reports"][0]["source"].endswith("many.json[0]")
    bad = doc["reports"][3]
    assert [c["name"] for c in bad["checks"] if c["status"] == "fail"] == ["integrity"]


def test_chain_down_exits_2(files):
    result = run(
        files, f"http://127.0.0.1:{free_port()}", "--json", "--timeout", "2", str(files / "valid.json")
    )
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "error"
    assert doc["reports"][0]["checks"][3]["status"] == "error"
    assert result.stdout.count("\n") == 1 and '{"verdict":"error",' in result.stdout  # compact by default
    pretty = run(
        files,
        f"http://127.0.0.1:{free_port()}",
        "--json",
        "--pretty",
        "--timeout",
        "2",
        str(files / "valid.json"),
    )
    assert pretty.exit_code == 2 and json.loads(pretty.stdout)["verdict"] == "error"
    assert '\n  "verdict": "error",\n' in pretty.stdout


def test_wrong_chain_exits_2(dev_network, files, tmp_path):
    d = dev_network.deployment.to_dict()
    d["chain_id"] += 1
    (tmp_path / "wrong.json").write_text(json.dumps(d))
    result = runner.invoke(
        app,
        [
            str(files / "valid.json"),
            "--rpc",
            dev_network.chain.rpc_url,
            "--deployment",
            str(tmp_path / "wrong.json"),
        ],
    )
    assert result.exit_code == 2
    assert "serves chain" in result.output


def test_usage_errors_exit_2(dev_network, files, tmp_path):
    assert runner.invoke(app, ["--rpc", dev_network.chain.rpc_url]).exit_code == 2  # no bundle, no deployment
    result = run(files, dev_network.chain.rpc_url, str(tmp_path / "missing.json"))
    assert result.exit_code == 2 and "cannot read" in result.output
    result = runner.invoke(
        app,
        [
            str(files / "valid.json"),
            "--rpc",
            dev_network.chain.rpc_url,
            "--deployment",
            str(tmp_path / "nope.json"),
        ],
    )
    assert result.exit_code == 2 and "deployment file not found" in result.output


def test_progress_bar_for_many_bundles(dev_network, files):
    result = run(files, dev_network.chain.rpc_url, "--progress", str(files / "many.json"))
    assert result.exit_code == 0, result.output
    assert "3 valid" in result.output


def test_a_duplicate_key_inside_an_array_of_bundles_is_refused(dev_network, files):
    """Each file is parsed once, strictly: a duplicated key in one bundle of an array (JSON parsers keep one of
    the two values silently) makes the file invalid instead of verifying the value the parser happened to keep."""
    bundles = json.loads((files / "many.json").read_text())["bundles"]
    text = json.dumps(bundles)
    forged = text.replace('"credential": {', '"credential": {"name": "Forged", ', 1)
    assert forged != text
    path = files / "duplicated.json"
    path.write_text(forged)
    result = run(files, dev_network.chain.rpc_url, str(path), "--json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["counts"] == {"total": 1, "valid": 0, "invalid": 1, "error": 0}
    [fmt] = [c for c in doc["reports"][0]["checks"] if c["name"] == "format"]
    assert fmt["status"] == "fail" and "duplicate" in fmt["reason"].lower(), fmt
    # the same array without the duplicate: every bundle verified on its own
    path.write_text(text)
    result = run(files, dev_network.chain.rpc_url, str(path), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["counts"]["valid"] == len(bundles)


def test_a_verification_run_imports_no_web3(dev_network, files):
    """The chain reads of `credreg verify` go over plain JSON-RPC (anchoring.chain.reader): a whole run, chain
    checks included, imports neither web3 nor eth-abi, eth-utils or eth-account (0.8 s of start-up), nor the
    node's database or web stack. (-X importtime lists every module the process imported.)"""
    out = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "anchoring.cli",
            str(files / "valid.json"),
            "--rpc",
            dev_network.chain.rpc_url,
            "--deployment",
            str(files / "deployment.json"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)["reports"][0]
    assert {c["name"]: c["status"] for c in report["checks"]}["anchored"] == "pass"
    assert {c["name"]: c["status"] for c in report["checks"]}["issuer_trusted"] == "pass"
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if "|" in line}
    assert "anchoring.chain.reader" in imported  # the listing is real
    heavy = {"web3", "eth_abi", "eth_utils", "eth_account", "sqlalchemy", "fastapi", "numpy"} & imported
    assert not heavy, heavy


def _cli(files, rpc, *args):
    command = [sys.executable, "-m", "anchoring.cli", *args, "--rpc", rpc]
    command += ["--deployment", str(files / "deployment.json")]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _without_clock(doc):
    """A report without the verifier's clock (the validity check names the time it ran)."""
    for report in doc["reports"]:
        for check in report["checks"]:
            if check["name"] == "validity_period":
                check.pop("reason")
                check["details"].pop("now", None)
    return doc


def test_two_processes_give_the_reports_of_one(dev_network, files):
    names = ["valid.json", "many.json", "tampered.json", "garbage.json", "valid2.json"] * 3
    paths = [str(files / n) for n in names]
    one = _cli(files, dev_network.chain.rpc_url, *paths, "--json", "--processes", "1")
    two = _cli(files, dev_network.chain.rpc_url, *paths, "--json", "--processes", "2")
    assert one.returncode == two.returncode == 1, one.stderr + two.stderr
    assert "one core" not in two.stderr
    assert _without_clock(json.loads(two.stdout)) == _without_clock(json.loads(one.stdout))
    assert json.loads(two.stdout)["counts"] == {"total": 21, "valid": 15, "invalid": 6, "error": 0}


def test_an_unreadable_file_in_the_second_share_is_named(dev_network, files):
    paths = [str(files / "valid.json")] * 3 + [str(files / "no-such-file.json")]
    out = _cli(files, dev_network.chain.rpc_url, *paths, "--processes", "2")
    assert out.returncode == 2
    assert "cannot read" in out.stderr and "no-such-file.json" in out.stderr


def test_two_processes_with_the_progress_bar_on_a_terminal(dev_network, files):
    """On a terminal rich would refresh the bar from a thread, and a process with threads does not fork (the note
    says "one core"): with two processes the bar is refreshed from the progress callback instead."""
    import pty

    paths = [str(files / "valid.json"), str(files / "many.json")] * 5
    command = [sys.executable, "-m", "anchoring.cli", *paths, "--rpc", dev_network.chain.rpc_url]
    command += ["--deployment", str(files / "deployment.json"), "--progress", "--processes", "2"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command with a terminal for stdout and stderr
        os.execv(sys.executable, command)  # noqa: S606 (the test's own command line)
    output = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal closes when the command ends
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    text = output.decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "of " in text and "20" in text  # the summary line: "20 valid, 0 invalid, 0 error of 20" (coloured)
    assert "one core" not in text
