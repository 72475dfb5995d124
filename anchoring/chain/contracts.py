"""Typed wrappers for IssuerRegistry and CredentialAnchor: the only code that knows their ABIs.

Reads return dataclasses with bytes inside and take ``block`` (default ``"latest"``) so a verifier can pin a
whole report to one block; writes return ContractFunction objects that a TransactionSender signs, so callers
choose between one-shot ``transact`` and crash-safe sign / write-ahead / broadcast. Every read goes through
:func:`~anchoring.chain.rpc.call_chain`, so failures arrive as ChainErrors.

Version 2 contracts (current) key anchors and credential statuses by (issuer, root). Version-1 deployments
(anchors keyed by root alone) are read through :class:`CredentialAnchorV1` / :class:`IssuerRegistryV1`,
which answer the same read questions so the verifier needs no version checks of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from eth_typing import ABIEvent
from eth_utils import event_abi_to_log_topic
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import MismatchedABI, TransactionNotFound
from web3.types import BlockIdentifier

from anchoring.chain.abi_codec import topic_address
from anchoring.chain.artifacts import abi, load_artifact
from anchoring.chain.deployment import CURRENT_VERSION, ContractSet, Deployment
from anchoring.chain.records import (
    ZERO_ADDRESS,
    ZERO_HASH,
    AnchorRecord,
    ChainEvent,
    CredentialStatus,
    CredentialStatusRecord,
    CredentialView,
    IssuerEntry,
    IssuerKind,
    IssuerStatus,
    KeyRecord,
    StatusChange,
    StatusChangeEvent,
    StatusListRecord,
    anchor_record,
    credential_status,
    issuer_entry,
    key_record,
    optional_address,
    status_change_events,
    status_history,
    status_list_record,
)
from anchoring.chain.rpc import call_chain
from anchoring.chain.transactions import TransactionSender
from anchoring.errors import ChainRequestFailed, ContractRevert
from anchoring.scheme.encoding import to_hex

__all__ = [
    "ZERO_ADDRESS",
    "ZERO_HASH",
    "AnchorReader",
    "AnchorRecord",
    "ChainEvent",
    "CredentialAnchor",
    "CredentialAnchorV1",
    "CredentialStatus",
    "CredentialStatusRecord",
    "CredentialView",
    "IssuerEntry",
    "IssuerKind",
    "IssuerRegistry",
    "IssuerRegistryV1",
    "IssuerStatus",
    "KeyRecord",
    "RegistryReader",
    "StatusChange",
    "StatusChangeEvent",
    "StatusListRecord",
    "anchor_reader",
    "deploy_contracts",
    "registry_reader",
]


class _Wrapper:
    def __init__(self, w3: Web3, address: str, name: str, major: int) -> None:
        self.w3 = w3
        self.contract: Contract = w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=abi(name, major)
        )
        self.address: str = self.contract.address
        self._endpoint: str | None = getattr(w3.provider, "endpoint_uri", None)

    def _read(self, fn: ContractFunction, block: BlockIdentifier) -> Any:
        return call_chain(lambda: fn.call(block_identifier=block), self._endpoint)

    def _logs(self, event: str, topics: list[Any], from_block: int, to_block: BlockIdentifier) -> list[Any]:
        """Decoded logs of `event` (topics after the signature as given: None, a value, or a list of values)."""
        abi_item = cast(
            ABIEvent,
            next(i for i in self.contract.abi if i.get("type") == "event" and i.get("name") == event),
        )
        params = {
            "address": self.address,
            "fromBlock": from_block,
            "toBlock": to_block,
            "topics": [to_hex(event_abi_to_log_topic(abi_item)), *topics],
        }
        logs = call_chain(lambda: self.w3.eth.get_logs(params), self._endpoint)  # type: ignore[arg-type]
        decoder = getattr(self.contract.events, event)()
        return [decoder.process_log(lg) for lg in logs if not lg.get("removed")]

    def version(self, block: BlockIdentifier = "latest") -> str:
        return str(self._read(self.contract.functions.version(), block))

    def _status_events(
        self, topics: list[Any], wanted: set[tuple[str, bytes]], from_block: int, to_block: BlockIdentifier
    ) -> list[StatusChangeEvent]:
        """CredentialStatusChanged events matching `topics` whose (issuer, root) is wanted, oldest first (both
        contract versions name the event's arguments alike)."""
        logs = self._logs("CredentialStatusChanged", topics, from_block, to_block)
        return status_change_events(((ev["args"], ev["blockNumber"], ev["logIndex"]) for ev in logs), wanted)

    def status_list_of(
        self, issuer: str, list_id: bytes, block: BlockIdentifier = "latest"
    ) -> StatusListRecord | None:
        """The latest published version of `issuer`'s status list `list_id`, or None when never published."""
        return status_list_record(self._read(self.contract.functions.statusListOf(issuer, list_id), block))

    def events(
        self,
        names: Sequence[str],
        from_block: int,
        to_block: BlockIdentifier = "latest",
        first_topic: Sequence[str] | None = None,
    ) -> list[ChainEvent]:
        """Every event named in `names` between the two blocks (inclusive), oldest first, in one ``eth_getLogs``;
        `first_topic`: only those whose first indexed argument is one of these addresses."""
        items = [
            cast(ABIEvent, i)
            for i in self.contract.abi
            if i.get("type") == "event" and i.get("name") in set(names)
        ]
        if not items:
            return []
        by_topic = {event_abi_to_log_topic(i): i["name"] for i in items}
        topics: list[Any] = [[to_hex(t) for t in by_topic]]
        if first_topic is not None:
            if not first_topic:
                return []
            topics.append(sorted({topic_address(a) for a in first_topic}))
        params = {"address": self.address, "fromBlock": from_block, "toBlock": to_block, "topics": topics}
        logs = call_chain(lambda: self.w3.eth.get_logs(params), self._endpoint)  # type: ignore[arg-type]
        out = []
        for lg in logs:
            if lg.get("removed"):
                continue
            name = by_topic.get(bytes(lg["topics"][0]))
            if name is None:
                continue
            ev = getattr(self.contract.events, name)().process_log(lg)
            out.append(
                ChainEvent(
                    name,
                    int(ev["blockNumber"]),
                    bytes(ev["blockHash"]),
                    bytes(ev["transactionHash"]),
                    int(ev["logIndex"]),
                    dict(ev["args"]),
                )
            )
        return sorted(out, key=lambda e: (e.block_number, e.log_index))


# ----------------------------------------------------------------------------------------------- registry
class _RegistryReads(_Wrapper):
    """The reads both registry versions answer."""

    def is_active_ti(self, account: str, block: BlockIdentifier = "latest") -> bool:
        return bool(self._read(self.contract.functions.isActiveTI(account), block))

    def was_active_ti_at(self, account: str, timestamp: int, block: BlockIdentifier = "latest") -> bool:
        return bool(self._read(self.contract.functions.wasActiveTIAt(account, timestamp), block))

    def status_at(self, account: str, timestamp: int, block: BlockIdentifier = "latest") -> IssuerStatus:
        return IssuerStatus(self._read(self.contract.functions.statusAt(account, timestamp), block))

    def get_issuer(self, account: str, block: BlockIdentifier = "latest") -> IssuerEntry:
        """The entry of `account`; ContractRevert ``UnknownIssuer`` when it has none."""
        return issuer_entry(self._read(self.contract.functions.getIssuer(account), block))

    def find_issuer(self, account: str, block: BlockIdentifier = "latest") -> IssuerEntry | None:
        """The entry of `account`, or None when the registry does not know it."""
        try:
            return self.get_issuer(account, block)
        except ContractRevert as exc:
            if exc.error == "UnknownIssuer":
                return None
            raise

    def history(self, account: str, block: BlockIdentifier = "latest") -> list[StatusChange]:
        return status_history(self._read(self.contract.functions.history(account), block))

    def accounts(self, block: BlockIdentifier = "latest") -> list[str]:
        count = int(self._read(self.contract.functions.issuerCount(), block))
        return [str(self._read(self.contract.functions.issuerAt(i), block)) for i in range(count)]

    def verification_key(
        self, account: str, key_hash: bytes, block: BlockIdentifier = "latest"
    ) -> KeyRecord | None:
        """The record of one of `account`'s verification keys, or None when it was never added."""
        return key_record(self._read(self.contract.functions.verificationKey(account, key_hash), block))


class IssuerRegistry(_RegistryReads):
    """IssuerRegistry 2.x: the accreditation chain RootTAO -> TAO -> TI, its history, issuers' keys."""

    def __init__(self, w3: Web3, address: str) -> None:
        super().__init__(w3, address, "IssuerRegistry", 2)

    # writes
    def accredit(
        self,
        account: str,
        kind: IssuerKind,
        did: str,
        document_hash: bytes,
        scope: str,
        valid_from: int = 0,
        valid_until: int = 0,
    ) -> ContractFunction:
        return self.contract.functions.accredit(
            account, int(kind), did, valid_from, valid_until, document_hash, scope
        )

    def suspend(self, account: str, reason: str = "") -> ContractFunction:
        return self.contract.functions.suspend(account, reason)

    def reinstate(self, account: str, reason: str = "") -> ContractFunction:
        return self.contract.functions.reinstate(account, reason)

    def revoke(self, account: str, reason: str = "") -> ContractFunction:
        return self.contract.functions.revoke(account, reason)

    def add_verification_key(self, account: str, key_hash: bytes) -> ContractFunction:
        return self.contract.functions.addVerificationKey(account, key_hash)

    def revoke_verification_key(self, account: str, key_hash: bytes) -> ContractFunction:
        return self.contract.functions.revokeVerificationKey(account, key_hash)

    # reads only version 2 answers
    def active_root_tao_count(self, block: BlockIdentifier = "latest") -> int:
        return int(self._read(self.contract.functions.activeRootTAOCount(), block))

    def verification_keys(self, account: str, block: BlockIdentifier = "latest") -> list[bytes]:
        count = int(self._read(self.contract.functions.verificationKeyCount(account), block))
        return [
            bytes(self._read(self.contract.functions.verificationKeyAt(account, i), block))
            for i in range(count)
        ]


class IssuerRegistryV1(_RegistryReads):
    """Read-only view of a version-1 IssuerRegistry (no verification keys, reasons only as hashes)."""

    def __init__(self, w3: Web3, address: str) -> None:
        super().__init__(w3, address, "IssuerRegistry", 1)

    def version(self, block: BlockIdentifier = "latest") -> str:
        return _v1_version(self.w3, self.address, "IssuerRegistry", block)

    def verification_key(
        self, account: str, key_hash: bytes, block: BlockIdentifier = "latest"
    ) -> KeyRecord | None:
        return None  # version 1 binds no keys


RegistryReader = IssuerRegistry | IssuerRegistryV1


# ----------------------------------------------------------------------------------------------- anchors
class CredentialAnchor(_Wrapper):
    """CredentialAnchor 2.x: roots and credential statuses, each in the namespace of the issuer that wrote them."""

    def __init__(self, w3: Web3, address: str) -> None:
        super().__init__(w3, address, "CredentialAnchor", 2)

    # writes
    def anchor(self, root: bytes, leaf_count: int) -> ContractFunction:
        return self.contract.functions.anchor(root, leaf_count)

    def revoke(
        self,
        root: bytes,
        digests: Sequence[bytes],
        proof: Sequence[bytes],
        proof_flags: Sequence[bool],
        reason: int,
    ) -> ContractFunction:
        return self.contract.functions.revoke(root, list(digests), list(proof), list(proof_flags), reason)

    def suspend(
        self,
        root: bytes,
        digests: Sequence[bytes],
        proof: Sequence[bytes],
        proof_flags: Sequence[bool],
        reason: int,
    ) -> ContractFunction:
        return self.contract.functions.suspend(root, list(digests), list(proof), list(proof_flags), reason)

    def reinstate(
        self, root: bytes, digests: Sequence[bytes], proof: Sequence[bytes], proof_flags: Sequence[bool]
    ) -> ContractFunction:
        return self.contract.functions.reinstate(root, list(digests), list(proof), list(proof_flags))

    def publish_status_list(self, list_id: bytes, list_hash: bytes) -> ContractFunction:
        return self.contract.functions.publishStatusList(list_id, list_hash)

    # reads
    def anchor_of(self, issuer: str, root: bytes, block: BlockIdentifier = "latest") -> AnchorRecord | None:
        """When `issuer` anchored `root`, or None when it never did."""
        return anchor_record(issuer, self._read(self.contract.functions.anchorOf(issuer, root), block), 2)

    def status_of(
        self, issuer: str, root: bytes, digest: bytes, block: BlockIdentifier = "latest"
    ) -> CredentialStatusRecord:
        return credential_status(self._read(self.contract.functions.statusOf(issuer, root, digest), block))

    def status_changes(
        self, pairs: Iterable[tuple[str, bytes]], from_block: int, to_block: BlockIdentifier = "latest"
    ) -> list[StatusChangeEvent]:
        """Every CredentialStatusChanged event of the given (issuer, root) pairs, oldest first (one query)."""
        wanted: set[tuple[str, bytes]] = {(Web3.to_checksum_address(i), bytes(r)) for i, r in pairs}
        if not wanted:
            return []
        issuers = sorted({topic_address(i) for i, _ in wanted})
        roots = sorted({to_hex(r) for _, r in wanted})
        return self._status_events([issuers, roots], wanted, from_block, to_block)

    def anchored_event(self, issuer: str, root: bytes, block_number: int) -> Any | None:
        """The Anchored event of (issuer, root) in `block_number` (its transaction hash, leaf count), or None."""
        logs = self._logs("Anchored", [topic_address(issuer), to_hex(root)], block_number, block_number)
        return logs[0] if logs else None

    def published_event(self, issuer: str, list_id: bytes, block_number: int) -> Any | None:
        """The last StatusListPublished event of (issuer, listId) in `block_number`, or None."""
        logs = self._logs(
            "StatusListPublished", [topic_address(issuer), to_hex(list_id)], block_number, block_number
        )
        return logs[-1] if logs else None

    def anchors_in(self, tx_hash: bytes) -> list[tuple[str, bytes, int]]:
        """(issuer, root, leaf count) of every Anchored event of one transaction (empty when not mined)."""
        try:
            receipt = call_chain(
                lambda: self.w3.eth.get_transaction_receipt(to_hex(tx_hash)),  # type: ignore[arg-type]
                self._endpoint,
            )
        except TransactionNotFound:
            return []
        out: list[tuple[str, bytes, int]] = []
        for lg in receipt["logs"]:
            if Web3.to_checksum_address(lg["address"]) != self.address:
                continue
            try:
                ev = self.contract.events.Anchored().process_log(lg)
            except MismatchedABI:
                continue
            out.append(
                (
                    Web3.to_checksum_address(ev["args"]["issuer"]),
                    bytes(ev["args"]["root"]),
                    int(ev["args"]["leafCount"]),
                )
            )
        return out

    def verify(
        self,
        issuer: str,
        digest: bytes,
        root: bytes,
        proof: Sequence[bytes],
        block: BlockIdentifier = "latest",
    ) -> CredentialView:
        r = self._read(self.contract.functions.verify(issuer, digest, root, list(proof)), block)
        return CredentialView(
            included=r[0],
            anchored=r[1],
            anchored_at=int(r[2]),
            anchored_block=int(r[3]),
            leaf_count=int(r[4]),
            status=CredentialStatus(r[5]),
            reason=int(r[6]),
            status_changed_at=int(r[7]),
            status_block=int(r[8]),
        )

    def registry_address(self, block: BlockIdentifier = "latest") -> str:
        return str(self._read(self.contract.functions.registry(), block))

    def leaf_hash(self, digest: bytes) -> bytes:
        return bytes(self._read(self.contract.functions.leafHash(digest), "latest"))


class CredentialAnchorV1(_Wrapper):
    """Read-only view of a version-1 CredentialAnchor (anchors keyed by root alone), answering the questions of
    :class:`CredentialAnchor`: a root counts as anchored by `issuer` only when `issuer` is who anchored it."""

    def __init__(self, w3: Web3, address: str) -> None:
        super().__init__(w3, address, "CredentialAnchor", 1)

    def version(self, block: BlockIdentifier = "latest") -> str:
        return _v1_version(self.w3, self.address, "CredentialAnchor", block)

    def anchor_of(self, issuer: str, root: bytes, block: BlockIdentifier = "latest") -> AnchorRecord | None:
        return anchor_record(issuer, self._read(self.contract.functions.anchorOf(root), block), 1)

    def anchored_by(self, root: bytes, block: BlockIdentifier = "latest") -> str | None:
        """Who anchored `root` (version 1 has one anchor per root)."""
        who, _, _ = self._read(self.contract.functions.anchorOf(root), block)
        return optional_address(who)

    def status_of(
        self, issuer: str, root: bytes, digest: bytes, block: BlockIdentifier = "latest"
    ) -> CredentialStatusRecord:
        return credential_status(self._read(self.contract.functions.statusOf(root, digest), block))

    def status_changes(
        self, pairs: Iterable[tuple[str, bytes]], from_block: int, to_block: BlockIdentifier = "latest"
    ) -> list[StatusChangeEvent]:
        wanted: set[tuple[str, bytes]] = {(Web3.to_checksum_address(i), bytes(r)) for i, r in pairs}
        if not wanted:
            return []
        roots = sorted({to_hex(r) for _, r in wanted})  # version 1 indexes the root first, the issuer last
        return self._status_events([roots], wanted, from_block, to_block)


AnchorReader = CredentialAnchor | CredentialAnchorV1


def _v1_version(w3: Web3, address: str, name: str, block: BlockIdentifier) -> str:
    """Version-1 contracts have no ``version()``: the call reverts (or returns nothing) and the answer is "1".
    A contract that does answer is not version 1, whatever a deployment file says: its answer is returned."""
    probe = w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi(name, 2))
    try:
        return str(call_chain(lambda: probe.functions.version().call(block_identifier=block)))
    except (ContractRevert, ChainRequestFailed):
        return "1"


