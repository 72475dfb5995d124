"""Tables for credential status changes (revoke / suspend / reinstate) and W3C Bitstring Status Lists.

* ``credential_status_state``: per credential, the status the issuer asked for last (``target``) and the
  status confirmed on chain (``confirmed``). The API checks transitions against ``target`` (so a second
  revoke is idempotent and a reinstate after a revoke is refused before anything is queued).
* ``status_change``: the persisted queue, one row per credential and requested change
  (queued -> submitted -> confirmed | failed). ``request_id`` groups the rows of one API call.
* ``status_tx``: one on-chain transaction (revoke/suspend/reinstate of up to 512 digests under one root),
  with the same write-ahead fields as ``batch`` (nonce + tx hash stored before broadcast).
* ``status_list`` / ``status_list_entry``: Bitstring Status Lists per issuer and purpose; entries are
  reserved indexes (random, unique per list), linked to a digest once the credential that carries them is
  known; ``bit`` is the entry's current bit. ``revision`` counts bit changes; ``published_*`` summarise the
  last confirmed publication.
* ``status_list_publication``: one on-chain ``publishStatusList`` transaction per row, write-ahead like
  ``batch`` and ``status_tx`` (see ``node.pipeline.outbox``).

Conventions as in ``node.models`` (hex strings, naive UTC timestamps).
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from node.storage.models import BigId, TableModel, utcnow

__all__ = [
    "ChangeState",
    "CredentialStatusState",
    "StatusAction",
    "StatusChange",
    "StatusList",
    "StatusListEntry",
    "StatusListPublication",
    "StatusTx",
    "TxState",
]


class StatusAction(enum.StrEnum):
    revoke = "revoke"
    suspend = "suspend"
    reinstate = "reinstate"


#: the status a credential has after the action
ACTION_RESULT = {"revoke": "revoked", "suspend": "suspended", "reinstate": "valid"}


class ChangeState(enum.StrEnum):
    queued = "queued"  # accepted, waiting for a transaction
    submitted = "submitted"  # part of a status_tx in flight
    confirmed = "confirmed"  # on chain, deep enough
    failed = "failed"  # given up (last_error says why)


class TxState(enum.StrEnum):
    submitted = "submitted"  # nonce + tx hash written (before broadcast)
    confirmed = "confirmed"
    dropped = "dropped"  # unknown to the node; its changes went back to queued
    failed = "failed"  # reverted; its changes were requeued or failed one by one


class CredentialStatusState(TableModel, table=True):
    __tablename__ = "credential_status_state"

    credential_id: int = Field(
        sa_column=sa.Column(BigId, sa.ForeignKey("credential.id"), primary_key=True, autoincrement=False)
    )
    issuer_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("issuer.id"), nullable=False, index=True))
    digest: str = Field(sa_column=sa.Column(sa.String(66), nullable=False, unique=True))
    target: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # valid | suspended | revoked
    target_reason: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    confirmed: str = Field(default="valid", sa_column=sa.Column(sa.String(16), nullable=False))
    confirmed_reason: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    confirmed_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))


class StatusTx(TableModel, table=True):
    __tablename__ = "status_tx"
    __table_args__ = (sa.Index("ix_status_tx_issuer_state", "issuer_id", "state", "id"),)

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    issuer_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("issuer.id"), nullable=False))
    batch_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("batch.id"), nullable=False))
    root: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    action: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    reason: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    size: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    state: str = Field(default=TxState.submitted.value, sa_column=sa.Column(sa.String(16), nullable=False))
    chain_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    contract_address: str | None = Field(default=None, sa_column=sa.Column(sa.String(42), nullable=True))
    nonce: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    tx_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(66), nullable=True, index=True))
    block_number: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    block_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(66), nullable=True))
    confirmations: int = Field(
        default=0, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="0")
    )
    gas_used: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    fence_token: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))
    confirmed_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))


class StatusChange(TableModel, table=True):
    __tablename__ = "status_change"
    __table_args__ = (
        sa.Index("ix_status_change_issuer_state", "issuer_id", "state", "id"),
        sa.Index("ix_status_change_credential", "credential_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    request_id: str = Field(sa_column=sa.Column(sa.String(36), nullable=False, index=True))
    issuer_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("issuer.id"), nullable=False))
    credential_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("credential.id"), nullable=False))
    batch_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("batch.id"), nullable=False))
    digest: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    root: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    action: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    reason: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    state: str = Field(default=ChangeState.queued.value, sa_column=sa.Column(sa.String(16), nullable=False))
    tx_id: int | None = Field(
        default=None, sa_column=sa.Column(BigId, sa.ForeignKey("status_tx.id"), nullable=True, index=True)
    )
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="0"))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    confirmed_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))


class StatusList(TableModel, table=True):
    __tablename__ = "status_list"
    __table_args__ = (sa.UniqueConstraint("issuer_id", "purpose", name="uq_status_list_issuer_purpose"),)

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    issuer_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("issuer.id"), nullable=False))
    purpose: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # revocation | suspension
    #: the list credential's URL (its ``id``), fixed when the list is created; listId on chain = keccak256(url)
    url: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    size: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))  # bits
    allocated: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="0"))
    revision: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="0"))
    enabled: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.true())
    )
    # the last confirmed publication on chain (a summary of status_list_publication, for the read side)
    published_revision: int | None = Field(default=None, sa_column=sa.Column(sa.Integer(), nullable=True))
    published_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(66), nullable=True))
    published_version: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    published_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))
    #: why the last publication attempt did not confirm (cleared by the next confirmed one)
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))


class StatusListEntry(TableModel, table=True):
    __tablename__ = "status_list_entry"
    __table_args__ = (
        sa.UniqueConstraint("list_id", "idx", name="uq_status_list_entry_list_idx"),
        sa.Index("ix_status_list_entry_digest", "digest"),
        sa.Index("ix_status_list_entry_list_bit", "list_id", "bit"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    list_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("status_list.id"), nullable=False))
    idx: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    digest: str | None = Field(default=None, sa_column=sa.Column(sa.String(66), nullable=True))
    bit: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    allocated_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))


class StatusListPublication(TableModel, table=True):
    """One ``publishStatusList`` transaction of a list (one row per attempt), with the same write-ahead fields
    and states as ``status_tx``: submitted -> confirmed | dropped | failed."""

    __tablename__ = "status_list_publication"
    __table_args__ = (
        sa.Index("ix_status_list_publication_issuer_state", "issuer_id", "state", "id"),
        sa.Index("ix_status_list_publication_list_state", "list_id", "state", "id"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    issuer_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("issuer.id"), nullable=False))
    list_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("status_list.id"), nullable=False))
    #: the list's revision and the keccak256 of its encodedList at signing time
    revision: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    list_hash: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    state: str = Field(default=TxState.submitted.value, sa_column=sa.Column(sa.String(16), nullable=False))
    chain_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    contract_address: str | None = Field(default=None, sa_column=sa.Column(sa.String(42), nullable=True))
    nonce: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    tx_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(66), nullable=True, index=True))
    block_number: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    block_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(66), nullable=True))
    confirmations: int = Field(
        default=0, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="0")
    )
    gas_used: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    #: the on-chain version counter once confirmed
    version: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    fence_token: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))
    confirmed_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))
