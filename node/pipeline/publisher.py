"""The status-list publisher: puts the hash of each Bitstring Status List on chain (``publishStatusList``) whenever
its bits changed, at most once per ``publish_interval_seconds`` per list. One ``status_list_publication`` row per
transaction (``outbox.PUBLICATION``: submitted -> confirmed | dropped | failed).

What differs from the other outbox kinds: the work is a list whose revision is ahead of its last confirmed
publication (one publication in flight per list); no revert is final (the list is published again); "already on
chain" is the list's on-chain hash equal to ours; confirming updates the list's ``published_*`` summary, which
the served list reports, and a re-org rolls that summary back to the previous confirmed publication.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from eth_typing import Hash32
from sqlmodel import Session, col, select

from anchoring.errors import ContractRevert
from anchoring.scheme.encoding import from_hex, to_hex
from anchoring.statuslist import list_hash, list_id
from node.pipeline.outbox import (
    NEW,
    PUBLICATION,
    SKIP,
    Outbox,
    PassResult,
    Submission,
    stamp_confirmed,
    stamp_dropped,
    stamp_reorged,
    stamp_submission,
)
from node.revocation.statuslists import StatusListConfig, encoded_list
from node.storage.models import utcnow
from node.storage.revocation_tables import StatusList, StatusListPublication, TxState

__all__ = [
    "Publisher",
    "record_publication",
    "record_publication_confirmed",
    "record_publication_dropped",
    "record_publication_reorg",
    "submitted_publications",
]


# ------------------------------------------------------------------------------------------ the rows
def submitted_publications(session: Session, issuer_id: int) -> list[StatusListPublication]:
    return list(
        session.exec(
            select(StatusListPublication)
            .where(
                StatusListPublication.issuer_id == issuer_id,
                StatusListPublication.state == TxState.submitted.value,
            )
            .order_by(col(StatusListPublication.id))
        )
    )


def record_publication(
    session: Session,
    lst: StatusList,
    *,
    revision: int,
    list_hash: str,
    nonce: int,
    tx_hash: str,
    chain_id: int | None = None,
    contract_address: str | None = None,
    fence_token: int | None = None,
    now: datetime | None = None,
    commit: bool = True,
) -> StatusListPublication:
    """Write-ahead: a new publication row naming the signed transaction. Commit BEFORE broadcasting."""
    assert lst.id is not None  # a stored list
    pub = StatusListPublication(
        issuer_id=lst.issuer_id,
        list_id=lst.id,
        revision=revision,
        list_hash=list_hash.lower(),
        state=NEW,  # type: ignore[arg-type]  # NEW (None) until stamp_submission below; never flushed
    )
    stamp_submission(pub, Submission(nonce, tx_hash, chain_id, contract_address, fence_token), now)
    session.add(pub)
    if commit:
        session.commit()
    else:
        session.flush()
    return pub


def _summarise(lst: StatusList, pub: StatusListPublication | None) -> None:
    lst.published_revision = pub.revision if pub else None
    lst.published_hash = pub.list_hash if pub else None
    lst.published_version = pub.version if pub else None
    lst.published_at = pub.confirmed_at if pub else None


def record_publication_confirmed(
    session: Session,
    pub: StatusListPublication,
    *,
    block_number: int | None,
    block_hash: str | None,
    confirmations: int = 0,
    gas_used: int | None = None,
    version: int | None = None,
    now: datetime | None = None,
) -> None:
    """submitted -> confirmed; the list's ``published_*`` summary now names this publication (one commit)."""
    stamp_confirmed(
        pub,
        block_number=block_number,
        block_hash=block_hash,
        confirmations=confirmations,
        gas_used=gas_used,
        now=now,
    )
    pub.version = version
    session.add(pub)
    lst = session.get_one(StatusList, pub.list_id)
    _summarise(lst, pub)
    lst.last_error = None
    session.add(lst)
    session.commit()


def record_publication_dropped(
    session: Session, pub: StatusListPublication, reason: str, state: TxState = TxState.dropped
) -> None:
    """submitted -> dropped|failed; the reason goes on the list too. The list stays behind, so the publisher
    publishes it again."""
    stamp_dropped(pub, reason, state.value)
    session.add(pub)
    lst = session.get_one(StatusList, pub.list_id)
    lst.last_error = reason[:4000]
    session.add(lst)
    session.commit()


