"""The contracts deployed on a local chain with a dev accreditation chain RootTAO -> TAO -> TI."""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.chain.contracts import CredentialAnchor, IssuerKind, IssuerRegistry, deploy_contracts
from anchoring.chain.deployment import Deployment
from anchoring.scheme.keccak import keccak256
from node.dev.chains import LocalChain

DEV_ROLES = ("root-tao", "tao", "issuer")


DEV_DIDS = {
    "root-tao": "did:example:alliance-governance",
    "tao": "did:example:quality-agency",
    "issuer": "did:example:dev-university",
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
    return DevNetwork(chain, deployment, root_tao, tao, issuer)
