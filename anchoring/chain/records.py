"""What the contracts answer, as the library hands it on: their enums and the records of their reads and events,
bytes inside. No web3 here: the verifier's light reader (:mod:`anchoring.chain.reader`) and the web3 wrappers
(:mod:`anchoring.chain.contracts`) build the same records from the same decoded tuples."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from anchoring.chain.abi_codec import checksum_address

__all__ = [
    "ZERO_ADDRESS",
    "ZERO_HASH",
    "AnchorRecord",
    "ChainEvent",
    "CredentialStatus",
    "CredentialStatusRecord",
    "CredentialView",
    "IssuerEntry",
    "IssuerKind",
    "IssuerStatus",
    "KeyRecord",
    "StatusChange",
    "StatusChangeEvent",
    "StatusListRecord",
    "anchor_record",
    "credential_status",
    "issuer_entry",
    "key_record",
    "optional_address",
    "status_change_events",
    "status_history",
    "status_list_record",
]

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_HASH = b"\0" * 32


class _Named(IntEnum):
    """An on-chain enum with ONE lower-case name per value: ``.label`` to show, ``from_label`` to parse."""

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def from_label(cls, text: str) -> Any:
        key = text.strip().lower().replace("_", "-")
        for member in cls:
            if key in (member.label, member.label.replace("-", "")):
                return member
        raise ValueError(f"unknown {cls.noun()} {text!r}: one of {', '.join(m.label for m in cls)}")

    @classmethod
    def noun(cls) -> str:
        return cls.__name__


class IssuerKind(_Named):
    """The role of a registry entry: RootTAO -> TAO -> TI."""

    NONE = 0
    ROOT_TAO = 1
    TAO = 2
    TI = 3

    @classmethod
    def noun(cls) -> str:
        return "kind"

    @property
    def title(self) -> str:
        """The kind as the EBSI Trusted Issuers Registry writes it (RootTAO, TAO, TI)."""
        return {0: "None", 1: "RootTAO", 2: "TAO", 3: "TI"}[int(self)]


class IssuerStatus(_Named):
    """The status of a registry entry; revoked is final."""

    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REVOKED = 3

    @classmethod
    def noun(cls) -> str:
        return "status"


class CredentialStatus(_Named):
    """The status of one credential under one (issuer, root); revoked is final."""

    VALID = 0
    SUSPENDED = 1
    REVOKED = 2


@dataclass(frozen=True)
class IssuerEntry:
    account: str
    kind: IssuerKind
    status: IssuerStatus
    accreditor: str | None  # None for the first RootTAO
    valid_from: int
    valid_until: int  # 0 = open-ended
    document_hash: bytes
    did: str
    scope: str
    history_length: int

    def within_validity(self, timestamp: int) -> bool:
        return self.valid_from <= timestamp and (self.valid_until == 0 or timestamp < self.valid_until)


@dataclass(frozen=True)
class StatusChange:
    """One entry of an issuer's on-chain status history (the first is its accreditation)."""

    timestamp: int
    block_number: int
    status: IssuerStatus
    by: str | None


@dataclass(frozen=True)
class KeyRecord:
    """A verification key of an issuer (keyHash = keccak256 of its publicKeyMultibase)."""

    added_at: int
    added_block: int
    revoked_at: int  # 0 = not revoked
    revoked_block: int

    def valid_at_block(self, block: int) -> bool:
        return 0 < self.added_block <= block and (self.revoked_block == 0 or block < self.revoked_block)


@dataclass(frozen=True)
class AnchorRecord:
    issuer: str
    anchored_at: int
    block_number: int
    leaf_count: int | None  # None on version-1 contracts (the count is in the Anchored event only)


@dataclass(frozen=True)
class CredentialStatusRecord:
    status: CredentialStatus
    reason: int
    changed_at: int
    block_number: int