def record_publication_reorg(session: Session, pub: StatusListPublication, reason: str) -> None:
    """confirmed -> submitted: the confirming block left the canonical chain; the list's summary goes back to
    its newest other confirmed publication (or to none)."""
    stamp_reorged(pub, reason)
    session.add(pub)
    session.flush()
    previous = session.exec(
        select(StatusListPublication)
        .where(
            StatusListPublication.list_id == pub.list_id,
            StatusListPublication.id != pub.id,
            StatusListPublication.state == TxState.confirmed.value,
        )
        .order_by(col(StatusListPublication.id).desc())
    ).first()
    lst = session.get_one(StatusList, pub.list_id)
    _summarise(lst, previous)
    session.add(lst)
    session.commit()


# ------------------------------------------------------------------------------------------ the kind
@dataclass(frozen=True)
class DueList:
    """A list to publish, with the revision and hash taken together when it was found due."""

    lst: StatusList
    revision: int
    list_hash: bytes


class Publisher(Outbox):
    machine = PUBLICATION
    model = StatusListPublication

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

    # --- sending ---------------------------------------------------------------------------------------------
    def pending(self, session: Session) -> Iterator[DueList]:
        """Lists whose bits changed since their last confirmed publication, none in flight, interval passed."""
        in_flight = {pub.list_id for pub in self.submitted(session)}
        interval = timedelta(seconds=self.config.publish_interval_seconds)
        lists = session.exec(
            select(StatusList).where(StatusList.issuer_id == self.issuer_id).order_by(col(StatusList.id))
        ).all()
        for lst in lists:
            if lst.id in in_flight or lst.published_revision == lst.revision:
                continue  # in flight, or the chain has the current list
            if lst.published_at is not None and utcnow() - lst.published_at < interval:
                continue
            yield DueList(lst, lst.revision, list_hash(encoded_list(session, lst)))

    def call(self, session: Session, due: DueList):
        return self.anchor.publish_status_list(list_id(due.lst.url), due.list_hash)

    def would_revert(self, session: Session, due: DueList, exc: ContractRevert, result: PassResult):
        due.lst.last_error = f"publishStatusList would revert: {exc}"[:4000]
        session.add(due.lst)
        session.commit()
        self.log.warning("status list %s: publication would revert, retrying later: %s", due.lst.id, exc)
        return SKIP

    def write_ahead(self, session: Session, due: DueList, sub: Submission) -> StatusListPublication:
        return record_publication(
            session,
            due.lst,
            revision=due.revision,
            list_hash=to_hex(due.list_hash),
            nonce=sub.nonce,
            tx_hash=sub.tx_hash,
            chain_id=sub.chain_id,
            contract_address=sub.contract_address,
            fence_token=sub.fence_token,
            commit=False,
        )

    # --- settling ---------------------------------------------------------------------------------------------
    def _on_chain(self, session: Session, pub: StatusListPublication):
        lst = session.get_one(StatusList, pub.list_id)
        return lst, self.anchor.status_list_of(self.address, list_id(lst.url))

    def confirm(self, session: Session, pub: StatusListPublication, receipt, depth: int) -> None:
        _, record = self._on_chain(session, pub)
        record_publication_confirmed(
            session,
            pub,
            block_number=receipt["blockNumber"],
            block_hash=to_hex(bytes(receipt["blockHash"])),
            confirmations=depth,
            gas_used=receipt["gasUsed"],
            version=record.version if record else None,
        )

    def is_final(self, error: ContractRevert) -> bool:
        return False  # a list must reach the chain: every failure is retried with the list's current bits

    def fail(self, session: Session, pub: StatusListPublication, reason: ContractRevert, final: bool) -> None:
        record_publication_dropped(session, pub, f"publishStatusList reverted: {reason}", TxState.failed)

    def drop(self, session: Session, pub: StatusListPublication, reason: str) -> None:
        record_publication_dropped(session, pub, reason)

    def reorg(self, session: Session, pub: StatusListPublication, reason: str) -> None:
        record_publication_reorg(session, pub, reason)

    def adopt(self, session: Session, pub: StatusListPublication) -> bool:
        """The chain's latest publication of the list has our hash (an earlier transaction of ours that
        resurfaced): point the row at that transaction, found through its StatusListPublished event."""
        lst, record = self._on_chain(session, pub)
        if record is None or record.list_hash != from_hex(pub.list_hash):
            return False
        event = self.anchor.published_event(self.address, list_id(lst.url), record.block_number)
        if event is None:
            return False
        tx_hash = bytes(event["transactionHash"])
        nonce = self.sender.w3.eth.get_transaction(Hash32(tx_hash))["nonce"]
        stamp_submission(
            pub,
            Submission(nonce, to_hex(tx_hash), self.sender.chain_id, self.contract_address, pub.fence_token),
        )
        session.add(pub)
        session.commit()
        self.log.info(
            "status list %s: hash already published by us in %s; adopting it", lst.id, to_hex(tx_hash)
        )
        return True
