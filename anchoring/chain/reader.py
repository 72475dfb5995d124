"""The reads a verifier makes of one contract set, over plain JSON-RPC (:mod:`anchoring.chain.jsonrpc`) and the
hand-written ABI codec (:mod:`anchoring.chain.abi_codec`): no web3 in the standalone verifier.

:class:`ContractReads` answers what :class:`~anchoring.chain.contracts.CredentialAnchor` and
:class:`~anchoring.chain.contracts.IssuerRegistry` (and their version-1 views) answer a verifier, with the same
records built by the same conversions (:mod:`anchoring.chain.records`); the tests compare the two readers on a
live chain. Writes, receipts and audits stay with the web3 wrappers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from anchoring.chain.abi_codec import (
    AbiDecodeError,
    canonical_type,
    checksum_address,
    decode,
    encode_call,
    selector,
    topic_address,
)
from anchoring.chain.artifacts import abi
from anchoring.chain.deployment import ContractSet
from anchoring.chain.jsonrpc import JsonRpc
from anchoring.chain.records import (
    AnchorRecord,
    CredentialStatusRecord,
    IssuerEntry,
    KeyRecord,
    StatusChange,
    StatusChangeEvent,
    StatusListRecord,
    anchor_record,
    credential_status,
    issuer_entry,
    key_record,
    status_change_events,
    status_history,
    status_list_record,
)
from anchoring.errors import ChainRequestFailed, ContractRevert
from anchoring.scheme.keccak import keccak256

__all__ = ["Block", "ContractReads", "block_param", "quantity"]

#: a block number, or a tag such as "latest"
Block = int | str


@dataclass(frozen=True)
class _Function:
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class _Event:
    topic: bytes
    indexed: tuple[tuple[str, str], ...]  # (name, type) of the topics after the signature
    data: tuple[tuple[str, str], ...]  # (name, type) of the non-indexed arguments


@dataclass(frozen=True)
class _Abi:
    functions: dict[str, _Function]
    events: dict[str, _Event]


@cache
def _abi(name: str, major: int) -> _Abi:
    functions, events = {}, {}
    for item in abi(name, major):
        inputs = tuple(canonical_type(i) for i in item.get("inputs", []))
        signature = f"{item.get('name')}({','.join(inputs)})"
        if item["type"] == "function":
            outputs = tuple(canonical_type(o) for o in item.get("outputs", []))
            functions[item["name"]] = _Function(selector(signature), inputs, outputs)
        elif item["type"] == "event":
            pairs = [(i["name"], canonical_type(i)) for i in item["inputs"]]
            flags = [bool(i.get("indexed")) for i in item["inputs"]]
            events[item["name"]] = _Event(
                keccak256(signature.encode("ascii")),
                tuple(p for p, f in zip(pairs, flags, strict=True) if f),
                tuple(p for p, f in zip(pairs, flags, strict=True) if not f),
            )
    return _Abi(functions, events)


def block_param(block: Block) -> str:
    """A block as JSON-RPC takes it: a hex quantity or a tag."""
    return hex(block) if isinstance(block, int) else block


def quantity(value: Any, what: str, label: str) -> int:
    """A hex quantity of a JSON-RPC answer; ChainRequestFailed when it is not one."""
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise ChainRequestFailed(f"{label} answered {what} with {str(value)[:40]!r}, not a hex quantity")


def _data(value: Any, what: str, label: str) -> bytes:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise ChainRequestFailed(f"{label} answered {what} with {str(value)[:40]!r}, not hex data")


class ContractReads:
    """The CredentialAnchor and IssuerRegistry of one contract set, whatever their version, as a verifier reads
    them; every method takes the block to read at."""

    def __init__(self, rpc: JsonRpc, contracts: ContractSet) -> None:
        self.rpc = rpc
        self.major = 1 if contracts.major == 1 else 2
        self.anchor_address = checksum_address(contracts.credential_anchor)
        self.registry_address = checksum_address(contracts.issuer_registry)
        self._anchor = _abi("CredentialAnchor", self.major)
        self._registry = _abi("IssuerRegistry", self.major)

    # -- calls -----------------------------------------------------------------------------------
    def _call(self, contract: _Abi, address: str, name: str, args: Sequence[Any], block: Block) -> Any:
        fn = contract.functions[name]
        data = encode_call(fn.selector, fn.inputs, args)
        answer = self.rpc.request(
            "eth_call", [{"to": address, "data": "0x" + data.hex()}, block_param(block)]
        )
        raw = _data(answer, f"eth_call {name}()", self.rpc.label)
        if not raw and fn.outputs:
            raise ChainRequestFailed(
                f"{self.rpc.label} returned no data for a contract call: no contract at that "
                "address on this chain (wrong deployment file or chain?)"
            )
        try:
            values = decode(fn.outputs, raw)
        except AbiDecodeError as exc:
            raise ChainRequestFailed(
                f"{self.rpc.label} answered {name}() with malformed data: {exc}"
            ) from None
        return values[0] if len(values) == 1 else values

    def version(self, contract: str, block: Block) -> str:
        """``version()`` of "CredentialAnchor" or "IssuerRegistry". Version-1 contracts have none: the call
        reverts (or returns nothing) and the answer is "1"; one that does answer gives its answer."""
        address = self.anchor_address if contract == "CredentialAnchor" else self.registry_address
        try:
            return str(self._call(_abi(contract, 2), address, "version", [], block))
        except (ContractRevert, ChainRequestFailed):
            if self.major == 2:
                raise
            return "1"

    def anchor_of(self, issuer: str, root: bytes, block: Block) -> AnchorRecord | None:
        """When `issuer` anchored `root`, or None when it never did."""
        args: list[Any] = [root] if self.major == 1 else [issuer, root]
        return anchor_record(
            issuer, self._call(self._anchor, self.anchor_address, "anchorOf", args, block), self.major
        )

    def status_of(self, issuer: str, root: bytes, digest: bytes, block: Block) -> CredentialStatusRecord:
        args: list[Any] = [root, digest] if self.major == 1 else [issuer, root, digest]
        return credential_status(self._call(self._anchor, self.anchor_address, "statusOf", args, block))

    def status_list_of(self, issuer: str, list_id: bytes, block: Block) -> StatusListRecord | None:
        """The latest published version of `issuer`'s status list `list_id`, or None when never published."""
        found = self._call(self._anchor, self.anchor_address, "statusListOf", [issuer, list_id], block)
        return status_list_record(found)

    def find_issuer(self, account: str, block: Block) -> IssuerEntry | None:
        """The registry entry of `account`, or None when the registry does not know it."""
        try:
            return issuer_entry(
                self._call(self._registry, self.registry_address, "getIssuer", [account], block)
            )
        except ContractRevert as exc:
            if exc.error == "UnknownIssuer":
                return None
            raise

    def history(self, account: str, block: Block) -> list[StatusChange]:
        return status_history(self._call(self._registry, self.registry_address, "history", [account], block))

    def verification_key(self, account: str, key_hash: bytes, block: Block) -> KeyRecord | None:
        """The record of one of `account`'s verification keys, or None when never added (version 1 binds none)."""
        if self.major == 1:
            return None
        args = [account, key_hash]
        return key_record(self._call(self._registry, self.registry_address, "verificationKey", args, block))

    # -- logs ------------------------------------------------------------------------------------
    def status_changes(
        self, pairs: Iterable[tuple[str, bytes]], from_block: int, to_block: Block
    ) -> list[StatusChangeEvent]:
        """Every CredentialStatusChanged event of the given (issuer, root) pairs, oldest first (one query)."""
        wanted = {(checksum_address(i), bytes(r)) for i, r in pairs}
        if not wanted:
            return []
        roots = sorted({"0x" + r.hex() for _, r in wanted})
        issuers = sorted({topic_address(i) for i, _ in wanted})
        # version 1 indexes the root first and the issuer last; version 2 the issuer first
        topics = [roots] if self.major == 1 else [issuers, roots]
        logs = self._logs("CredentialStatusChanged", topics, from_block, to_block)
        return status_change_events(logs, wanted)

    def _logs(
        self, name: str, topics: list[Any], from_block: int, to_block: Block
    ) -> list[tuple[dict[str, Any], int, int]]:
        """(args, block number, log index) of each `name` event of the CredentialAnchor matching `topics`."""
        event = self._anchor.events[name]
        params = {
            "address": self.anchor_address,
            "fromBlock": block_param(from_block),
            "toBlock": block_param(to_block),
            "topics": ["0x" + event.topic.hex(), *topics],
        }
        answer = self.rpc.request("eth_getLogs", [params])
        if not isinstance(answer, list):
            raise ChainRequestFailed(
                f"{self.rpc.label} answered eth_getLogs with something that is not a list"
            )
        out = []
        for log in answer:
            if not isinstance(log, dict) or log.get("removed"):
                continue
            try:
                out.append(self._decode_log(event, log))
            except (AbiDecodeError, KeyError, TypeError) as exc:
                raise ChainRequestFailed(
                    f"{self.rpc.label} answered eth_getLogs with a malformed log: {exc}"
                ) from None
        return out

    def _decode_log(self, event: _Event, log: dict[str, Any]) -> tuple[dict[str, Any], int, int]:
        label = self.rpc.label
        topics = [_data(t, "a log topic", label) for t in log["topics"]]
        if len(topics) != 1 + len(event.indexed) or topics[0] != event.topic:
            raise AbiDecodeError(
                f"{len(topics)} topics for an event with {len(event.indexed)} indexed arguments"
            )
        args = {
            name: decode([kind], topic)[0]
            for (name, kind), topic in zip(event.indexed, topics[1:], strict=True)
        }
        values = decode([kind for _, kind in event.data], _data(log["data"], "a log's data", label))
        args.update(zip((name for name, _ in event.data), values, strict=True))
        return (
            args,
            quantity(log["blockNumber"], "a log's block number", label),
            quantity(log["logIndex"], "a log's index", label),
        )