@dataclass(frozen=True)
class StatusChangeEvent:
    """One CredentialStatusChanged event: the last one per (issuer, root, digest) is the status."""

    issuer: str
    root: bytes
    digest: bytes
    status: CredentialStatus
    reason: int
    block_number: int
    log_index: int


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
    anchored_at: int
    anchored_block: int
    leaf_count: int | None
    status: CredentialStatus
    reason: int
    status_changed_at: int
    status_block: int


@dataclass(frozen=True)
class ChainEvent:
    """One decoded event log, with where it sits on chain (for audits that compare a database row by row).
    ``args`` as web3 decodes them: addresses EIP-55, bytes32 as bytes, enums and counts as ints, strings."""

    name: str
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    log_index: int
    args: dict[str, Any]


# ----------------------------------------------------------------------------------------------- decoded tuples
# One conversion per read, from the values as the ABI decodes them (web3's and the light reader's alike:
# addresses EIP-55, bytes32 as bytes, integers as int), so both readers give the same records.
def optional_address(value: str) -> str | None:
    """None for the zero address, else the address in EIP-55."""
    return None if int(value, 16) == 0 else checksum_address(value)


def issuer_entry(r: Sequence[Any]) -> IssuerEntry:
    """``getIssuer(account)``'s struct."""
    return IssuerEntry(
        r[0],
        IssuerKind(r[1]),
        IssuerStatus(r[2]),
        optional_address(r[3]),
        int(r[4]),
        int(r[5]),
        bytes(r[6]),
        r[7],
        r[8],
        int(r[9]),
    )


def status_history(rows: Sequence[Sequence[Any]]) -> list[StatusChange]:
    """``history(account)``'s array, oldest first."""
    return [StatusChange(int(t), int(b), IssuerStatus(s), optional_address(by)) for t, b, s, by in rows]


def key_record(r: Sequence[Any]) -> KeyRecord | None:
    """``verificationKey(account, keyHash)``'s struct; None when the key was never added."""
    record = KeyRecord(int(r[0]), int(r[1]), int(r[2]), int(r[3]))
    return record if record.added_block else None


def anchor_record(issuer: str, r: Sequence[Any], major: int) -> AnchorRecord | None:
    """``anchorOf``'s struct: (anchoredAt, block, leafCount) keyed by (issuer, root) in version 2, (issuer,
    anchoredAt, block) keyed by root in version 1, where it counts only when `issuer` is who anchored it."""
    if major == 1:
        who, at, number = r
        if int(who, 16) == 0 or who.lower() != issuer.lower():
            return None
        return AnchorRecord(checksum_address(who), int(at), int(number), None)
    at, number, leaves = r
    if int(leaves) == 0:
        return None
    return AnchorRecord(checksum_address(issuer), int(at), int(number), int(leaves))


def credential_status(r: Sequence[Any]) -> CredentialStatusRecord:
    """``statusOf``'s struct."""
    status, reason, at, number = r
    return CredentialStatusRecord(CredentialStatus(status), int(reason), int(at), int(number))


def status_list_record(r: Sequence[Any]) -> StatusListRecord | None:
    """``statusListOf``'s struct; None when the list was never published."""
    list_hash, at, number, version = r
    if int(version) == 0:
        return None
    return StatusListRecord(bytes(list_hash), int(at), int(number), int(version))


def status_change_events(
    logs: Iterable[tuple[dict[str, Any], int, int]], wanted: set[tuple[str, bytes]]
) -> list[StatusChangeEvent]:
    """The CredentialStatusChanged events (decoded args, block number, log index) whose (issuer, root) is in
    `wanted` (issuers in EIP-55), oldest first; both contract versions name the event's arguments alike."""
    out = []
    for args, block_number, log_index in logs:
        key = (checksum_address(args["issuer"]), bytes(args["root"]))
        if key in wanted:
            out.append(
                StatusChangeEvent(
                    key[0],
                    key[1],
                    bytes(args["digest"]),
                    CredentialStatus(args["status"]),
                    int(args["reason"]),
                    int(block_number),
                    int(log_index),
                )
            )
    return sorted(out, key=lambda e: (e.block_number, e.log_index))
