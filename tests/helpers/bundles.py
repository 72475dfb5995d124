"""Bundles built and anchored by hand (no node): for verifier tests."""

from __future__ import annotations

import os
import time

from web3 import HTTPProvider

from anchoring.bundle.v1 import Anchor, ProofBundle
from anchoring.chain.contracts import IssuerKind
from anchoring.chain.transactions import TransactionSender
from anchoring.scheme.digest import hash_credential
from anchoring.scheme.keccak import keccak256
from anchoring.scheme.merkle import MerkleTree
from anchoring.verify.context import ChainContext


def send_as(network, account, call):
    """Send `call` as `account` on `network`'s chain and wait for its receipt."""
    return TransactionSender(network.chain.web3(), account).transact(call)


class Batch:
    def __init__(self, tree: MerkleTree, bundles: list[dict], digests: list[bytes]):
        self.tree, self.bundles, self.digests = tree, bundles, digests

    def revoke(self, network, account, indices, reason=4, suspend=False):
        anchor = network.anchor(network.chain.web3())
        multi = self.tree.multiproof([self.digests[i] for i in indices])
        fn = anchor.suspend if suspend else anchor.revoke
        return send_as(
            network, account, fn(self.tree.root, multi.leaves, multi.proof, multi.proof_flags, reason)
        )


def make_batch(network, credentials: list[dict], account=None, anchor: bool = True) -> Batch:
    """Hash, build the tree, anchor the root with `account` (default the dev TI), and build the bundles."""
    account = account or network.issuer
    w3 = network.chain.web3()
    hashed = [hash_credential(c) for c in credentials]
    digests = [h.digest for h in hashed]
    tree = MerkleTree.build(digests)
    if anchor:
        conf = send_as(network, account, network.anchor(w3).anchor(tree.root, len(digests)))
        block, tx_hash = conf.block_number, bytes(conf.receipt["transactionHash"])
        at = w3.eth.get_block(block)["timestamp"]
    else:
        block, tx_hash, at = 1, os.urandom(32), int(time.time())
    a = Anchor(
        chain_id=network.deployment.chain_id,
        contract=network.deployment.credential_anchor,
        tx_hash=tx_hash,
        block_number=block,
        issuer=account.address,
        anchored_at=at,
    )
    proofs = tree.all_proofs()
    bundles = [
        ProofBundle(
            credential=c, salt=h.salt, digest=h.digest, proof=tuple(proofs[i]), root=tree.root, anchor=a
        ).dump()
        for i, (c, h) in enumerate(zip(credentials, hashed, strict=False))
    ]
    return Batch(tree, bundles, digests)


def fresh_ti(network, funder, did: str | None = None):
    account = funder.account()
    did = did or "did:example:uni-" + account.address[2:10].lower()
    send_as(
        network,
        network.tao,
        network.registry(funder.w3).accredit(account.address, IssuerKind.TI, did, keccak256(b"doc"), "*"),
    )
    return account, did


def statuses(report) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


class CountingProvider(HTTPProvider):
    """Counts JSON-RPC requests (a batch counts each of its requests)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.calls: list[str] = []

    def make_request(self, method, params):
        self.calls.append(method)
        return super().make_request(method, params)

    def make_batch_request(self, requests):
        self.calls.extend(m for m, _ in requests)
        return super().make_batch_request(requests)


def counting_context(network) -> tuple[ChainContext, CountingProvider]:
    provider = CountingProvider(network.chain.rpc_url, request_kwargs={"timeout": 30})
    return ChainContext(network.chain.rpc_url, network.deployment, provider=provider), provider
