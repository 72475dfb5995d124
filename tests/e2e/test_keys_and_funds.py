"""Password precedence (an explicit password file wins over the environment) and unfunded keys: one clear line
(address, balance, what to do), never a traceback, from the library, the registry CLI and the node's settings."""

from __future__ import annotations

import pytest
from eth_account import Account
from pydantic import SecretStr
from typer.testing import CliRunner

from anchoring.chain.contracts import IssuerKind, IssuerRegistry
from anchoring.errors import InsufficientFunds
from anchoring.scheme.keccak import keccak256
from node.auth.keys import read_password, write_keystore
from node.cli.registry import registry_app
from node.settings import Settings
from tests.helpers.chain import sender

FAST_KDF = 2**10


def test_a_password_file_wins_over_the_value(tmp_path):
    file = tmp_path / "pw"
    file.write_text("from-the-file\n")
    assert read_password("from-the-env", file) == "from-the-file"
    assert read_password("from-the-env", None) == "from-the-env"
    settings = Settings(
        data_dir=tmp_path,
        issuer_keystore_password=SecretStr("from-the-env"),
        issuer_keystore_password_file=file,
    )
    assert settings.keystore_password() == "from-the-file"


def test_the_registry_cli_uses_the_password_file_over_the_environment(dev_network, tmp_path):
    """The keystore is encrypted with the file's password; a wrong CREDREG_KEYSTORE_PASSWORD is ignored."""
    tao = dev_network.tao
    ks = write_keystore(tao, tmp_path / "tao.json", "the-right-one", iterations=FAST_KDF)
    pw = tmp_path / "pw"
    pw.write_text("the-right-one\n")
    dep = tmp_path / "deployment.json"
    dev_network.deployment.save(dep)
    target = Account.create().address
    doc = tmp_path / "doc.json"
    doc.write_text('{"type":"credreg-accreditation/1","scope":{"eqfLevels":[6]}}')
    args = ["accredit", target, "--kind", "ti", "--did", "did:example:pw", "--document", str(doc)]
    args += ["--keystore", str(ks), "--rpc", dev_network.chain.rpc_url, "--deployment", str(dep)]
    result = CliRunner().invoke(
        registry_app,
        [*args, "--password-file", str(pw)],
        env={"CREDREG_KEYSTORE_PASSWORD": "a-stale-wrong-one"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    # and without the file the environment's (wrong) password is what is tried
    result = CliRunner().invoke(
        registry_app, args, env={"CREDREG_KEYSTORE_PASSWORD": "a-stale-wrong-one"}, catch_exceptions=False
    )
    assert result.exit_code == 2
    assert "cannot decrypt" in result.output


def test_an_unfunded_key_is_one_line_naming_address_and_balance(dev_network, tmp_path):
    w3 = dev_network.chain.web3()
    registry = IssuerRegistry(w3, dev_network.deployment.issuer_registry)
    broke = Account.create()
    call = registry.accredit(Account.create().address, IssuerKind.TI, "did:example:x", keccak256(b"d"), "{}")
    with pytest.raises(InsufficientFunds) as info:
        sender(w3, broke).sign(call, gas=200_000)
    message = str(info.value)
    assert broke.address in message and "has 0 ETH" in message and "credreg chain fund" in message
    assert "\n" not in message


def test_the_registry_cli_reports_an_unfunded_key_in_one_line(dev_network, tmp_path):
    broke = Account.create()  # an active TAO without funds: its accreditation of a TI estimates fine, then
    ks = write_keystore(broke, tmp_path / "broke.json", "pw", iterations=FAST_KDF)
    dep = tmp_path / "deployment.json"
    dev_network.deployment.save(dep)
    sender(w3 := dev_network.chain.web3(), dev_network.root_tao).transact(
        IssuerRegistry(w3, dev_network.deployment.issuer_registry).accredit(
            broke.address, IssuerKind.TAO, "did:example:broke-tao", keccak256(b"d"), "*"
        )
    )
    doc = tmp_path / "doc.json"
    doc.write_text('{"type":"credreg-accreditation/1","scope":{"eqfLevels":[6]}}')
    result = CliRunner().invoke(
        registry_app,
        [
            *["accredit", Account.create().address, "--kind", "ti", "--did", "did:example:y"],
            *["--document", str(doc), "--keystore", str(ks)],
            *["--rpc", dev_network.chain.rpc_url, "--deployment", str(dep)],
        ],
        env={"CREDREG_KEYSTORE_PASSWORD": "pw"},
        catch_exceptions=False,
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert broke.address in lines[0] and "has 0 ETH" in lines[0] and "Traceback" not in result.output
