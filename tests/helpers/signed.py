"""Signed credentials anchored by hand (no node): issuers with keys on a real chain, bundles of format 2 with
digest rules jcs / compact, a node's proof JSON, and a small local web server (did:web documents, status lists,
a node's proof endpoint) for the verifier's fetches."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from anchoring.bundle.model import Inclusion
from anchoring.bundle.v2 import ProofBundle
from anchoring.scheme.digest import DigestRule, digest_of
from anchoring.scheme.encoding import to_hex
from anchoring.scheme.merkle import MerkleTree
from anchoring.signing import LocalSigner, add_proof, did_key, sign_vc_jwt
from tests.helpers.bundles import fresh_ti, send_as
from tests.helpers.servers import QuietHandler
from tests.helpers.vectors import vc2_credential

MECHANISMS = ("eddsa-jcs-2022", "eddsa-rdfc-2022", "vc-jwt-eddsa", "vc-jwt-es256")


@dataclass
class Issuer:
    account: Any
    did: str
    signer: LocalSigner
    p256: LocalSigner | None = None


def new_issuer(network, funder, *, did: str | None = None, register: bool = True, key_type=None) -> Issuer:
    """A fresh TI whose registry DID is its signer's did:key (or `did`, e.g. a did:web), key registered."""
    from anchoring.signing import KeyType

    signer = LocalSigner.generate(key_type or KeyType.ED25519)
    if did is not None:
        signer = signer.with_verification_method(f"{did}#key-1")
    account, did = fresh_ti(network, funder, did=did or did_key(signer.public_key))
    issuer = Issuer(account, did, signer)
    if register:
        register_key(network, issuer, signer)
    return issuer


def register_key(network, issuer: Issuer, signer: LocalSigner):
    registry = network.registry(network.chain.web3())
    return send_as(
        network,
        issuer.account,
        registry.add_verification_key(issuer.account.address, signer.public_key.key_hash),
    )


def revoke_key(network, issuer: Issuer, signer: LocalSigner):
    registry = network.registry(network.chain.web3())
    return send_as(
        network,
        issuer.account,
        registry.revoke_verification_key(issuer.account.address, signer.public_key.key_hash),
    )


def credential_for(issuer_did: str, n: int = 0, **extra: Any) -> dict[str, Any]:
    """An Open Badges 3.0 credential (all terms defined, so every cryptosuite can sign it)."""
    return vc2_credential(issuer_did, n, **extra)


def secure(credential: dict[str, Any], signer: LocalSigner, mechanism: str) -> dict[str, Any] | str:
    """The credential signed by one of MECHANISMS (vc-jwt-es256 needs a P-256 signer)."""
    if mechanism.startswith("eddsa-"):
        return add_proof(credential, signer, cryptosuite=mechanism)
    return sign_vc_jwt(credential, signer)


def rule_of(held: dict[str, Any] | str) -> DigestRule:
    return DigestRule.COMPACT if isinstance(held, str) else DigestRule.JCS


@dataclass
class Anchored:
    tree: MerkleTree
    digests: list[bytes]
    inclusions: list[Inclusion]
    bundles: list[dict[str, Any]] = field(default_factory=list)


def anchor_signed(network, issuer: Issuer, held: list[dict[str, Any] | str], *, methods=()) -> Anchored:
    """Anchor the digests of signed credentials (jcs / compact rule) as `issuer`; bundles of format 2."""
    w3 = network.chain.web3()
    digests = [digest_of(rule_of(h), h) for h in held]
    tree = MerkleTree.build(digests)
    conf = send_as(network, issuer.account, network.anchor(w3).anchor(tree.root, len(digests)))
    at = w3.eth.get_block(conf.block_number)["timestamp"]
    proofs = tree.all_proofs()
    out = Anchored(tree, digests, [])
    for i, h in enumerate(held):
        inc = Inclusion(
            root=tree.root,
            proof=tuple(proofs[i]),
            chain_id=network.deployment.chain_id,
            contract=network.deployment.credential_anchor,
            contract_version=network.deployment.version,
            tx_hash=bytes(conf.receipt["transactionHash"]),
            block_number=conf.block_number,
            issuer=issuer.account.address,
            anchored_at=at,
        )
        out.inclusions.append(inc)
        out.bundles.append(
            ProofBundle(
                credential=h,
                digest_rule=rule_of(h),
                digest=digests[i],
                inclusions=(inc,),
                verification_methods=tuple(methods),
            ).dump()
        )
    return out


def node_proof(digest: bytes, inc: Inclusion) -> dict[str, Any]:
    """The JSON a node's GET /v1/proofs/{digest} answers for an anchored digest (api/schemas/proofs.py)."""
    return {
        "digest": to_hex(digest),
        "state": "anchored",
        "root": to_hex(inc.root),
        "leafIndex": None,
        "proof": [to_hex(p) for p in inc.proof],
        "batch": None,
        "anchor": {
            "chainId": inc.chain_id,
            "contract": inc.contract,
            "txHash": to_hex(inc.tx_hash),
            "blockNumber": inc.block_number,
            "blockHash": None,
            "issuer": inc.issuer,
            "anchoredAt": inc.anchored_at,
            "confirmedAt": None,
            "confirmations": None,
        },
    }


# ------------------------------------------------------------------------------------------ local web server
class LocalWeb:
    """A loopback HTTP server with a mutable route table: path -> (content type, body). Unknown paths 404."""

    def __init__(self, server: ThreadingHTTPServer, routes: dict[str, tuple[str, bytes]]):
        self.server, self.routes = server, routes
        self.requests: list[str] = []

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host_did(self) -> str:
        """The did:web host part for this server (port percent-encoded)."""
        return f"did:web:127.0.0.1%3A{self.port}"

    def put(self, path: str, body: bytes | str, content_type: str = "application/json") -> None:
        self.routes[path] = (content_type, body.encode() if isinstance(body, str) else body)


@contextmanager
def local_web() -> Iterator[LocalWeb]:
    routes: dict[str, tuple[str, bytes]] = {}
    holder: list[LocalWeb] = []

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            holder[0].requests.append(self.path)
            found = routes.get(self.path)
            if found is None:
                self.send_response(404)
                self.end_headers()
                return
            kind, body = found
            self.reply(200, body, kind)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    web = LocalWeb(server, routes)
    holder.append(web)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield web
    finally:
        server.shutdown()
        server.server_close()