def anchor_reader(w3: Web3, contracts: ContractSet) -> AnchorReader:
    """The reader for the CredentialAnchor of `contracts`, whatever its version."""
    return (
        CredentialAnchorV1(w3, contracts.credential_anchor)
        if contracts.major == 1
        else CredentialAnchor(w3, contracts.credential_anchor)
    )


def registry_reader(w3: Web3, contracts: ContractSet) -> RegistryReader:
    """The reader for the IssuerRegistry of `contracts`, whatever its version."""
    return (
        IssuerRegistryV1(w3, contracts.issuer_registry)
        if contracts.major == 1
        else IssuerRegistry(w3, contracts.issuer_registry)
    )


# ----------------------------------------------------------------------------------------------- deployment
def _deploy(
    sender: TransactionSender,
    name: str,
    *args: Any,
    confirmations: int = 1,
    major: int = 2,
    timeout: float = 60.0,
) -> tuple[str, int]:
    artifact = load_artifact(name, major)
    factory = sender.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    confirmation = sender.transact(
        factory.constructor(*args), confirmations=max(1, confirmations), timeout=timeout
    )
    return str(confirmation.receipt["contractAddress"]), confirmation.block_number


def deploy_contracts(
    sender: TransactionSender,
    root_did: str,
    root_document_hash: bytes = ZERO_HASH,
    root_tao: str | None = None,
    confirmations: int = 1,
    major: int = 2,
    timeout: float = 60.0,
) -> Deployment:
    """Deploy IssuerRegistry (with `root_tao`, default the sender, as first RootTAO) and CredentialAnchor.
    ``major=1`` deploys the frozen version-1 contracts (for compatibility tests). Each deployment waits
    ``confirmations`` blocks, at most ``timeout`` seconds."""
    root_tao = root_tao or sender.account.address
    registry, first_block = _deploy(
        sender,
        "IssuerRegistry",
        root_tao,
        root_did,
        root_document_hash,
        confirmations=confirmations,
        major=major,
        timeout=timeout,
    )
    anchor, _ = _deploy(
        sender, "CredentialAnchor", registry, confirmations=confirmations, major=major, timeout=timeout
    )
    version = "1" if major == 1 else CURRENT_VERSION
    return Deployment(
        chain_id=sender.chain_id,
        issuer_registry=Web3.to_checksum_address(registry),
        credential_anchor=Web3.to_checksum_address(anchor),
        deployment_block=first_block,
        version=version,
    )
