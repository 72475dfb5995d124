"""`credreg chain up | status | down` as a user runs them: a detached Anvil with persistent state."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest
from typer.testing import CliRunner

from anchoring.chain.contracts import IssuerRegistry
from anchoring.chain.deployment import Deployment
from anchoring.chain.rpc import connect
from node.auth.keys import keystore_address, read_keystore, read_password
from node.cli import app
from node.dev.chains import free_port
from node.dev.devchain import DevChainFiles, chain_status

pytestmark = pytest.mark.chain
runner = CliRunner()


def test_chain_up_deploys_accredits_persists_and_down_stops_only_its_process(tmp_path):
    data = tmp_path / "data"
    port = free_port()
    bystander = subprocess.Popen(["sleep", "60"])  # a process chain down must leave alone
    try:
        result = runner.invoke(app, ["chain", "up", "--data-dir", str(data), "--port", str(port)])
        assert result.exit_code == 0, result.output
        assert "chain started" in result.output
        files = DevChainFiles(data)
        deployment = Deployment.load(files.deployment_file)
        w3 = connect(f"http://127.0.0.1:{port}", deployment=deployment)
        password = read_password(password_file=files.password_file)
        issuer = read_keystore(files.keystore("issuer"), password)
        assert keystore_address(files.keystore("issuer")) == issuer.address
        assert IssuerRegistry(w3, deployment.issuer_registry).is_active_ti(issuer.address)
        assert oct(files.keystore("issuer").stat().st_mode & 0o777) == "0o600"
        assert issuer.key.hex() not in result.output

        again = runner.invoke(app, ["chain", "up", "--data-dir", str(data)])
        assert "already running" in again.output

        down = runner.invoke(app, ["chain", "down", "--data-dir", str(data)])
        assert down.exit_code == 0 and "chain stopped" in down.output
        assert chain_status(data) is None
        assert bystander.poll() is None

        # the state survives: the same contracts and accreditations after a restart
        result = runner.invoke(app, ["chain", "up", "--data-dir", str(data), "--port", str(port)])
        assert result.exit_code == 0 and "chain resumed" in result.output, result.output
        w3 = connect(f"http://127.0.0.1:{port}", deployment=deployment)
        assert IssuerRegistry(w3, deployment.issuer_registry).is_active_ti(issuer.address)
        status = runner.invoke(app, ["chain", "status", "--data-dir", str(data)])
        assert status.exit_code == 0 and "running" in status.output
    finally:
        runner.invoke(app, ["chain", "down", "--data-dir", str(data)])
        bystander.kill()


def test_chain_down_ignores_a_stale_pid_file(tmp_path):
    data = tmp_path / "data"
    files = DevChainFiles(data)
    files.chain_dir.mkdir(parents=True)
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        files.pid_file.write_text(
            json.dumps({"pid": stranger.pid, "rpc_url": "http://127.0.0.1:1", "port": 1})
        )
        result = runner.invoke(app, ["chain", "down", "--data-dir", str(data)])
        assert "no chain" in result.output
        assert stranger.poll() is None, "chain down killed a process it did not start"
    finally:
        os.kill(stranger.pid, signal.SIGKILL)
        stranger.wait()


def test_every_chain_command_has_help():
    for command in (["chain", "up"], ["chain", "down"], ["chain", "status"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output
