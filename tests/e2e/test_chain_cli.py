"""`credreg chain deploy` to chains credreg did not start (a Ganache and a Hardhat node run by hand), `credreg chain
fund` on them, and `credreg chain up --kind` for each of the three npm chains."""

from __future__ import annotations

import subprocess
import time

import pytest
from eth_account import Account
from typer.testing import CliRunner

from anchoring.chain.contracts import IssuerKind, IssuerRegistry
from anchoring.chain.deployment import Deployment
from anchoring.chain.rpc import connect
from anchoring.errors import ChainUnreachable
from node.auth.keys import write_keystore
from node.cli.chain import app
from node.dev.chains import free_port
from tests.helpers.paths import REPO, require

FAST_KDF = 2**10


def _run_by_hand(kind: str):
    """The chain as an operator starts it, without credreg: `npx ganache` / `npx hardhat node`."""
    binary = REPO / "node_modules" / ".bin" / kind
    require(binary.exists(), f"{kind} is not installed (run `npm ci`)")
    port = free_port()
    args = {
        "ganache": [str(binary), "--server.port", str(port), "--logging.quiet", "--chain.hardfork", "merge"],
        "hardhat": [str(binary), "node", "--port", str(port)],
    }[kind]
    process = subprocess.Popen(
        args, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            connect(url, timeout=2)
            return process, url
        except ChainUnreachable:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"{kind} did not start on {url}")
            time.sleep(0.2)


@pytest.fixture(params=["ganache", "hardhat"])
def foreign_chain(request):
    process, url = _run_by_hand(request.param)
    yield request.param, url
    process.terminate()
    process.wait(10)


def invoke(args, env=None):
    result = CliRunner().invoke(app, args, env=env or {}, catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def test_deploy_to_a_chain_credreg_did_not_start(foreign_chain, tmp_path):
    kind, url = foreign_chain
    root = Account.create()
    ks = write_keystore(root, tmp_path / "root-tao.json", "pw", iterations=FAST_KDF)
    pw = tmp_path / "pw"
    pw.write_text("pw\n")
    out = tmp_path / "deployment.json"
    base = ["deploy", "--rpc", url, "--keystore", str(ks), "--password-file", str(pw), "--out", str(out)]
    base += ["--root-did", "did:web:alliance.example"]

    # a fresh key has nothing: one line, nothing deployed
    result = invoke(base)
    assert result.exit_code == 2, result.output
    assert root.address in result.output and "has 0 ETH" in result.output
    assert not out.exists()

    assert invoke(["fund", root.address, "--ether", "5", "--rpc", url]).exit_code == 0
    fees = (
        ["--legacy", "--gas-price", "2"] if kind == "ganache" else ["--max-fee", "50", "--priority-fee", "1"]
    )
    result = invoke([*base, "--confirmations", "1", *fees])
    assert result.exit_code == 0, result.output

    deployment = Deployment.load(out)
    w3 = connect(url, deployment=deployment)
    entry = IssuerRegistry(w3, deployment.issuer_registry).get_issuer(root.address)
    assert entry.kind == IssuerKind.ROOT_TAO and entry.did == "did:web:alliance.example"
    assert entry.status.label == "active"
    # the fee settings were used: a legacy transaction at 2 gwei on Ganache, EIP-1559 with a 50 gwei cap on Hardhat
    tx = w3.eth.get_transaction(
        w3.eth.get_block(deployment.deployment_block, True)["transactions"][0]["hash"]
    )
    if kind == "ganache":
        assert tx["type"] == 0 and tx["gasPrice"] == 2 * 10**9
    else:
        assert tx["type"] == 2 and tx["maxFeePerGas"] == 50 * 10**9 and tx["maxPriorityFeePerGas"] == 10**9

    # a second deploy does not silently replace the file
    again = invoke(base)
    assert again.exit_code == 1 and "exists" in again.output


@pytest.mark.parametrize("kind", ["anvil", "ganache", "hardhat"])
def test_chain_up_runs_each_npm_chain(kind, tmp_path):
    data = tmp_path / "data"
    result = invoke(["up", "--kind", kind, "--data-dir", str(data), "--port", str(free_port())])
    try:
        assert result.exit_code == 0, result.output
        assert f"{kind} chain started" in result.output
        status = invoke(["status", "--data-dir", str(data)])
        assert status.exit_code == 0 and kind in status.output
        deployment = Deployment.load(data / "deployment.json")
        url = status.output.split(" on ", 1)[1].split()[0]
        w3 = connect(url, deployment=deployment)
        assert w3.eth.get_code(deployment.credential_anchor) != b""
        fresh = Account.create().address
        funded = invoke(["fund", fresh, "--ether", "3", "--data-dir", str(data)])
        assert funded.exit_code == 0, funded.output
        assert w3.eth.get_balance(fresh) == 3 * 10**18
    finally:
        invoke(["down", "--data-dir", str(data)])
    assert invoke(["status", "--data-dir", str(data)]).exit_code == 1
