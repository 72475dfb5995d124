"""The migration from version-1 contracts: a bundle anchored under the frozen v1 contracts stays format 1 and
verifies with a deployment file whose current set is v2 and whose `previous` set is the v1 one (not without it);
a deployment file that names contracts by the wrong version is an error (the on-chain version() disagrees)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from anchoring.bundle.v1 import Anchor, ProofBundle
from anchoring.chain.contracts import IssuerKind, anchor_reader, deploy_contracts, registry_reader
from anchoring.chain.deployment import Deployment
from anchoring.scheme.digest import hash_credential
from anchoring.scheme.merkle import MerkleTree
from anchoring.verify.context import ChainContext
from anchoring.verify.run import verify_bundle
from node.cli import build_app
from tests.helpers.bundles import make_batch, statuses
from tests.helpers.chain import send, sender
from tests.helpers.credentials import credential

ZERO = b"\0" * 32


def v1_bundles(dev_network, funder) -> tuple[Deployment, list[dict]]:
    """Deploy the frozen v1 contracts, accredit a TI there, anchor three credentials, build format-1 bundles."""
    w3 = funder.w3
    root, tao, ti = funder.account(), funder.account(), funder.account()
    v1 = deploy_contracts(sender(w3, root), "did:example:v1-root", major=1)
    registry, anchor = registry_reader(w3, v1.current), anchor_reader(w3, v1.current)
    writes = registry.contract.functions  # v1 has no typed writes: its accredit takes the same arguments
    send(w3, root, writes.accredit(tao.address, int(IssuerKind.TAO), "did:example:v1-tao", 0, 0, ZERO, "*"))
    send(w3, tao, writes.accredit(ti.address, int(IssuerKind.TI), "did:example:v1-uni", 0, 0, ZERO, "*"))
    creds = [credential(i, "did:example:v1-uni") for i in range(3)]
    hashed = [hash_credential(c) for c in creds]
    tree = MerkleTree.build([h.digest for h in hashed])
    anchored = send(w3, ti, anchor.contract.functions.anchor(tree.root, len(creds)))
    a = Anchor(
        chain_id=v1.chain_id,
        contract=v1.credential_anchor,
        tx_hash=bytes(anchored.receipt["transactionHash"]),
        block_number=anchored.block_number,
        issuer=ti.address,
        anchored_at=int(w3.eth.get_block(anchored.block_number)["timestamp"]),
    )
    proofs = tree.all_proofs()
    bundles = [
        ProofBundle(
            credential=c, salt=h.salt, digest=h.digest, proof=tuple(proofs[i]), root=tree.root, anchor=a
        ).dump()
        for i, (c, h) in enumerate(zip(creds, hashed, strict=True))
    ]
    return v1, bundles


def test_a_v1_bundle_verifies_against_the_previous_set(dev_network, funder, tmp_path):
    v1, bundles = v1_bundles(dev_network, funder)
    assert all(b["format"] == "credreg-bundle/1" for b in bundles)
    migrated = dev_network.deployment.with_previous(v1)  # current: v2; previous: v1
    assert migrated.current.version == "2.0.0" and [c.version for c in migrated.previous] == ["1"]
    chain = ChainContext(dev_network.chain.rpc_url, migrated)
    for bundle in bundles:
        report = verify_bundle(bundle, chain)
        assert report.verdict == "valid", report.to_dict()
        details = next(c.details for c in report.checks if c.name == "anchored")
        assert (details["contract_version"], details["onchain_version"]) == ("1", "1")

    # without the previous set the verifier cannot place the v1 contract: an error, not "invalid"
    alone = verify_bundle(bundles[0], ChainContext(dev_network.chain.rpc_url, dev_network.deployment))
    assert alone.verdict == "error" and statuses(alone)["anchored"] == "error"

    # the same through the CLI, from the deployment file as a migrated network publishes it
    migrated.save(tmp_path / "deployment.json")
    assert json.loads((tmp_path / "deployment.json").read_text())["previous"][0]["version"] == "1"
    (tmp_path / "alice.bundle.json").write_text(json.dumps(bundles[0]))
    result = CliRunner().invoke(
        build_app(),
        [
            "verify",
            str(tmp_path / "alice.bundle.json"),
            "--rpc",
            dev_network.chain.rpc_url,
            "--deployment",
            str(tmp_path / "deployment.json"),
        ],
    )
    assert result.exit_code == 0, result.output


def test_a_deployment_file_naming_the_wrong_version_is_an_error(dev_network, funder):
    v1, v1_docs = v1_bundles(dev_network, funder)
    v2_docs = make_batch(dev_network, [credential(9)]).bundles
    d = dev_network.deployment
    # the v2 contracts labelled version 1: their version() says 2.0.0
    mislabelled = Deployment(d.chain_id, d.issuer_registry, d.credential_anchor, d.deployment_block, "1")
    report = verify_bundle(v2_docs[0], ChainContext(dev_network.chain.rpc_url, mislabelled))
    anchored = next(c for c in report.checks if c.name == "anchored")
    assert report.verdict == "error" and anchored.status == "error"
    assert "answers version() '2.0.0'" in anchored.reason and "deployment file says '1'" in anchored.reason
    # the v1 contracts labelled 2.0.0: they have no version() at all
    wrong_previous = Deployment(
        d.chain_id,
        d.issuer_registry,
        d.credential_anchor,
        d.deployment_block,
        d.version,
        (type(v1.current)("2.0.0", v1.issuer_registry, v1.credential_anchor, v1.deployment_block),),
    )
    report = verify_bundle(v1_docs[0], ChainContext(dev_network.chain.rpc_url, wrong_previous))
    assert report.verdict == "error" and statuses(report)["anchored"] == "error"
    # and the honest file still passes both
    honest = d.with_previous(v1)
    assert verify_bundle(v2_docs[0], ChainContext(dev_network.chain.rpc_url, honest)).verdict == "valid"
