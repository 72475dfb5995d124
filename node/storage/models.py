"""Database tables (SQLModel). API request/response schemas live in ``api/``, not here.

Conventions:
* digests, roots, tx and block hashes: ``0x``-prefixed lower-case hex strings (66 chars);
  addresses: EIP-55 checksummed ``0x`` strings (42 chars). Hex keeps lookups, indexes and logs
  identical on SQLite and PostgreSQL.
* salts and canonical credential bytes: binary.
* timestamps: naive UTC (``utcnow()``); the API renders them with a ``Z``.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = [
    "ApiToken",
    "Batch",
    "BatchState",
    "Credential",
    "CredentialStatus",
    "Issuer",
    "TableModel",
    "TokenRole",
    "utcnow",
]

if TYPE_CHECKING:

    class TableModel(SQLModel):
        """What mypy sees as the base of our table models: SQLModel sets ``__table__`` on every
        ``table=True`` class but does not declare it, so Core code (``Credential.__table__.c.status``)
        would not type-check."""

        __table__: ClassVar[sa.Table]

else:
    # at run time the table models derive from SQLModel itself, exactly as before
    TableModel = SQLModel


# BIGINT on PostgreSQL, INTEGER (rowid alias, autoincrement) on SQLite.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class CredentialStatus(enum.StrEnum):
    pending = "pending"  # accepted, stored, waiting for a batch
    batched = "batched"  # in a sealed (or submitted) batch with a leaf index
    anchored = "anchored"  # its batch root is confirmed on chain


class BatchState(enum.StrEnum):
    sealed = "sealed"  # tree built, root stored, not yet sent
    submitted = "submitted"  # nonce + tx hash written (before broadcast), waiting for confirmations
    confirmed = "confirmed"  # enough confirmations
    failed = "failed"  # given up (last_error says why); credentials stay batched


class TokenRole(enum.StrEnum):
    issuer = "issuer"  # issue credentials, read status and bundles of its issuer
    reader = "reader"  # read status and bundles of its issuer only


class Issuer(TableModel, table=True):
    __tablename__ = "issuer"

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, unique=True))
    address: str = Field(sa_column=sa.Column(sa.String(42), nullable=False, unique=True))
    did: str | None = Field(default=None, sa_column=sa.Column(sa.String(500), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))


class ApiToken(TableModel, table=True):
    """Bearer tokens. Only ``sha256(token)`` is stored: tokens are 256-bit random strings, so a
    plain (unsalted, fast) hash is enough - there is nothing to brute-force."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    issuer_id: int = Field(
        sa_column=sa.Column(BigId, sa.ForeignKey("issuer.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    prefix: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    label: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    role: str = Field(default=TokenRole.issuer.value, sa_column=sa.Column(sa.String(16), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))


class Credential(TableModel, table=True):
    __tablename__ = "credential"
    __table_args__ = (
        sa.UniqueConstraint("issuer_id", "external_id", name="uq_credential_issuer_external_id"),
        sa.UniqueConstraint("issuer_id", "idempotency_key", name="uq_credential_issuer_idempotency_key"),
        sa.Index("ix_credential_issuer_status_id", "issuer_id", "status", "id"),
        sa.Index("ix_credential_status_issuer_created", "status", "issuer_id", "created_at"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    digest: str = Field(sa_column=sa.Column(sa.String(66), nullable=False, unique=True))
    salt: bytes = Field(sa_column=sa.Column(sa.LargeBinary(), nullable=False))
    canonical: bytes = Field(sa_column=sa.Column(sa.LargeBinary(), nullable=False))
    issuer_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("issuer.id"), nullable=False))
    #: the credential's own ``id`` field (idempotency: unique per issuer)
    external_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(500), nullable=True))
    #: Idempotency-Key header (bulk: ``<key>#<index>``), unique per issuer
    idempotency_key: str | None = Field(default=None, sa_column=sa.Column(sa.String(300), nullable=True))
    profile: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    status: str = Field(
        default=CredentialStatus.pending.value, sa_column=sa.Column(sa.String(16), nullable=False)
    )
    batch_id: int | None = Field(
        default=None, sa_column=sa.Column(BigId, sa.ForeignKey("batch.id"), nullable=True, index=True)
    )
    leaf_index: int | None = Field(default=None, sa_column=sa.Column(sa.Integer(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    anchored_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))


class Batch(TableModel, table=True):
    __tablename__ = "batch"
    __table_args__ = (sa.Index("ix_batch_issuer_state_id", "issuer_id", "state", "id"),)

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    issuer_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("issuer.id"), nullable=False))
    root: str = Field(sa_column=sa.Column(sa.String(66), nullable=False, unique=True))
    size: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    state: str = Field(default=BatchState.sealed.value, sa_column=sa.Column(sa.String(16), nullable=False))
    #: serialised tree (see node.batcher.dump_tree / load_tree); answers every proof of the batch
    tree: bytes = Field(sa_column=sa.Column(sa.LargeBinary(), nullable=False))
    chain_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    contract_address: str | None = Field(default=None, sa_column=sa.Column(sa.String(42), nullable=True))
    nonce: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    tx_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(66), nullable=True, index=True))
    block_number: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    block_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(66), nullable=True))
    #: the anchoring block's timestamp (Unix seconds, UTC): the bundle's anchor.anchoredAt
    block_timestamp: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    confirmations: int = Field(
        default=0, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="0")
    )
    gas_used: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="0"))
    #: the pipeline lease's fencing token when the transaction was written ahead (None: no lease)
    fence_token: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))
    confirmed_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))
