"""Tables of the registry index (issue 6): what the chain says about issuers, anchors and credential
statuses, as followed by ``node.indexer``, plus the accreditation documents this node holds.

Same conventions as ``node.models``: hashes as ``0x`` lower-case hex (66 chars), addresses EIP-55
(42 chars), chain times as Unix seconds (BIGINT). Every row written from an event carries the block
number and block hash it came from, so a re-org can remove exactly what it invalidated.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from node.storage.models import BigId, Uint64, utcnow

__all__ = [
    "AccreditationDocument",
    "IndexedBlock",
    "IndexerCursor",
    "RegistryAnchor",
    "RegistryCredentialStatus",
    "RegistryEvent",
    "RegistryIssuer",
]


class RegistryIssuer(SQLModel, table=True):
    """Current state of one registry entry (derived from its events; rebuilt after a re-org)."""

    __tablename__ = "registry_issuer"
    __table_args__ = (
        sa.Index("ix_registry_issuer_kind_status", "kind", "status"),
        sa.Index("ix_registry_issuer_accreditor", "accreditor"),
        sa.Index("ix_registry_issuer_country", "country"),
    )

    address: str = Field(sa_column=sa.Column(sa.String(42), primary_key=True))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # root-tao | tao | ti
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # active | suspended | revoked
    accreditor: str | None = Field(default=None, sa_column=sa.Column(sa.String(42), nullable=True))
    did: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    valid_from: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    valid_until: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False)
    )  # 0 = open-ended
    document_hash: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    scope: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    country: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    accredited_block: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    accredited_tx: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    accredited_at: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    updated_block: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    updated_at: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))


class RegistryEvent(SQLModel, table=True):
    """One IssuerAccredited or IssuerStatusChanged event: the history of the registry."""

    __tablename__ = "registry_event"
    __table_args__ = (
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_registry_event_tx_log"),
        sa.Index("ix_registry_event_address_block", "address", "block_number", "log_index"),
        sa.Index("ix_registry_event_block", "block_number"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    address: str = Field(sa_column=sa.Column(sa.String(42), nullable=False))
    #: accredited | suspended | reinstated | revoked
    action: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    by: str | None = Field(default=None, sa_column=sa.Column(sa.String(42), nullable=True))
    previous_status: str | None = Field(default=None, sa_column=sa.Column(sa.String(16), nullable=True))
    new_status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    reason_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(66), nullable=True))
    #: the reason text of a status change (IssuerRegistry 2 emits it beside its keccak256; None before v2)
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    block_number: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    block_hash: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    tx_hash: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    log_index: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    timestamp: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))


class RegistryAnchor(SQLModel, table=True):
    """One Anchored event (any issuer, any node). CredentialAnchor 2 keys anchors by (issuer, root): two issuers
    may anchor the same root, each in its own namespace."""

    __tablename__ = "registry_anchor"
    __table_args__ = (
        sa.UniqueConstraint("issuer", "root", name="uq_registry_anchor_issuer_root"),
        sa.Index("ix_registry_anchor_issuer_block", "issuer", "block_number"),
        sa.Index("ix_registry_anchor_block", "block_number"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    root: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    issuer: str = Field(sa_column=sa.Column(sa.String(42), nullable=False))
    #: any uint64 (CredentialAnchor accepts 1 .. 2**64-1)
    leaf_count: int = Field(sa_column=sa.Column(Uint64(), nullable=False))
    block_number: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    block_hash: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    tx_hash: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    log_index: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    timestamp: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))


class RegistryCredentialStatus(SQLModel, table=True):
    """One CredentialStatusChanged event (revocations and suspensions, any issuer)."""

    __tablename__ = "registry_credential_status"
    __table_args__ = (
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_registry_credential_status_tx_log"),
        sa.Index("ix_registry_credential_status_digest", "digest", "block_number"),
        sa.Index("ix_registry_credential_status_block", "block_number"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    root: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    digest: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    issuer: str = Field(sa_column=sa.Column(sa.String(42), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # valid | suspended | revoked
    reason: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    block_number: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    block_hash: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    tx_hash: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    log_index: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    timestamp: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))


class IndexedBlock(SQLModel, table=True):
    """Hash of every block the indexer relied on (each range end and each block with an event):
    the checkpoints against which re-orgs are detected."""

    __tablename__ = "registry_indexed_block"

    block_number: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    block_hash: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    timestamp: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))


class IndexerCursor(SQLModel, table=True):
    """Where the indexer stopped: the last block fully indexed (one row per chain + contract pair)."""

    __tablename__ = "registry_indexer_cursor"

    name: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    chain_id: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    last_block: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    last_block_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(66), nullable=True))
    reorgs: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="0"))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))


class AccreditationDocument(SQLModel, table=True):
    """An accreditation document (JSON) held by this node; its keccak256(JCS) is the on-chain documentHash."""

    __tablename__ = "accreditation_document"
    __table_args__ = (
        sa.UniqueConstraint("address", "document_hash", name="uq_accreditation_document_address_hash"),
        sa.Index("ix_accreditation_document_hash", "document_hash"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    address: str = Field(sa_column=sa.Column(sa.String(42), nullable=False))
    document_hash: str = Field(sa_column=sa.Column(sa.String(66), nullable=False))
    #: the document as submitted (UTF-8 JSON text); re-hashed on every verification
    document: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
