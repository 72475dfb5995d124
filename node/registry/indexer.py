"""Chain-event indexer: follows IssuerRegistry and CredentialAnchor events into the database.

* Scans from the deployment block in ranges of ``batch_blocks`` (default 2,000) up to ``head - (confirmations - 1)``.
* Every row carries its block number and block hash; each range end and each block with an event is kept
  as a checkpoint (``registry_indexed_block``). Before scanning, the cursor's block hash is compared with
  the chain; on a mismatch the indexer walks the checkpoints back to the newest block still canonical (the
  fork point), deletes everything indexed after it, rebuilds the affected issuers' current state, and
  re-indexes from there.
* One database transaction per range (rows + checkpoints + cursor), so a crash never leaves half a range;
  the cursor table makes it resume where it stopped.
* It indexes the chain, not the local database: other nodes' issuers, anchors and revocations appear too.

Run ``Indexer(session_factory, w3, deployment, confirmations).run_once()`` or an :class:`IndexerLoop`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict, TypeGuard, TypeVar

import sqlalchemy as sa
from eth_typing import ABIElement, ABIEvent
from eth_utils import event_abi_to_log_topic
from sqlalchemy.orm import Session, sessionmaker
from sqlmodel import col
from web3 import Web3
from web3.contract.contract import ContractEvent
from web3.exceptions import BlockNotFound
from web3.types import EventData

from anchoring.chain.contracts import (
    CredentialAnchor,
    CredentialStatus,
    IssuerKind,
    IssuerRegistry,
    IssuerStatus,
)
from anchoring.chain.deployment import Deployment
from anchoring.chain.rpc import call_chain
from anchoring.errors import ChainError
from anchoring.scheme.encoding import to_hex
from node.pipeline.retry import RetryLoop
from node.registry.accreditation import country_of_scope
from node.storage.models import utcnow
from node.storage.registry_tables import (
    IndexedBlock,
    IndexerCursor,
    RegistryAnchor,
    RegistryCredentialStatus,
    RegistryEvent,
    RegistryIssuer,
)

log = logging.getLogger("credreg.indexer")

__all__ = ["IndexStats", "Indexer", "IndexerLoop"]

CHECKPOINT_HORIZON = 50_000  # range-end checkpoints older than this many blocks are pruned
EVENT_TABLES = (RegistryEvent, RegistryAnchor, RegistryCredentialStatus)

T = TypeVar("T")


@dataclass
class IndexStats:
    head: int = 0
    target: int = 0
    from_block: int | None = None
    last_block: int = 0
    ranges: int = 0
    registry_events: int = 0
    anchors: int = 0
    credential_statuses: int = 0
    reorgs: int = 0
    rolled_back_to: int | None = None
    rows_removed: int = 0

    @property
    def progressed(self) -> bool:
        return bool(self.ranges or self.reorgs)

    def to_dict(self) -> dict:
        return asdict(self)


class ReorgDuringScan(ChainError):
    """The chain changed under a range being scanned; the range is retried on the next pass."""


def _hex(value: Any) -> str:
    return to_hex(bytes(value))


def _addr(value: str | None) -> str | None:
    if value is None or int(value, 16) == 0:
        return None
    return Web3.to_checksum_address(value)


def _reason_text(args: Any) -> str | None:
    """The reason text of an IssuerStatusChanged event (IssuerRegistry 2 emits it beside its keccak256)."""
    reason = args.get("reason")
    return reason if isinstance(reason, str) else None


def _is_event(item: ABIElement) -> TypeGuard[ABIEvent]:
    return item.get("type") == "event"


class _EventColumns(TypedDict):
    """The columns every row written from an event carries."""

    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    timestamp: int


@dataclass
class _Block:
    number: int
    hash: str
    timestamp: int


@dataclass
class _Pending:
    rows: list = field(default_factory=list)
    blocks: dict[int, _Block] = field(default_factory=dict)


class Indexer:
    def __init__(
        self,
        session_factory: sessionmaker,
        w3: Web3,
        deployment: Deployment,
        confirmations: int = 1,
        batch_blocks: int = 2000,
        max_ranges: int | None = None,
    ):
        self.session_factory = session_factory
        self.w3 = w3
        self.deployment = deployment
        self.confirmations = max(0, confirmations)
        self.batch_blocks = max(1, batch_blocks)
        self.max_ranges = max_ranges
        self.name = f"{deployment.chain_id}:{deployment.issuer_registry}:{deployment.credential_anchor}"
        # the typed wrappers own the ABIs; the indexer only decodes their events
        self.registry = IssuerRegistry(w3, deployment.issuer_registry).contract
        self.anchor = CredentialAnchor(w3, deployment.credential_anchor).contract
        self._decoders: dict[tuple[str, bytes], ContractEvent] = {}
        for contract, names in (
            (self.registry, ("IssuerAccredited", "IssuerStatusChanged")),
            (self.anchor, ("Anchored", "CredentialStatusChanged")),
        ):
            for item in contract.abi:
                if _is_event(item) and item["name"] in names:
                    self._decoders[(contract.address, event_abi_to_log_topic(item))] = getattr(
                        contract.events, item["name"]
                    )()

    # --- chain access ---------------------------------------------------------------------------------
    def _rpc(self, fn: Callable[[], T]) -> T:
        return call_chain(fn)

    def _block(self, number: int) -> _Block | None:
        try:
            b = self._rpc(lambda: self.w3.eth.get_block(number))
        except BlockNotFound:  # past the head, e.g. after a re-org to a shorter chain
            return None
        return _Block(number, _hex(b["hash"]), int(b["timestamp"]))

    # --- cursor -------------------------------------------------------------------------------------------
    def _cursor(self, session: Session, lock: bool = False) -> IndexerCursor:
        # FOR UPDATE (PostgreSQL): two indexers on one database serialise on the cursor row
        cursor = session.get(IndexerCursor, self.name, with_for_update=lock or None)
        if cursor is None:
            cursor = IndexerCursor(
                name=self.name,
                chain_id=self.deployment.chain_id,
                last_block=self.deployment.deployment_block - 1,
                last_block_hash=None,
            )
            session.add(cursor)
            session.flush()
        return cursor

    def cursor(self) -> dict:
        with self.session_factory() as session:
            c = session.get(IndexerCursor, self.name)
            if c is None:
                return {
                    "name": self.name,
                    "last_block": self.deployment.deployment_block - 1,
                    "last_block_hash": None,
                    "reorgs": 0,
                }
            return {
                "name": c.name,
                "last_block": c.last_block,
                "last_block_hash": c.last_block_hash,
                "reorgs": c.reorgs,
            }

    # --- one pass -----------------------------------------------------------------------------------------
    def run_once(self) -> IndexStats:
        """Check for a re-org, then index every confirmed range up to the target block. Returns counts."""
        stats = IndexStats()
        stats.head = self._rpc(lambda: self.w3.eth.block_number)
        stats.target = stats.head - max(self.confirmations - 1, 0)
        self._check_reorg(stats)
        ranges = 0
        while self.max_ranges is None or ranges < self.max_ranges:
            with self.session_factory() as session:
                cursor = self._cursor(session)
                start = cursor.last_block + 1
                session.commit()
            if start > stats.target:
                break
            end = min(start + self.batch_blocks - 1, stats.target)
            if stats.from_block is None:
                stats.from_block = start
            try:
                self._index_range(start, end, stats)
            except ReorgDuringScan as exc:
                log.warning("%s; retrying next pass", exc)
                break
            ranges += 1
        stats.ranges = ranges
        stats.last_block = self.cursor()["last_block"]
        return stats

    # --- re-orgs ----------------------------------------------------------------------------------------------
    def _check_reorg(self, stats: IndexStats) -> None:
        with self.session_factory() as session:
            cursor = self._cursor(session)
            session.commit()
            if cursor.last_block_hash is None:
                return
            current = self._block(cursor.last_block) if cursor.last_block <= stats.head else None
            if current is not None and current.hash == cursor.last_block_hash:
                return
            ancestor = self._fork_point(session, min(cursor.last_block, stats.head))
        log.warning(
            "re-org detected: block %s changed; rolling back to block %s",
            cursor.last_block,
            ancestor.number if ancestor else self.deployment.deployment_block - 1,
        )
        self.rollback_to(ancestor, stats)

    def _fork_point(self, session: Session, below: int) -> _Block | None:
        """The newest checkpoint at or below ``below`` whose hash is still canonical (None: none is)."""
        q = (
            sa.select(IndexedBlock)
            .where(col(IndexedBlock.block_number) <= below)
            .order_by(col(IndexedBlock.block_number).desc())
        )
        for cp in session.execute(q).scalars():
            chain = self._block(cp.block_number)
            if chain is not None and chain.hash == cp.block_hash:
                return chain
        return None

    def rollback_to(self, ancestor: _Block | None, stats: IndexStats | None = None) -> int:
        """Delete everything indexed after ``ancestor`` (everything when None) and rebuild issuer states."""
        stats = stats or IndexStats()
        number = ancestor.number if ancestor else self.deployment.deployment_block - 1
        removed = 0
        with self.session_factory() as session:
            for table in EVENT_TABLES:
                removed += (
                    session.execute(sa.delete(table).where(col(table.block_number) > number)).rowcount or 0
                )
            session.execute(sa.delete(IndexedBlock).where(col(IndexedBlock.block_number) > number))
            # issuers accredited after the fork disappear; the others go back to their last surviving status
            session.execute(sa.delete(RegistryIssuer).where(col(RegistryIssuer.accredited_block) > number))
            stale = (
                session.execute(sa.select(RegistryIssuer).where(col(RegistryIssuer.updated_block) > number))
                .scalars()
                .all()
            )
            for issuer in stale:
                last = (
                    session.execute(
                        sa.select(RegistryEvent)
                        .where(col(RegistryEvent.address) == issuer.address)
                        .order_by(col(RegistryEvent.block_number).desc(), col(RegistryEvent.log_index).desc())
                        .limit(1)
                    )
                    .scalars()
                    .first()
                )
                if last is not None:
                    issuer.status = last.new_status
                    issuer.updated_block = last.block_number
                    issuer.updated_at = last.timestamp
            cursor = self._cursor(session, lock=True)
            cursor.last_block = number
            cursor.last_block_hash = ancestor.hash if ancestor else None
            cursor.reorgs += 1
            cursor.updated_at = utcnow()
            session.commit()
        stats.reorgs += 1
        stats.rolled_back_to = number
        stats.rows_removed += removed
        return removed

    # --- one range --------------------------------------------------------------------------------------------
    def _index_range(self, start: int, end: int, stats: IndexStats) -> None:
        end_block = self._block(end)
        if end_block is None:
            raise ReorgDuringScan(f"block {end} vanished while indexing")
        logs = self._rpc(
            lambda: self.w3.eth.get_logs(
                {
                    "fromBlock": start,
                    "toBlock": end,
                    "address": [self.registry.address, self.anchor.address],
                }
            )
        )
        blocks: dict[int, _Block] = {end: end_block}
        decoded: list[tuple[EventData, _Block]] = []
        for entry in logs:
            if entry.get("removed"):
                continue
            number = int(entry["blockNumber"])
            if number not in blocks:
                blk = self._block(number)
                if blk is None:
                    raise ReorgDuringScan(f"block {number} vanished while indexing")
                blocks[number] = blk
            if _hex(entry["blockHash"]) != blocks[number].hash:
                raise ReorgDuringScan(f"block {number} changed while indexing {start}-{end}")
            decoder = self._decoders.get(
                (Web3.to_checksum_address(entry["address"]), bytes(entry["topics"][0]))
            )
            if decoder is None:
                continue
            decoded.append((decoder.process_log(entry), blocks[number]))
        # the chain must not have moved under us: re-check the range end
        again = self._block(end)
        if again is None or again.hash != end_block.hash:
            raise ReorgDuringScan(f"block {end} changed while indexing {start}-{end}")

        with self.session_factory() as session:
            cursor = self._cursor(session, lock=True)
            if cursor.last_block != start - 1:  # another indexer got here first
                session.rollback()
                return
            for event, blk in decoded:
                self._apply(session, event, blk, stats)
            for blk in blocks.values():
                session.merge(
                    IndexedBlock(block_number=blk.number, block_hash=blk.hash, timestamp=blk.timestamp)
                )
            cursor.last_block = end
            cursor.last_block_hash = end_block.hash
            cursor.updated_at = utcnow()
            self._prune(session, end, {b.number for b in blocks.values()})
            session.commit()

    def _prune(self, session: Session, end: int, keep: set[int]) -> None:
        horizon = end - CHECKPOINT_HORIZON
        if horizon <= self.deployment.deployment_block:
            return
        has_event = sa.or_(
            *[sa.exists().where(col(t.block_number) == col(IndexedBlock.block_number)) for t in EVENT_TABLES]
        )
        session.execute(sa.delete(IndexedBlock).where(col(IndexedBlock.block_number) < horizon, ~has_event))

    def _apply(self, session: Session, event: EventData, blk: _Block, stats: IndexStats) -> None:
        args = event["args"]
        common: _EventColumns = {
            "block_number": blk.number,
            "block_hash": blk.hash,
            "tx_hash": _hex(event["transactionHash"]),
            "log_index": int(event["logIndex"]),
            "timestamp": blk.timestamp,
        }
        name = event["event"]
        if name == "IssuerAccredited":
            account = Web3.to_checksum_address(args["account"])
            accreditor = _addr(args["accreditor"])
            session.add(
                RegistryEvent(
                    address=account,
                    action="accredited",
                    by=accreditor,
                    previous_status=None,
                    new_status="active",
                    reason_hash=None,
                    reason=None,
                    **common,
                )
            )
            # every column is set: merge inserts the entry, or overwrites all of an existing one's state
            session.merge(
                RegistryIssuer(
                    address=account,
                    kind=IssuerKind(int(args["kind"])).label,
                    status="active",
                    accreditor=accreditor,
                    did=args["did"],
                    valid_from=int(args["validFrom"]),
                    valid_until=int(args["validUntil"]),
                    document_hash=_hex(args["documentHash"]),
                    scope=args["scope"],
                    country=country_of_scope(args["scope"]),
                    accredited_block=blk.number,
                    accredited_tx=common["tx_hash"],
                    accredited_at=blk.timestamp,
                    updated_block=blk.number,
                    updated_at=blk.timestamp,
                )
            )
            stats.registry_events += 1
        elif name == "IssuerStatusChanged":
            account = Web3.to_checksum_address(args["account"])
            previous = IssuerStatus(int(args["previousStatus"])).label
            new = IssuerStatus(int(args["newStatus"])).label
            action = {"suspended": "suspended", "revoked": "revoked", "active": "reinstated"}.get(new, new)
            session.add(
                RegistryEvent(
                    address=account,
                    action=action,
                    by=_addr(args["by"]),
                    previous_status=previous,
                    new_status=new,
                    reason_hash=_hex(args["reasonHash"]),
                    reason=_reason_text(args),
                    **common,
                )
            )
            issuer = session.get(RegistryIssuer, account)
            if issuer is not None:
                issuer.status = new
                issuer.updated_block = blk.number
                issuer.updated_at = blk.timestamp
            stats.registry_events += 1
        elif name == "Anchored":
            session.add(
                RegistryAnchor(
                    root=_hex(args["root"]),
                    issuer=Web3.to_checksum_address(args["issuer"]),
                    leaf_count=int(args["leafCount"]),
                    **common,
                )
            )
            stats.anchors += 1
        elif name == "CredentialStatusChanged":
            session.add(
                RegistryCredentialStatus(
                    root=_hex(args["root"]),
                    digest=_hex(args["digest"]),
                    issuer=Web3.to_checksum_address(args["issuer"]),
                    status=CredentialStatus(int(args["status"])).label,
                    reason=int(args["reason"]),
                    **common,
                )
            )
            stats.credential_statuses += 1


class IndexerLoop(RetryLoop):
    """Runs ``Indexer.run_once`` every `interval` until stopped; backs off while the chain is unreachable."""

    def __init__(self, indexer: Indexer, interval: float = 2.0, max_backoff: float = 30.0):
        super().__init__("indexer", self._step, interval, max_backoff)
        self.indexer = indexer
        self.last_stats: IndexStats | None = None

    def _step(self) -> bool:
        self.last_stats = self.indexer.run_once()
        return False  # new blocks come at the chain's pace: wait the interval
