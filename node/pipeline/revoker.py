"""The revoker: sends queued credential status changes to CredentialAnchor with the issuer's key, crash-safe like the anchorer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import sessionmaker
from sqlmodel import select

from anchoring.chain.contracts import CredentialAnchor
from anchoring.chain.contracts import CredentialStatus as ChainStatus
from anchoring.chain.transactions import TransactionSender
from anchoring.errors import ContractRevert, NonceConsumed
from anchoring.scheme.encoding import from_hex, to_hex
from anchoring.statuslist import list_hash, list_id
from node.pipeline.outbox import DROP_GRACE_SECONDS, MAX_IN_FLIGHT, REORG_WINDOW_BLOCKS, orphaned
from node.revocation.changes import (
    open_changes,
    record_change_already,
    record_change_failed,
    record_tx_confirmed,
    record_tx_dropped,
    record_tx_reorg,
    record_tx_submission,
    submitted_txs,
    tx_changes,
)
from node.revocation.statuslists import StatusListConfig, encoded_list
from node.storage.models import Batch, utcnow
from node.storage.revocation_tables import ACTION_RESULT, StatusList, StatusTx, TxState
from node.storage.trees import load_tree

log = logging.getLogger("credreg.revoker")


MAX_STATUS_BATCH = 512  # CredentialAnchor.MAX_STATUS_BATCH


# NotActiveIssuer: a suspended or revoked TI may still revoke, never suspend or reinstate (CredentialAnchor 2)
FINAL_ERRORS = {"UnknownRoot", "InvalidProof", "InvalidBatchSize", "NotActiveIssuer"}


_CHAIN_STATUS = {ChainStatus.VALID: "valid", ChainStatus.SUSPENDED: "suspended", ChainStatus.REVOKED: "revoked"}


@dataclass
class RevokerPassResult:
    submitted: int = 0  # transactions
    confirmed: int = 0  # transactions
    dropped: int = 0
    reorged: int = 0
    failed: int = 0  # changes given up
    published: int = 0  # status-list publications sent or confirmed

    @property
    def progressed(self) -> bool:
        return any((self.submitted, self.confirmed, self.dropped, self.reorged, self.failed, self.published))


class Revoker:
    def __init__(self, session_factory: sessionmaker, sender: TransactionSender, anchor: CredentialAnchor,
                 issuer_id: int, confirmations: int = 1, config: StatusListConfig | None = None):
        self.session_factory = session_factory
        self.sender = sender
        self.anchor = anchor
        self.issuer_id = issuer_id
        self.confirmations = max(1, confirmations)
        self.config = config or StatusListConfig()

    @property
    def address(self) -> str:
        return self.sender.account.address

    def run_pass(self) -> RevokerPassResult:
        result = RevokerPassResult()
        self._settle(result)
        self._check_reorgs(result)
        self._submit(result)
        self._publish_lists(result)
        return result

    # --- settle ------------------------------------------------------------------------------------
    def _chain_status(self, root: str, digest: str) -> str:
        return _CHAIN_STATUS[self.anchor.status_of(self.address, from_hex(root), from_hex(digest)).status]

    def _settle(self, result: RevokerPassResult) -> None:
        with self.session_factory() as session:
            for tx in submitted_txs(session, self.issuer_id):
                self._settle_one(session, tx, result)

    def _settle_one(self, session, tx, result: RevokerPassResult) -> None:
        tx_hash = from_hex(tx.tx_hash)
        receipt = self.sender.receipt(tx_hash)
        if receipt is not None and receipt["status"] == 1:
            depth = self.sender.confirmations(receipt)
            if depth >= self.confirmations:
                record_tx_confirmed(session, tx, block_number=receipt["blockNumber"],
                                    block_hash=to_hex(bytes(receipt["blockHash"])), gas_used=receipt["gasUsed"])
                result.confirmed += 1
                log.info("status tx %s (%s %s digests) confirmed, gas %s", tx.id, tx.action, tx.size,
                         receipt["gasUsed"])
            return
        if receipt is not None:
            reason = self.sender.failure_reason(tx_hash, receipt)
            if reason.error in FINAL_ERRORS:
                for ch in tx_changes(session, tx):
                    record_change_failed(session, ch, f"{tx.action} reverted: {reason}")
                    result.failed += 1
                tx.state, tx.last_error = TxState.failed.value, str(reason)
                session.add(tx)
                session.commit()
            else:  # e.g. InvalidCredentialStatus: requeue; the next estimate names the digest
                record_tx_dropped(session, tx, f"reverted: {reason}", TxState.failed)
            log.error("status tx %s reverted: %s", tx.id, reason)
            return
        if self.sender.is_known(tx_hash):
            return
        age = (utcnow() - tx.created_at).total_seconds()
        if age < DROP_GRACE_SECONDS:
            return
        changes = tx_changes(session, tx)
        target = ACTION_RESULT[tx.action]
        if changes and all(self._chain_status(ch.root, ch.digest) == target for ch in changes):
            record_tx_confirmed(session, tx, block_number=None, block_hash=None, gas_used=None)
            result.confirmed += 1
            return
        record_tx_dropped(session, tx, "transaction unknown to the node (dropped or never broadcast)")
        result.dropped += 1
        log.warning("status tx %s (%s) dropped; its changes are queued again", tx.id, tx.tx_hash)

    def _check_reorgs(self, result: RevokerPassResult) -> None:
        """Roll back confirmations whose block left the canonical chain."""
        head = self.sender.w3.eth.block_number
        with self.session_factory() as session:
            recent = session.exec(select(StatusTx).where(
                StatusTx.issuer_id == self.issuer_id, StatusTx.state == TxState.confirmed.value,
                StatusTx.block_number >= head - REORG_WINDOW_BLOCKS).order_by(StatusTx.block_number.desc())).all()
            for tx in orphaned(self.sender.w3, recent, head):
                record_tx_reorg(session, tx, f"block {tx.block_number} re-orged away")
                result.reorged += 1
                log.warning("status tx %s: block %s re-orged away; re-checking", tx.id, tx.block_number)

    # --- submit ------------------------------------------------------------------------------------
    def _groups(self, session) -> list[list]:
        groups: dict[tuple, list] = {}
        for ch in open_changes(session, self.issuer_id):
            groups.setdefault((ch.batch_id, ch.action, ch.reason), []).append(ch)
        out = []
        for changes in groups.values():
            out += [changes[i:i + MAX_STATUS_BATCH] for i in range(0, len(changes), MAX_STATUS_BATCH)]
        return out

    def _call(self, batch: Batch, changes: list):
        tree = load_tree(batch)
        multi = tree.multiproof([from_hex(ch.digest) for ch in changes])
        first = changes[0]
        args = (from_hex(batch.root), list(multi.leaves), list(multi.proof), list(multi.proof_flags))
        if first.action == "reinstate":
            return self.anchor.reinstate(*args)
        fn = self.anchor.revoke if first.action == "revoke" else self.anchor.suspend
        return fn(*args, first.reason)

    def _submit(self, result: RevokerPassResult) -> None:
        with self.session_factory() as session:
            in_flight = len(submitted_txs(session, self.issuer_id))
            groups = self._groups(session)
            nonce = None
            for changes in groups:
                if in_flight >= MAX_IN_FLIGHT:
                    return
                batch = session.get(Batch, changes[0].batch_id)
                signed = None
                while changes:
                    try:
                        nonce = self.sender.next_nonce() if nonce is None else nonce
                        signed = self.sender.sign(self._call(batch, changes), nonce=nonce)
                        break
                    except ContractRevert as exc:
                        changes = self._handle_estimate_revert(session, changes, exc, result)
                        if changes is None:
                            return
                if not changes or signed is None:
                    continue
                tx = record_tx_submission(session, changes, nonce=signed.nonce, tx_hash=to_hex(signed.tx_hash),
                                          chain_id=self.sender.chain_id, contract_address=self.anchor.address)
                try:
                    self.sender.broadcast(signed)
                except NonceConsumed as exc:
                    record_tx_dropped(session, tx, str(exc))
                    result.dropped += 1
                    return
                result.submitted += 1
                in_flight += 1
                nonce += 1
                log.info("status tx %s: %s %s digests under %s sent as %s nonce %s", tx.id, tx.action, tx.size,
                         tx.root, tx.tx_hash, signed.nonce)

    def _handle_estimate_revert(self, session, changes: list, exc: ContractRevert, result: RevokerPassResult):
        """The transaction would revert. InvalidCredentialStatus names one digest: confirm it when the chain
        already has the wanted status, fail it otherwise, and retry the rest. Final errors fail the group.
        Returns the changes left to try, or None to stop this pass (unexpected error)."""
        if exc.error == "InvalidCredentialStatus":
            digest = to_hex(exc.params.get("digest", b""))
            current = _CHAIN_STATUS.get(ChainStatus(exc.params.get("current", 0)), "valid")
            rest = []
            for ch in changes:
                if ch.digest != digest:
                    rest.append(ch)
                elif current == ACTION_RESULT[ch.action]:
                    record_change_already(session, ch)
                else:
                    record_change_failed(session, ch, f"on chain the credential is {current}: {exc}")
                    result.failed += 1
            if len(rest) == len(changes):  # the digest is not ours: avoid looping
                return None
            return rest
        if exc.error in FINAL_ERRORS:
            for ch in changes:
                record_change_failed(session, ch, f"{ch.action} would revert: {exc}")
                result.failed += 1
            log.error("status change group under %s fails: %s", changes[0].root, exc)
            return []
        for ch in changes:
            ch.last_error = f"would revert: {exc}"
            session.add(ch)
        session.commit()
        log.warning("status change under %s would revert, retrying later: %s", changes[0].root, exc)
        return None

    # --- status lists ------------------------------------------------------------------------------
    def _publish_lists(self, result: RevokerPassResult) -> None:
        with self.session_factory() as session:
            lists = session.exec(select(StatusList).where(StatusList.issuer_id == self.issuer_id)).all()
            for lst in lists:
                if lst.publish_state == "submitted":
                    self._settle_publication(session, lst, result)
                if lst.publish_state == "submitted" or lst.published_revision == lst.revision:
                    continue  # in flight, or the chain has the current list
                if lst.published_at is not None and utcnow() - lst.published_at < timedelta(
                        seconds=self.config.publish_interval_seconds):
                    continue
                encoded = encoded_list(session, lst)
                digest = list_hash(encoded)
                signed = self.sender.sign(self.anchor.publish_status_list(list_id(lst.url), digest))
                lst.publish_state, lst.publish_revision, lst.publish_hash = "submitted", lst.revision, to_hex(digest)
                lst.publish_nonce, lst.publish_tx_hash = signed.nonce, to_hex(signed.tx_hash)
                lst.publish_submitted_at = utcnow()
                session.add(lst)
                session.commit()  # write-ahead
                try:
                    self.sender.broadcast(signed)
                except NonceConsumed as exc:
                    lst.publish_state, lst.last_error = None, str(exc)
                    session.add(lst)
                    session.commit()
                    continue
                result.published += 1

    def _settle_publication(self, session, lst: StatusList, result: RevokerPassResult) -> None:
        tx_hash = from_hex(lst.publish_tx_hash)
        receipt = self.sender.receipt(tx_hash)
        if receipt is not None:
            if receipt["status"] == 1:
                if self.sender.confirmations(receipt) < self.confirmations:
                    return
                record = self.anchor.status_list_of(self.address, list_id(lst.url))
                lst.published_revision, lst.published_hash = lst.publish_revision, lst.publish_hash
                lst.published_version = record.version if record else None
                lst.published_at, lst.last_error = utcnow(), None
                result.published += 1
            else:
                lst.last_error = f"publishStatusList reverted: {self.sender.failure_reason(tx_hash, receipt)}"
            lst.publish_state = None
        elif self.sender.is_known(tx_hash):
            return
        elif lst.publish_submitted_at and (utcnow() - lst.publish_submitted_at).total_seconds() >= DROP_GRACE_SECONDS:
            lst.publish_state, lst.last_error = None, "publication dropped; will publish again"
        else:
            return
        session.add(lst)
        session.commit()
