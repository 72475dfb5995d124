"""`credreg registry` and `credreg keys` end to end against the dev Anvil network, through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from typer.testing import CliRunner

from node.auth.keys import read_keystore, write_keystore
from node.cli.registry import keys_app, registry_app

PASSWORD = "correct horse battery staple"
ENV = {"CREDREG_KEYSTORE_PASSWORD": PASSWORD}
FAST_KDF = 2**10  # throwaway test keys only


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def chain_args(dev_network, tmp_path) -> list[str]:
    path = tmp_path / "deployment.json"
    dev_network.deployment.save(path)
    return ["--rpc", dev_network.chain.rpc_url, "--deployment", str(path)]


def keystore(account, tmp_path: Path, name: str) -> Path:
    return write_keystore(account, tmp_path / f"{name}.json", PASSWORD, iterations=FAST_KDF)


def document(tmp_path: Path, address: str, kind: str, **scope) -> Path:
    path = tmp_path / f"doc-{address}.json"
    path.write_text(
        json.dumps(
            {
                "type": "credreg-accreditation/1",
                "subject": {"address": address, "kind": kind, "did": f"did:example:{address[-6:]}"},
                "scope": scope
                or {"credentialTypes": ["MicroCredential"], "eqfLevels": [6], "jurisdiction": "NL"},
                "policy": "https://qa.example/policy",
            }
        )
    )
    return path


def run(runner, app, args, env=ENV, input=None):
    result = runner.invoke(app, args, env=env, input=input, catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def accredit_args(address, kind, doc, ks, chain_args, extra=()):
    return [
        "accredit",
        address,
        "--kind",
        kind,
        "--did",
        f"did:example:{address[-6:]}",
        "--document",
        str(doc),
        "--keystore",
        str(ks),
        *chain_args,
        *extra,
    ]


# --- keys --------------------------------------------------------------------------------------------
def test_keys_new_prints_only_the_address_and_writes_a_readable_keystore(runner, tmp_path):
    out = tmp_path / "k" / "new.json"
    result = run(runner, keys_app, ["new", "--out", str(out), "--kdf-iterations", str(FAST_KDF)])
    assert result.exit_code == 0, result.output
    address = result.stdout.strip()
    assert address.startswith("0x") and len(address) == 42 and "\n" not in address
    assert read_keystore(out, PASSWORD).address == address
    assert (out.stat().st_mode & 0o777) == 0o600
    assert run(runner, keys_app, ["address", str(out)]).stdout.strip() == address
    again = run(runner, keys_app, ["new", "--out", str(out), "--kdf-iterations", str(FAST_KDF)])
    assert again.exit_code != 0 and "exists" in again.output


def test_keys_new_with_password_file_and_prompt(runner, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("from-file\n")
    out = tmp_path / "a.json"
    r = run(
        runner,
        keys_app,
        ["new", "--out", str(out), "--password-file", str(pw), "--kdf-iterations", "1024"],
        env={},
    )
    assert r.exit_code == 0 and read_keystore(out, "from-file").address == r.stdout.strip()
    out2 = tmp_path / "b.json"
    r = run(
        runner,
        keys_app,
        ["new", "--out", str(out2), "--kdf-iterations", "1024"],
        env={},
        input="prompted\nprompted\n",
    )
    assert r.exit_code == 0
    assert read_keystore(out2, "prompted").address == r.stdout.strip().splitlines()[-1]


def test_keys_import_from_stdin_and_env_never_argv(runner, tmp_path):
    acct = Account.create()
    out = tmp_path / "imp.json"
    r = run(
        runner,
        keys_app,
        ["import", "--out", str(out), "--kdf-iterations", "1024"],
        input=acct.key.hex() + "\n",
    )
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == acct.address and acct.key.hex() not in r.output
    assert read_keystore(out, PASSWORD).address == acct.address
    out2 = tmp_path / "imp2.json"
    r = run(
        runner,
        keys_app,
        ["import", "--out", str(out2), "--from-env", "OP_KEY", "--kdf-iterations", "1024"],
        env={**ENV, "OP_KEY": "0x" + acct.key.hex().removeprefix("0x")},
    )
    assert r.exit_code == 0 and r.stdout.strip() == acct.address
    bad = run(runner, keys_app, ["import", "--out", str(tmp_path / "x.json")], input="not-a-key\n")
    assert bad.exit_code != 0 and "not a valid private key" in bad.output and "not-a-key" not in bad.output
    # there is no option that takes the key itself
    assert "--private-key" not in run(runner, keys_app, ["import", "--help"]).output


def test_keys_address_of_garbage(runner, tmp_path):
    p = tmp_path / "junk.json"
    p.write_text("nope")
    r = run(runner, keys_app, ["address", str(p)])
    assert r.exit_code != 0 and r.output.startswith("error:")


def test_every_command_has_an_example():
    runner = CliRunner()
    for app, names in (
        (registry_app, ["accredit", "suspend", "reinstate", "revoke", "show", "list"]),
        (keys_app, ["new", "import", "address"]),
    ):
        for name in names:
            out = runner.invoke(app, [name, "--help"], terminal_width=200).output
            assert "Example:" in out, name


# --- the accreditation chain rules, end to end --------------------------------------------------------------
def test_accreditation_chain_rules_through_the_cli(runner, tmp_path, dev_network, funder, chain_args):
    root_ks = keystore(dev_network.root_tao, tmp_path, "root")
    tao, ti, other_tao, stranger = (funder.account() for _ in range(4))
    tao_ks, ti_ks, other_ks = (
        keystore(tao, tmp_path, "tao"),
        keystore(ti, tmp_path, "ti"),
        keystore(other_tao, tmp_path, "o"),
    )
    db = f"sqlite:///{tmp_path / 'node.db'}"
    from node.storage.db import make_engine, upgrade

    upgrade(make_engine(db))

    # RootTAO accredits a TAO; the TAO accredits a TI (document stored in the node database)
    r = run(
        runner,
        registry_app,
        accredit_args(tao.address, "tao", document(tmp_path, tao.address, "tao"), root_ks, chain_args),
    )
    assert r.exit_code == 0, r.output
    r = run(
        runner,
        registry_app,
        accredit_args(
            other_tao.address, "tao", document(tmp_path, other_tao.address, "tao"), root_ks, chain_args
        ),
    )
    assert r.exit_code == 0, r.output
    ti_doc = document(tmp_path, ti.address, "ti", eqfLevels=[5, 6], jurisdiction="BE")
    r = run(
        runner,
        registry_app,
        accredit_args(ti.address, "ti", ti_doc, tao_ks, chain_args, ["--database-url", db, "--json"]),
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["scope"] == '{"eqfLevels":[5,6],"jurisdiction":"BE"}'
    from node.registry.accreditation import document_hash, load_document

    assert out["documentHash"] == "0x" + document_hash(load_document(ti_doc.read_text())).hex()

    # a TI may not accredit anyone; a TAO may not accredit a TAO
    newcomer = Account.create().address
    r = run(
        runner,
        registry_app,
        accredit_args(newcomer, "ti", document(tmp_path, newcomer, "ti"), ti_ks, chain_args),
    )
    assert r.exit_code == 1
    assert f"error: {ti.address} (TI) may not accredit a TI: only an active TAO or RootTAO can" in r.output
    r = run(
        runner,
        registry_app,
        accredit_args(newcomer, "tao", document(tmp_path, newcomer, "tao"), tao_ks, chain_args),
    )
    assert r.exit_code == 1 and "may not accredit a TAO: only an active RootTAO can" in r.output
    # entries are never reused
    r = run(runner, registry_app, accredit_args(ti.address, "ti", ti_doc, tao_ks, chain_args))
    assert r.exit_code == 1 and f"{ti.address} is already registered" in r.output
    # only the accreditor (or a RootTAO) changes a status
    r = run(runner, registry_app, ["suspend", ti.address, "--keystore", str(other_ks), *chain_args])
    assert r.exit_code == 1 and f"{other_tao.address} may not suspend {ti.address}" in r.output
    r = run(runner, registry_app, ["suspend", stranger.address, "--keystore", str(tao_ks), *chain_args])
    assert r.exit_code == 1 and f"{stranger.address} is not in the registry" in r.output

    # suspend -> (suspend again refused) -> reinstate -> revoke -> (reinstate refused: final)
    r = run(
        runner,
        registry_app,
        ["suspend", ti.address, "--reason", "audit", "--keystore", str(tao_ks), *chain_args],
    )
    assert r.exit_code == 0, r.output
    r = run(runner, registry_app, ["suspend", ti.address, "--keystore", str(tao_ks), *chain_args])
    assert r.exit_code == 1 and "from suspended to suspended" in r.output
    r = run(runner, registry_app, ["reinstate", ti.address, "--keystore", str(tao_ks), *chain_args])
    assert r.exit_code == 0, r.output
    r = run(runner, registry_app, ["reinstate", ti.address, "--keystore", str(tao_ks), *chain_args])
    assert r.exit_code == 1 and "from active to active" in r.output
    r = run(
        runner, registry_app, ["revoke", ti.address, "--keystore", str(root_ks), *chain_args]
    )  # RootTAO may
    assert r.exit_code == 0, r.output
    r = run(runner, registry_app, ["reinstate", ti.address, "--keystore", str(tao_ks), *chain_args])
    assert r.exit_code == 1 and "from revoked to active (revocation is final)" in r.output

    # a suspended TAO may not accredit
    r = run(runner, registry_app, ["suspend", other_tao.address, "--keystore", str(root_ks), *chain_args])
    assert r.exit_code == 0
    r = run(
        runner,
        registry_app,
        accredit_args(newcomer, "ti", document(tmp_path, newcomer, "ti"), other_ks, chain_args),
    )
    assert (
        r.exit_code == 1 and "is suspended: an accreditor that is not active has lost its powers" in r.output
    )

    # show: entry, history and the chain up to the RootTAO
    r = run(runner, registry_app, ["show", ti.address, *chain_args, "--json"])
    assert r.exit_code == 0, r.output
    shown = json.loads(r.stdout)
    assert shown["issuer"]["status"] == "revoked" and shown["issuer"]["kind"] == "ti"
    assert [h["status"] for h in shown["history"]] == ["active", "suspended", "active", "revoked"]
    assert [h["by"] for h in shown["history"]] == [
        tao.address,
        tao.address,
        tao.address,
        dev_network.root_tao.address,
    ]
    assert [c["address"] for c in shown["accreditationChain"]] == [tao.address, dev_network.root_tao.address]
    assert shown["accreditationChain"][-1]["kind"] == "root-tao"
    assert run(runner, registry_app, ["show", ti.address, *chain_args]).exit_code == 0

    # list with filters
    r = run(runner, registry_app, ["list", "--kind", "ti", "--status", "revoked", *chain_args, "--json"])
    listed = [e["address"] for e in json.loads(r.stdout)]
    assert ti.address in listed and tao.address not in listed
    r = run(runner, registry_app, ["list", "--kind", "nonsense", *chain_args])
    assert r.exit_code == 1 and "unknown kind" in r.output

    # the document was stored in the node database and matches the chain
    from node.registry.accreditation import check_document
    from node.storage.db import session_factory

    with session_factory(make_engine(db))() as s:
        assert check_document(s, ti.address, out["documentHash"]).result == "pass"


def test_refusals_for_bad_inputs(runner, tmp_path, dev_network, chain_args):
    root_ks = keystore(dev_network.root_tao, tmp_path, "root")
    target = Account.create().address
    doc = document(tmp_path, target, "ti")
    r = run(runner, registry_app, accredit_args(target, "ti", doc, root_ks, chain_args), env={})
    assert r.exit_code == 2 and "no keystore password" in r.output
    r = run(
        runner,
        registry_app,
        accredit_args(target, "ti", doc, root_ks, chain_args),
        env={"CREDREG_KEYSTORE_PASSWORD": "x"},
    )
    assert r.exit_code == 2 and "wrong password" in r.output
    r = run(runner, registry_app, accredit_args(Account.create().address, "ti", doc, root_ks, chain_args))
    assert r.exit_code == 1 and "subject.address" in r.output
    r = run(
        runner,
        registry_app,
        accredit_args(
            target,
            "ti",
            doc,
            root_ks,
            chain_args,
            ["--valid-from", "2030-01-01", "--valid-until", "2029-01-01"],
        ),
    )
    assert r.exit_code == 1 and "valid-until must be after valid-from" in r.output
    r = run(
        runner,
        registry_app,
        accredit_args(
            target, "ti", doc, root_ks, ["--rpc", "http://127.0.0.1:1", "--deployment", chain_args[-1]]
        ),
    )
    assert r.exit_code == 2 and "cannot reach" in r.output
    r = run(runner, registry_app, ["show", "0x1234", *chain_args])
    assert r.exit_code == 1 and "not an Ethereum address" in r.output
