"""Typed wrappers for IssuerRegistry and CredentialAnchor, and their deployment.

Reads return dataclasses with bytes inside; writes return ContractFunction objects that a
TransactionSender signs, so callers choose between one-shot `transact` and crash-safe sign/broadcast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError

from anchoring.chain.artifacts import abi, load_artifact
from anchoring.chain.deployment import Deployment
from anchoring.chain.revert import revert_from
from anchoring.chain.rpc import call_chain
from anchoring.chain.transactions import TransactionSender

ZERO_ADDRESS = "0x" + "00" * 20


class IssuerKind(IntEnum):
    NONE = 0
    ROOT_TAO = 1
    TAO = 2
    TI = 3


class IssuerStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REVOKED = 3


class CredentialStatus(IntEnum):
    VALID = 0
    SUSPENDED = 1
    REVOKED = 2


@dataclass(frozen=True)
class IssuerEntry:
    account: str
    kind: IssuerKind
    status: IssuerStatus
    accreditor: str
    valid_from: int
    valid_until: int
    document_hash: bytes
    did: str
    scope: str
    history_length: int


@dataclass(frozen=True)
class StatusChange:
    timestamp: int
    block_number: int
    status: IssuerStatus
    by: str


@dataclass(frozen=True)
class AnchorRecord:
    issuer: str
    anchored_at: int
    block_number: int


@dataclass(frozen=True)
class CredentialStatusRecord:
    status: CredentialStatus
    reason: int
    changed_at: int
    block_number: int


@dataclass(frozen=True)
class StatusListRecord:
    list_hash: bytes
    published_at: int
    block_number: int
    version: int


@dataclass(frozen=True)
class CredentialView:
    included: bool
    anchored: bool
    issuer: str | None
    anchored_at: int
    anchored_block: int
    status: CredentialStatus
    reason: int
    status_changed_at: int
    status_block: int


def _view(fn: ContractFunction, *args):
    try:
        return call_chain(lambda: fn(*args).call())
    except ContractLogicError as exc:
        raise revert_from(exc) from exc


class IssuerRegistry:
    def __init__(self, w3: Web3, address: str):
        self.contract: Contract = w3.eth.contract(address=Web3.to_checksum_address(address),
                                                  abi=abi("IssuerRegistry"))
        self.address = self.contract.address

    # writes
    def accredit(self, account: str, kind: IssuerKind, did: str, document_hash: bytes, scope: str,
                 valid_from: int = 0, valid_until: int = 0) -> ContractFunction:
        return self.contract.functions.accredit(account, int(kind), did, valid_from, valid_until,
                                                document_hash, scope)

    def suspend(self, account: str, reason_hash: bytes = b"\0" * 32) -> ContractFunction:
        return self.contract.functions.suspend(account, reason_hash)

    def reinstate(self, account: str, reason_hash: bytes = b"\0" * 32) -> ContractFunction:
        return self.contract.functions.reinstate(account, reason_hash)

    def revoke(self, account: str, reason_hash: bytes = b"\0" * 32) -> ContractFunction:
        return self.contract.functions.revoke(account, reason_hash)

    # reads
    def is_active_ti(self, account: str) -> bool:
        return _view(self.contract.functions.isActiveTI, account)

    def status_at(self, account: str, timestamp: int) -> IssuerStatus:
        return IssuerStatus(_view(self.contract.functions.statusAt, account, timestamp))

    def was_active_ti_at(self, account: str, timestamp: int) -> bool:
        return _view(self.contract.functions.wasActiveTIAt, account, timestamp)

    def get_issuer(self, account: str) -> IssuerEntry:
        r = _view(self.contract.functions.getIssuer, account)
        return IssuerEntry(r[0], IssuerKind(r[1]), IssuerStatus(r[2]), r[3], r[4], r[5], bytes(r[6]),
                           r[7], r[8], r[9])

    def history(self, account: str) -> list[StatusChange]:
        return [StatusChange(t, b, IssuerStatus(s), by)
                for t, b, s, by in _view(self.contract.functions.history, account)]

    def accounts(self) -> list[str]:
        count = _view(self.contract.functions.issuerCount)
        return [_view(self.contract.functions.issuerAt, i) for i in range(count)]


class CredentialAnchor:
    def __init__(self, w3: Web3, address: str):
        self.contract: Contract = w3.eth.contract(address=Web3.to_checksum_address(address),
                                                  abi=abi("CredentialAnchor"))
        self.address = self.contract.address

    # writes
    def anchor(self, root: bytes, leaf_count: int) -> ContractFunction:
        return self.contract.functions.anchor(root, leaf_count)

    def revoke(self, root: bytes, digests: Sequence[bytes], proof: Sequence[bytes],
               proof_flags: Sequence[bool], reason: int) -> ContractFunction:
        return self.contract.functions.revoke(root, list(digests), list(proof), list(proof_flags), reason)

    def suspend(self, root: bytes, digests: Sequence[bytes], proof: Sequence[bytes],
                proof_flags: Sequence[bool], reason: int) -> ContractFunction:
        return self.contract.functions.suspend(root, list(digests), list(proof), list(proof_flags), reason)

    def reinstate(self, root: bytes, digests: Sequence[bytes], proof: Sequence[bytes],
                  proof_flags: Sequence[bool]) -> ContractFunction:
        return self.contract.functions.reinstate(root, list(digests), list(proof), list(proof_flags))

    def publish_status_list(self, list_id: bytes, list_hash: bytes) -> ContractFunction:
        return self.contract.functions.publishStatusList(list_id, list_hash)

    # reads
    def status_list_of(self, issuer: str, list_id: bytes) -> StatusListRecord | None:
        list_hash, at, block, version = _view(self.contract.functions.statusListOf, issuer, list_id)
        if version == 0:
            return None
        return StatusListRecord(bytes(list_hash), at, block, version)

    def status_of(self, root: bytes, digest: bytes) -> CredentialStatusRecord:
        status, reason, at, block = _view(self.contract.functions.statusOf, root, digest)
        return CredentialStatusRecord(CredentialStatus(status), reason, at, block)

    def registry_address(self) -> str:
        return _view(self.contract.functions.registry)

    def anchor_of(self, root: bytes) -> AnchorRecord | None:
        issuer, at, block = _view(self.contract.functions.anchorOf, root)
        if issuer == ZERO_ADDRESS:
            return None
        return AnchorRecord(issuer, at, block)

    def verify(self, digest: bytes, root: bytes, proof: Sequence[bytes]) -> CredentialView:
        r = _view(self.contract.functions.verify, digest, root, list(proof))
        return CredentialView(
            included=r[0], anchored=r[1], issuer=r[2] if r[1] else None, anchored_at=r[3], anchored_block=r[4],
            status=CredentialStatus(r[5]), reason=r[6], status_changed_at=r[7], status_block=r[8],
        )

    def leaf_hash(self, digest: bytes) -> bytes:
        return bytes(_view(self.contract.functions.leafHash, digest))


def _deploy(sender: TransactionSender, name: str, *args, confirmations: int = 1) -> tuple[str, int]:
    artifact = load_artifact(name)
    factory = sender.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    confirmation = sender.transact(factory.constructor(*args), confirmations=max(1, confirmations))
    return confirmation.receipt["contractAddress"], confirmation.block_number


def deploy_contracts(sender: TransactionSender, root_did: str, root_document_hash: bytes = b"\0" * 32,
                     root_tao: str | None = None, confirmations: int = 1) -> Deployment:
    """Deploy IssuerRegistry (with `root_tao`, default the sender, as first RootTAO) and CredentialAnchor."""
    root_tao = root_tao or sender.account.address
    registry, first_block = _deploy(sender, "IssuerRegistry", root_tao, root_did, root_document_hash,
                                    confirmations=confirmations)
    anchor, _ = _deploy(sender, "CredentialAnchor", registry, confirmations=confirmations)
    return Deployment(
        chain_id=sender.chain_id,
        issuer_registry=Web3.to_checksum_address(registry),
        credential_anchor=Web3.to_checksum_address(anchor),
        deployment_block=first_block,
    )
