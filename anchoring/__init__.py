"""anchoring: the standalone library a verifier installs (``pip install credreg``): credential hashing (RFC 8785 +
keccak256), OpenZeppelin-compatible Merkle trees, proof bundles, the typed chain client for the IssuerRegistry and
CredentialAnchor contracts, and verification reports. No database, no web server.

    from anchoring import ChainContext, Deployment, verify_bundle, verify_credential
    chain = ChainContext("http://127.0.0.1:8545", Deployment.load("deployment.json"))
    print(verify_bundle(bundle, chain).verdict)                                  # a proof bundle
    print(verify_credential(vc, chain, node="http://127.0.0.1:8000").verdict)    # a plain signed VC / VC-JWT

Signing and key binding: :mod:`anchoring.signing`.

Names are imported lazily, so ``import anchoring`` costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from anchoring.lazy import lazy_exports

__version__ = "0.2.0"

_EXPORTS: dict[str, str | tuple[str, str]] = {
    # errors
    "AnchoringError": "anchoring.errors",
    "FormatError": "anchoring.errors",
    "ChainError": "anchoring.errors",
    "ChainUnreachable": "anchoring.errors",
    "ContractRevert": "anchoring.errors",
    "WrongChain": "anchoring.errors",
    # scheme
    "canonicalize": "anchoring.scheme.jcs",
    "CanonicalizationError": "anchoring.scheme.jcs",
    "keccak256": "anchoring.scheme.keccak",
    "DigestRule": "anchoring.scheme.digest",
    "digest_of": "anchoring.scheme.digest",
    "hash_credential": "anchoring.scheme.digest",
    "credential_digest": "anchoring.scheme.digest",
    "to_hex": "anchoring.scheme.encoding",
    "from_hex": "anchoring.scheme.encoding",
    "MerkleTree": "anchoring.scheme.merkle",
    "verify_proof": "anchoring.scheme.merkle",
    # bundles
    "load_bundle": ("anchoring.bundle", "load"),
    "loads_bundle": ("anchoring.bundle", "loads"),
    "BundleFormatError": "anchoring.bundle",
    "Inclusion": "anchoring.bundle",
    # chain
    "Deployment": "anchoring.chain.deployment",
    "connect": "anchoring.chain.rpc",
    "IssuerRegistry": "anchoring.chain.contracts",
    "CredentialAnchor": "anchoring.chain.contracts",
    "TransactionSender": "anchoring.chain.transactions",
    # verification
    "ChainContext": "anchoring.verify.context",
    "VerificationReport": "anchoring.verify.report",
    "Check": "anchoring.verify.report",
    "verify_bundle": "anchoring.verify.run",
    "verify_bundles": "anchoring.verify.run",
    "verify_credential": "anchoring.verify.credential",
    "verify_credentials": "anchoring.verify.credential",
    "verify_documents": "anchoring.verify.credential",
    "WebContext": "anchoring.verify.web",
}

__all__ = [
    "AnchoringError",
    "BundleFormatError",
    "CanonicalizationError",
    "ChainContext",
    "ChainError",
    "ChainUnreachable",
    "Check",
    "ContractRevert",
    "CredentialAnchor",
    "Deployment",
    "DigestRule",
    "FormatError",
    "Inclusion",
    "IssuerRegistry",
    "MerkleTree",
    "TransactionSender",
    "VerificationReport",
    "WebContext",
    "WrongChain",
    "__version__",
    "canonicalize",
    "connect",
    "credential_digest",
    "digest_of",
    "from_hex",
    "hash_credential",
    "keccak256",
    "load_bundle",
    "loads_bundle",
    "to_hex",
    "verify_bundle",
    "verify_bundles",
    "verify_credential",
    "verify_credentials",
    "verify_documents",
    "verify_proof",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # the names above, for type checkers and IDEs
    from anchoring.bundle import BundleFormatError, Inclusion
    from anchoring.bundle import load as load_bundle
    from anchoring.bundle import loads as loads_bundle
    from anchoring.chain.contracts import CredentialAnchor, IssuerRegistry
    from anchoring.chain.deployment import Deployment
    from anchoring.chain.rpc import connect
    from anchoring.chain.transactions import TransactionSender
    from anchoring.errors import (
        AnchoringError,
        ChainError,
        ChainUnreachable,
        ContractRevert,
        FormatError,
        WrongChain,
    )
    from anchoring.scheme.digest import DigestRule, credential_digest, digest_of, hash_credential
    from anchoring.scheme.encoding import from_hex, to_hex
    from anchoring.scheme.jcs import CanonicalizationError, canonicalize
    from anchoring.scheme.keccak import keccak256
    from anchoring.scheme.merkle import MerkleTree, verify_proof
    from anchoring.verify.context import ChainContext
    from anchoring.verify.credential import verify_credential, verify_credentials, verify_documents
    from anchoring.verify.report import Check, VerificationReport
    from anchoring.verify.run import verify_bundle, verify_bundles
    from anchoring.verify.web import WebContext
