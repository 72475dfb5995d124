"""The anchorer: drives each sealed batch through sealed -> submitted -> confirmed on chain."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import select

from anchoring.chain.contracts import CredentialAnchor
from anchoring.chain.transactions import TransactionSender
from anchoring.errors import ContractRevert, NonceConsumed
from anchoring.scheme.encoding import from_hex, to_hex
from node.pipeline.batches import (
    InvalidTransition,
    next_sealed_batch,
    record_confirmation,
    record_confirmations,
    record_dropped,
    record_failure,
    record_reorg,
    record_submission,
    submitted_batches,
)
from node.pipeline.locks import anchorer_lock
from node.pipeline.outbox import DROP_GRACE_SECONDS, MAX_IN_FLIGHT, REORG_WINDOW_BLOCKS, orphaned
from node.pipeline.retry import RetryLoop
from node.storage.models import Batch, BatchState

log = logging.getLogger("credreg.anchorer")


@dataclass
class PassResult:
    submitted: int = 0
    confirmed: int = 0
    dropped: int = 0
    reorged: int = 0
    failed: int = 0

    @property
    def progressed(self) -> bool:
        return any((self.submitted, self.confirmed, self.dropped, self.reorged, self.failed))


class Anchorer:
    """Anchors the batches of one issuer with that issuer's key."""

    def __init__(self, session_factory: sessionmaker, sender: TransactionSender, anchor: CredentialAnchor,
                 issuer_id: int, confirmations: int = 1, chain_id: int | None = None):
        self.session_factory = session_factory
        self.sender = sender
        self.anchor = anchor
        self.issuer_id = issuer_id
        self.confirmations = max(1, confirmations)
        self.chain_id = chain_id

    @property
    def address(self) -> str:
        return self.sender.account.address

    def run_pass(self) -> PassResult:
        """Settle submitted batches, re-check recent confirmations, submit the next sealed batch."""
        result = PassResult()
        self._settle_submitted(result)
        self._check_reorgs(result)
        self._submit_next(result)
        return result

    # --- settle what was sent -------------------------------------------------------------------
    def _settle_submitted(self, result: PassResult) -> None:
        with self.session_factory() as session:
            batches = submitted_batches(session, self.issuer_id)
            for batch in batches:
                self._settle(session, batch, result)

    def _settle(self, session, batch: Batch, result: PassResult) -> None:
        tx_hash = from_hex(batch.tx_hash)
        receipt = self.sender.receipt(tx_hash)
        if receipt is not None and receipt["status"] == 1:
            depth = self.sender.confirmations(receipt)
            if depth == 0:
                return  # its block left the chain; the node re-includes it or forgets it (dropped next pass)
            if depth >= self.confirmations:
                block = self.sender.w3.eth.get_block(receipt["blockNumber"])
                record_confirmation(session, batch, block_number=receipt["blockNumber"],
                                    block_hash=to_hex(bytes(receipt["blockHash"])), confirmations=depth,
                                    block_timestamp=block["timestamp"], gas_used=receipt["gasUsed"])
                result.confirmed += 1
                log.info("batch %s confirmed in block %s (%s leaves)", batch.id, receipt["blockNumber"], batch.size)
            elif depth != batch.confirmations:
                record_confirmations(session, batch, confirmations=depth, block_number=receipt["blockNumber"],
                                     block_hash=to_hex(bytes(receipt["blockHash"])))
            return
        if receipt is not None:  # mined but reverted
            reason = self.sender.failure_reason(tx_hash, receipt)
            if reason.error == "RootAlreadyAnchored" and self._anchored_by_us(batch):
                # an earlier transaction of ours for this root made it after all: adopt it
                self._adopt_existing_anchor(session, batch, result)
                return
            record_failure(session, batch, f"anchor transaction reverted: {reason}",
                           final=reason.error != "NotActiveIssuer")
            result.failed += 1
            log.error("batch %s: anchor reverted: %s", batch.id, reason)
            return
        if self.sender.is_known(tx_hash):
            return  # pending in the mempool
        if self._anchored_by_us(batch):
            self._adopt_existing_anchor(session, batch, result)
            return
        age = (time.time() - batch.submitted_at.timestamp()) if batch.submitted_at else DROP_GRACE_SECONDS
        if age < DROP_GRACE_SECONDS and batch.confirmations == 0 and batch.block_number is None:
            return  # broadcast may still be on its way (or the crash came before it); give it a moment
        lost = batch.tx_hash
        record_dropped(session, batch, "transaction unknown to the node (dropped, never broadcast or re-orged)")
        result.dropped += 1
        log.warning("batch %s: transaction %s dropped; will re-submit", batch.id, lost)

    def _anchored_by_us(self, batch: Batch) -> bool:
        return self.anchor.anchor_of(self.address, from_hex(batch.root)) is not None

    def _adopt_existing_anchor(self, session, batch: Batch, result: PassResult) -> None:
        """The root is on chain by our key under another transaction (an earlier attempt that resurfaced):
        record that transaction, found through the Anchored event, and settle it."""
        root = from_hex(batch.root)
        record = self.anchor.anchor_of(self.address, root)
        event = self.anchor.anchored_event(self.address, root, record.block_number) if record else None
        if event is None:
            return
        tx_hash = bytes(event["transactionHash"])
        nonce = self.sender.w3.eth.get_transaction(tx_hash)["nonce"]
        record_submission(session, batch, nonce=nonce, tx_hash=to_hex(tx_hash), chain_id=self.sender.chain_id,
                          contract_address=self.anchor.address)
        log.info("batch %s: root already anchored by us in %s; adopting it", batch.id, to_hex(tx_hash))
        self._settle(session, batch, result)

    # --- re-org detection for recent confirmations -------------------------------------------------
    def _check_reorgs(self, result: PassResult) -> None:
        head = self.sender.w3.eth.block_number
        with self.session_factory() as session:
            recent = session.exec(
                select(Batch).where(Batch.issuer_id == self.issuer_id, Batch.state == BatchState.confirmed.value,
                                    Batch.block_number >= head - REORG_WINDOW_BLOCKS)
                .order_by(Batch.block_number.desc())
            ).all()
            for batch in orphaned(self.sender.w3, recent, head):
                record_reorg(session, batch, f"block {batch.block_number} re-orged away")
                result.reorged += 1
                log.warning("batch %s: block %s re-orged away; re-checking", batch.id, batch.block_number)

    # --- submit -------------------------------------------------------------------------------------
    def _submit_next(self, result: PassResult) -> None:
        """Submit up to MAX_IN_FLIGHT sealed batches with consecutive nonces, so a backlog anchors in parallel
        blocks instead of one batch per round trip."""
        with self.session_factory() as session:
            in_flight = len(submitted_batches(session, self.issuer_id))
        nonce = None
        while in_flight < MAX_IN_FLIGHT:
            with self.session_factory() as session:
                batch = next_sealed_batch(session, self.issuer_id)
                if batch is None:
                    return
                if self._anchored_by_us(batch):  # an earlier, dropped-looking transaction made it after all
                    self._adopt_existing_anchor(session, batch, result)
                    continue
                nonce = self.sender.next_nonce() if nonce is None else nonce
                try:
                    signed = self.sender.sign(self.anchor.anchor(from_hex(batch.root), batch.size), nonce=nonce)
                except ContractRevert as exc:
                    record_failure(session, batch, f"anchor would revert: {exc}",
                                   final=exc.error != "NotActiveIssuer")
                    result.failed += 1
                    log.error("batch %s: anchor would revert: %s", batch.id, exc)
                    return
                # write-ahead: the row names the transaction before the network sees it
                record_submission(session, batch, nonce=signed.nonce, tx_hash=to_hex(signed.tx_hash),
                                  chain_id=self.sender.chain_id, contract_address=self.anchor.address)
                try:
                    self.sender.broadcast(signed)
                except NonceConsumed as exc:
                    record_dropped(session, batch, str(exc))
                    result.dropped += 1
                    return
                result.submitted += 1
                in_flight += 1
                nonce += 1
                log.info("batch %s (%s leaves) submitted as %s nonce %s", batch.id, batch.size, batch.tx_hash,
                         signed.nonce)


class AnchorerLoop(RetryLoop):
    """Runs `Anchorer.run_pass` until stopped, holding the single-anchorer lock of its key throughout."""

    def __init__(self, anchorer: Anchorer, engine: Engine, interval: float = 0.25, max_backoff: float = 10.0):
        super().__init__("anchorer", lambda: anchorer.run_pass().progressed, interval, max_backoff,
                         expected=(InvalidTransition, sa.exc.OperationalError))
        self.anchorer = anchorer
        self.engine = engine

    def run(self) -> None:
        with anchorer_lock(self.engine, self.anchorer.address):
            super().run()
