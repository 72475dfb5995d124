"""Several universities on one node: `credreg issuer add` (key, dev funds, accreditation through a TAO, token),
one signer loop per issuer key (an unfunded tenant never holds up the others), and acceptance refused, naming the
issuer, when the node holds no key for it. Real API server, pipeline and Anvil."""

from __future__ import annotations

import os
import time

import httpx
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from anchoring.chain.contracts import CredentialAnchor, IssuerRegistry
from anchoring.scheme.encoding import from_hex
from node.auth.keys import write_keystore
from node.auth.tokens import create_token, get_or_create_issuer
from node.cli import build_app
from node.cli.embedded import EmbeddedNode, node_settings
from node.storage.db import session_scope
from node.storage.models import Batch, Credential, Issuer
from tests.helpers.credentials import sample_credential

FAST_KDF = "1024"


@pytest.fixture()
def node(dev_network, tmp_path):
    harness = EmbeddedNode(
        node_settings(tmp_path, dev_network.chain.rpc_url, dev_network.deployment, dev_network.issuer.key)
    )
    yield harness
    harness.stop()


def add_issuer(node, dev_network, tmp_path, name: str, *extra: str):
    tao_ks = tmp_path / "tao.json"
    if not tao_ks.exists():
        (tmp_path / "tao.pw").write_text("tao-pw")
        write_keystore(dev_network.tao, tao_ks, "tao-pw", iterations=1024)
    s = node.settings
    result = CliRunner().invoke(
        build_app(),
        [
            *["issuer", "add", name, "--did", f"did:example:{name.lower().replace(' ', '-')}"],
            *["--accredit-with", str(tao_ks), "--accreditor-password-file", str(tmp_path / "tao.pw")],
            *["--data-dir", str(tmp_path), "--database-url", str(s.database_url)],
            *["--rpc", str(s.rpc_url), "--deployment", str(s.deployment_file), "--kdf-iterations", FAST_KDF],
            *extra,
        ],
        env={"COLUMNS": "200"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("crt_")
    with node.runtime.factory() as session:
        issuer = session.exec(select(Issuer).where(Issuer.name == name)).one()
    assert issuer.address in result.output and str(issuer.keystore) in result.output
    return issuer, token


def client(node, token: str) -> httpx.Client:
    return httpx.Client(base_url=node.base_url, timeout=30, headers={"Authorization": f"Bearer {token}"})


def wait_for(predicate, timeout: float = 45.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"{what} not reached in {timeout}s"
        time.sleep(0.2)
    return value


def test_each_university_anchors_with_its_own_key_and_a_broke_one_blocks_nobody(node, dev_network, tmp_path):
    w3 = dev_network.chain.web3()
    registry = IssuerRegistry(w3, dev_network.deployment.issuer_registry)
    anchor = CredentialAnchor(w3, dev_network.deployment.credential_anchor)

    uni_b, token_b = add_issuer(node, dev_network, tmp_path, "Uni B")
    uni_c, token_c = add_issuer(node, dev_network, tmp_path, "Uni C", "--no-fund")  # accredited, never funded
    assert registry.get_issuer(uni_b.address).status.label == "active"
    assert registry.get_issuer(uni_c.address).status.label == "active"
    assert w3.eth.get_balance(uni_b.address) > 0 and w3.eth.get_balance(uni_c.address) == 0

    # the running node picked both keys up (no restart) and runs one signer loop per key
    wait_for(lambda: {uni_b.id, uni_c.id} <= set(node.runtime.keys), what="tenant keys loaded")

    with client(node, token_c) as c:
        r = c.post("/v1/credentials", json=sample_credential(3, "did:example:uni-c"))
        assert r.status_code == 202, r.text
        stuck = r.json()["digest"]
    with client(node, token_b) as b:
        r = b.post("/v1/credentials", json=sample_credential(2, "did:example:uni-b"))
        assert r.status_code == 202, r.text
        digest_b = r.json()["digest"]
    digest_a = node.issue(sample_credential(1))
    node.wait_anchored([digest_a, digest_b])

    with node.runtime.factory() as session:
        batches = {b.issuer_id: b for b in session.exec(select(Batch)).all()}
    # each root is anchored under its own issuer's address, by its own key
    assert anchor.anchor_of(uni_b.address, from_hex(batches[uni_b.id].root)) is not None
    assert anchor.anchor_of(dev_network.issuer.address, from_hex(batches[node.runtime.issuer_id].root))
    assert anchor.anchor_of(dev_network.issuer.address, from_hex(batches[uni_b.id].root)) is None
    # Uni C's batch waits (its key has no ether) while the others went through
    with client(node, token_c) as c:
        assert c.get(f"/v1/credentials/{stuck}").json()["state"] in ("batched", "pending")
    assert batches[uni_c.id].state in ("sealed", "submitted")


def test_a_credential_whose_issuer_has_no_key_here_is_refused_naming_it(node):
    with session_scope(node.runtime.factory) as session:
        keyless = get_or_create_issuer(session, "Keyless University", "0x" + "12" * 20, "did:example:keyless")
        assert keyless.id is not None
        token = create_token(session, keyless.id).token
    with client(node, token) as c:
        r = c.post("/v1/credentials", json=sample_credential(9, "did:example:keyless"))
        assert r.status_code == 409, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert "Keyless University" in body["detail"] and "no chain key" in body["detail"]
        assert body["errors"][0]["field"] == "issuer"
    with node.runtime.factory() as session:
        assert not session.exec(select(Credential).where(Credential.issuer_id == keyless.id)).all()


def test_a_missing_keystore_is_refused_too(node, dev_network, tmp_path):
    uni_d, token_d = add_issuer(node, dev_network, tmp_path, "Uni D", "--no-fund")
    assert uni_d.keystore == str((tmp_path / "keys" / "issuers" / "uni-d.json").resolve())
    os.unlink(uni_d.keystore)
    with client(node, token_d) as d:
        r = d.post("/v1/credentials", json=sample_credential(4, "did:example:uni-d"))
    assert r.status_code == 409 and "keystore" in r.json()["detail"] and "missing" in r.json()["detail"]
