"""The contracts deployed on a local chain with a dev accreditation chain RootTAO -> TAO -> TI."""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.chain.contracts import CredentialAnchor, IssuerKind, IssuerRegistry, deploy_contracts
from anchoring.chain.deployment import Deployment
from anchoring.scheme.keccak import keccak256
from anchoring.signing import LocalSigner, did_key
from anchoring.signing.multikey import KeyType
from node.dev.chains import LocalChain

DEV_ROLES = ("root-tao", "tao", "issuer")


def dev_credential_signer() -> LocalSigner:
    """The dev issuer's Ed25519 credential-signing key. Like Anvil's dev accounts it is public and fixed (the
    seed is derived from a published string), so every dev chain knows the same issuer DID; never for production
    (a real issuer creates its key with `credreg issuer signing-key`)."""
    return LocalSigner.from_private_bytes(KeyType.ED25519, keccak256(b"credreg dev issuer credential key"))


def dev_credential_key_for(issuer_key: bytes, rpc_url: str, deployment: Deployment) -> str | None:
    """The dev credential key (a secretKeyMultibase, for CREDREG_CREDENTIAL_KEY) when `issuer_key`'s account is
    accredited as the dev issuer (its registry DID is the dev key's did:key), else None."""
    from eth_account import Account

    from anchoring.chain.rpc import connect
    from anchoring.errors import ChainError
    from anchoring.signing.multikey import encode_secret_multikey

    address = Account.from_key(issuer_key).address
    try:
        did = IssuerRegistry(connect(rpc_url), deployment.issuer_registry).get_issuer(address).did
    except ChainError:
        return None
    if did != DEV_DIDS["issuer"]:
        return None
    return encode_secret_multikey(KeyType.ED25519, dev_credential_signer().export_private_bytes())


DEV_DIDS = {
    "root-tao": "did:example:alliance-governance",
    "tao": "did:example:quality-agency",
    # the dev issuer signs its credentials: its DID is its signing key's did:key (docs/scheme.md section 8)
    "issuer": did_key(dev_credential_signer().public_key),
}


DEV_SCOPE = '{"credentialTypes":["MicroCredential","OpenBadgeCredential"],"eqfLevels":[1,2,3,4,5,6,7,8]}'


@dataclass
class DevNetwork:
    """Contracts deployed on a local chain with a dev accreditation chain RootTAO -> TAO -> TI."""

    chain: LocalChain
    deployment: Deployment
    root_tao: LocalAccount = field(repr=False)
    tao: LocalAccount = field(repr=False)
    issuer: LocalAccount = field(repr=False)

    def registry(self, w3: Web3) -> IssuerRegistry:
        return IssuerRegistry(w3, self.deployment.issuer_registry)

    def anchor(self, w3: Web3) -> CredentialAnchor:
        return CredentialAnchor(w3, self.deployment.credential_anchor)

    def role_accounts(self) -> dict[str, LocalAccount]:
        return {"root-tao": self.root_tao, "tao": self.tao, "issuer": self.issuer}


def bootstrap_dev_network(chain: LocalChain) -> DevNetwork:
    """Deploy both contracts from account 0 (RootTAO); accredit account 1 as TAO and account 2 as TI."""
    from anchoring.chain.transactions import TransactionSender

    w3 = chain.web3()
    root_tao, tao, issuer = chain.accounts[:3]
    root_sender = TransactionSender(w3, root_tao)
    deployment = deploy_contracts(root_sender, DEV_DIDS["root-tao"], keccak256(b"dev alliance charter"))
    registry = IssuerRegistry(w3, deployment.issuer_registry)
    root_sender.transact(
        registry.accredit(
            tao.address,
            IssuerKind.TAO,
            DEV_DIDS["tao"],
            keccak256(b"dev accreditation of the QA agency"),
            "*",
        )
    )
    TransactionSender(w3, tao).transact(
        registry.accredit(
            issuer.address,
            IssuerKind.TI,
            DEV_DIDS["issuer"],
            keccak256(b"dev accreditation of the university"),
            DEV_SCOPE,
        )
    )
    # the dev issuer registers its credential-signing key, so check_key_binding passes for what it signs
    TransactionSender(w3, issuer).transact(
        registry.add_verification_key(issuer.address, dev_credential_signer().public_key.key_hash)
    )
    return DevNetwork(chain, deployment, root_tao, tao, issuer)
