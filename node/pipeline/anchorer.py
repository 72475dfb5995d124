"""The anchorer: drives each sealed batch through sealed -> submitted -> confirmed on chain (``outbox.BATCH``).

What differs from the other outbox kinds: the batch row is both the work and the transaction (a dropped
transaction sends it back to ``sealed``); "already on chain" is the root anchored by our key, adopted through its
``Anchored`` event; confirming anchors every credential of the batch.
"""

from __future__ import annotations

from collections.abc import Iterator

from eth_typing import Hash32
from sqlmodel import Session

from anchoring.chain.contracts import IssuerRegistry
from anchoring.errors import ContractRevert
from anchoring.scheme.encoding import from_hex, to_hex
from node.pipeline.batches import (
    next_sealed_batch,
    record_confirmation,
    record_dropped,
    record_failure,
    record_reorg,
    record_submission,
)
from node.pipeline.outbox import BATCH, STOP, Outbox, PassResult, Submission
from node.storage.models import Batch

__all__ = ["Anchorer", "PassResult"]

#: reverts worth retrying: our own root already anchored is adopted. NotActiveIssuer is retried while the issuer
#: is not in the registry yet (a node started before its accreditation); once it is registered but suspended,
#: revoked or expired, the batch fails for good (a person must act: reinstate, then ``credreg batches retry``).
RETRY_ERRORS = frozenset({"RootAlreadyAnchored"})


class Anchorer(Outbox):
    """Anchors the batches of one issuer with that issuer's key."""

    machine = BATCH
    model = Batch
    done_errors = frozenset({"RootAlreadyAnchored"})

    def __init__(
        self,
        session_factory,
        sender,
        anchor,
        issuer_id: int,
        confirmations: int = 1,
        chain_id: int | None = None,
        **kwargs,
    ):
        super().__init__(session_factory, sender, anchor, issuer_id, confirmations, **kwargs)
        self.chain_id = chain_id
        self._registry_reader: IssuerRegistry | None = None

    # --- sending ---------------------------------------------------------------------------------------------
    def pending(self, session: Session) -> Iterator[Batch]:
        seen: set[int] = set()
        while (batch := next_sealed_batch(session, self.issuer_id)) is not None and batch.id not in seen:
            assert batch.id is not None  # a stored batch
            seen.add(batch.id)
            yield batch

    def call(self, session: Session, batch: Batch):
        return self.anchor.anchor(from_hex(batch.root), batch.size)

    def would_revert(self, session: Session, batch: Batch, exc: ContractRevert, result: PassResult):
        final = self.is_final(exc)
        record_failure(
            session, batch, f"anchor would revert: {self._explain(exc)}", final=final, error_code=exc.error
        )
        if final:
            result.failed += 1
        self.log.error("batch %s: anchor would revert: %s", batch.id, exc)
        return STOP

    def write_ahead(self, session: Session, batch: Batch, sub: Submission) -> Batch:
        return record_submission(
            session,
            batch,
            nonce=sub.nonce,
            tx_hash=sub.tx_hash,
            chain_id=sub.chain_id,
            contract_address=sub.contract_address,
            fence_token=sub.fence_token,
            commit=False,
        )

    def already_sent(self, session: Session, batch: Batch) -> Batch | None:
        """An earlier, dropped-looking transaction of ours anchored the root after all: adopt it."""
        return batch if self.adopt(session, batch) else None

    # --- settling ---------------------------------------------------------------------------------------------
    def confirm(self, session: Session, batch: Batch, receipt, depth: int) -> None:
        block = self.sender.w3.eth.get_block(receipt["blockNumber"])
        record_confirmation(
            session,
            batch,
            block_number=receipt["blockNumber"],
            block_hash=to_hex(bytes(receipt["blockHash"])),
            confirmations=depth,
            block_timestamp=block["timestamp"],
            gas_used=receipt["gasUsed"],
        )

    def is_final(self, error: ContractRevert) -> bool:
        if error.error == "NotActiveIssuer":
            return self._registered()
        return error.error not in RETRY_ERRORS

    def _registry(self) -> IssuerRegistry:
        if self._registry_reader is None:
            self._registry_reader = IssuerRegistry(self.anchor.w3, self.anchor.registry_address())
        return self._registry_reader

    def _registered(self) -> bool:
        """The issuer has a registry entry (in any status): a NotActiveIssuer is then someone's decision."""
        return self._registry().find_issuer(self.address) is not None

    def _explain(self, exc: ContractRevert) -> str:
        if exc.error != "NotActiveIssuer":
            return str(exc)
        entry = self._registry().find_issuer(self.address)
        if entry is None:
            return f"{exc}: {self.address} is not in the IssuerRegistry yet (retried until it is accredited)"
        return (
            f"{exc}: {self.address} is {entry.status.label} in the IssuerRegistry; after its reinstatement run "
            "`credreg batches retry`"
        )

    def fail(self, session: Session, batch: Batch, reason: ContractRevert, final: bool) -> None:
        if final:
            record_failure(
                session,
                batch,
                f"anchor transaction reverted: {self._explain(reason)}",
                final=True,
                error_code=reason.error,
            )
        else:  # the nonce is spent and the transaction is over: back to sealed, sent again later
            record_dropped(session, batch, f"anchor transaction reverted: {reason}")

    def drop(self, session: Session, batch: Batch, reason: str) -> None:
        record_dropped(session, batch, reason)

    def reorg(self, session: Session, batch: Batch, reason: str) -> None:
        record_reorg(session, batch, reason)

    def adopt(self, session: Session, batch: Batch) -> bool:
        """The root is on chain by our key under another transaction (an earlier attempt that resurfaced):
        point the batch at that transaction, found through the Anchored event; the core settles it."""
        root = from_hex(batch.root)
        record = self.anchor.anchor_of(self.address, root)
        event = self.anchor.anchored_event(self.address, root, record.block_number) if record else None
        if event is None:
            return False
        tx_hash = bytes(event["transactionHash"])
        nonce = self.sender.w3.eth.get_transaction(Hash32(tx_hash))["nonce"]
        record_submission(
            session,
            batch,
            nonce=nonce,
            tx_hash=to_hex(tx_hash),
            chain_id=self.sender.chain_id,
            contract_address=self.anchor.address,
            fence_token=batch.fence_token,
        )
        self.log.info("batch %s: root already anchored by us in %s; adopting it", batch.id, to_hex(tx_hash))
        return True
