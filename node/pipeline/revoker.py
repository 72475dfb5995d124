"""The revoker: sends queued credential status changes to CredentialAnchor with the issuer's key
(``outbox.STATUS_TX`` rows, one per transaction, each carrying up to 512 changes under one root).

What differs from the other outbox kinds: the work is a group of queued changes (same batch, action and reason);
an estimate that reverts with ``InvalidCredentialStatus`` names one digest, which is confirmed (the chain already
has it) or failed, and the rest is tried again; "already on chain" is every change's status on chain; confirming
confirms the changes and flips the status-list bits.
"""

from __future__ import annotations

from sqlmodel import Session

from anchoring.chain.contracts import CredentialStatus as ChainStatus
from anchoring.errors import ContractRevert
from anchoring.scheme.encoding import from_hex, to_hex
from node.pipeline.outbox import SKIP, STATUS_TX, STOP, Outbox, PassResult, Submission
from node.revocation.changes import (
    open_changes,
    record_change_already,
    record_change_failed,
    record_tx_confirmed,
    record_tx_dropped,
    record_tx_failed,
    record_tx_reorg,
    record_tx_submission,
    tx_changes,
)
from node.revocation.statuslists import StatusListConfig
from node.storage.models import Batch
from node.storage.revocation_tables import ACTION_RESULT, StatusChange, StatusTx, TxState
from node.storage.trees import load_tree

__all__ = ["FINAL_ERRORS", "MAX_STATUS_BATCH", "Revoker"]

MAX_STATUS_BATCH = 512  # CredentialAnchor.MAX_STATUS_BATCH


# NotActiveIssuer: a suspended or revoked TI may still revoke, never suspend or reinstate (CredentialAnchor 2)
FINAL_ERRORS = {"UnknownRoot", "InvalidProof", "InvalidBatchSize", "NotActiveIssuer"}


class Revoker(Outbox):
    machine = STATUS_TX
    model = StatusTx

    def __init__(
        self,
        session_factory,
        sender,
        anchor,
        issuer_id: int,
        confirmations: int = 1,
        config: StatusListConfig | None = None,
        **kwargs,
    ):
        super().__init__(session_factory, sender, anchor, issuer_id, confirmations, **kwargs)
        self.config = config or StatusListConfig()

    def _chain_status(self, root: str, digest: str) -> str:
        return self.anchor.status_of(self.address, from_hex(root), from_hex(digest)).status.label

    # --- sending ---------------------------------------------------------------------------------------------
    def pending(self, session: Session) -> list[list[StatusChange]]:
        groups: dict[tuple, list[StatusChange]] = {}
        for ch in open_changes(session, self.issuer_id):
            groups.setdefault((ch.batch_id, ch.action, ch.reason), []).append(ch)
        out = []
        for changes in groups.values():
            out += [changes[i : i + MAX_STATUS_BATCH] for i in range(0, len(changes), MAX_STATUS_BATCH)]
        return out

    def call(self, session: Session, changes: list[StatusChange]):
        batch = session.get_one(Batch, changes[0].batch_id)
        tree = load_tree(batch)
        multi = tree.multiproof([from_hex(ch.digest) for ch in changes])
        first = changes[0]
        args = (from_hex(batch.root), list(multi.leaves), list(multi.proof), list(multi.proof_flags))
        if first.action == "reinstate":
            return self.anchor.reinstate(*args)
        fn = self.anchor.revoke if first.action == "revoke" else self.anchor.suspend
        return fn(*args, first.reason)

    def would_revert(
        self, session: Session, changes: list[StatusChange], exc: ContractRevert, result: PassResult
    ):
        """InvalidCredentialStatus names one digest: confirm it when the chain already has the wanted status,
        fail it otherwise, and retry the rest. Final errors fail the group. Anything else: note it and stop
        this pass."""
        if exc.error == "InvalidCredentialStatus":
            digest = to_hex(exc.params.get("digest", b""))
            current = ChainStatus(exc.params.get("current", 0)).label
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
                return STOP
            return rest or SKIP
        if exc.error in FINAL_ERRORS:
            for ch in changes:
                record_change_failed(session, ch, f"{ch.action} would revert: {exc}")
                result.failed += 1
            self.log.error("status change group under %s fails: %s", changes[0].root, exc)
            return SKIP
        for ch in changes:
            ch.last_error = f"would revert: {exc}"
            session.add(ch)
        session.commit()
        self.log.warning("status change under %s would revert, retrying later: %s", changes[0].root, exc)
        return STOP

    def write_ahead(self, session: Session, changes: list[StatusChange], sub: Submission) -> StatusTx:
        return record_tx_submission(
            session,
            changes,
            nonce=sub.nonce,
            tx_hash=sub.tx_hash,
            chain_id=sub.chain_id,
            contract_address=sub.contract_address,
            fence_token=sub.fence_token,
            commit=False,
        )

    # --- settling ---------------------------------------------------------------------------------------------
    def confirm(self, session: Session, tx: StatusTx, receipt, depth: int) -> None:
        record_tx_confirmed(
            session,
            tx,
            block_number=receipt["blockNumber"],
            block_hash=to_hex(bytes(receipt["blockHash"])),
            gas_used=receipt["gasUsed"],
            confirmations=depth,
        )
        self.log.info("status tx %s (%s %s digests) gas %s", tx.id, tx.action, tx.size, receipt["gasUsed"])

    def is_final(self, error: ContractRevert) -> bool:
        return error.error in FINAL_ERRORS

    def fail(self, session: Session, tx: StatusTx, reason: ContractRevert, final: bool) -> None:
        if final:
            record_tx_failed(session, tx, str(reason))
        else:  # e.g. InvalidCredentialStatus: requeue; the next estimate names the digest
            record_tx_dropped(session, tx, f"reverted: {reason}", TxState.failed)

    def drop(self, session: Session, tx: StatusTx, reason: str) -> None:
        record_tx_dropped(session, tx, reason)

    def reorg(self, session: Session, tx: StatusTx, reason: str) -> None:
        record_tx_reorg(session, tx, reason)

    def adopt(self, session: Session, tx: StatusTx) -> bool:
        """Every change of the transaction already shows on chain: confirm them without a receipt."""
        changes = tx_changes(session, tx)
        target = ACTION_RESULT[tx.action]
        if not changes or not all(self._chain_status(ch.root, ch.digest) == target for ch in changes):
            return False
        record_tx_confirmed(session, tx, block_number=None, block_hash=None, gas_used=None)
        return True
