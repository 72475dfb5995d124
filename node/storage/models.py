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
from sqlalchemy.orm import deferred
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
    "Uint64",
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


class Uint64(sa.types.TypeDecorator):
    """An unsigned 64-bit integer (a Solidity ``uint64``: 0 .. 2**64-1) that fits on both databases.

    BIGINT is signed (at most 2**63-1): a value above it is an OverflowError in SQLite's driver and "bigint out
    of range" in PostgreSQL. PostgreSQL stores it as NUMERIC(20, 0) (exact; sums stay exact); SQLite as its
    decimal text in a VARCHAR(20) column (TEXT affinity keeps every digit: a NUMERIC column would turn values
    above 2**63-1 into 8-byte floats). Python sees ``int`` either way."""

    impl = sa.Numeric(20, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(20))
        return dialect.type_descriptor(sa.Numeric(20, 0))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        number = int(value)
        if not 0 <= number < 2**64:
            raise ValueError(f"{number} is not an unsigned 64-bit integer")
        return str(number) if dialect.name == "sqlite" else number

    def process_result_value(self, value, dialect):
        return None if value is None else int(value)


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
    failed = "failed"  # given up (last_error / error_code say why); `credreg batches retry` takes it on
    resealed = "resealed"  # its credentials moved to a new batch (superseded_by) with a fresh root; final


class TokenRole(enum.StrEnum):
    issuer = "issuer"  # issue credentials, read status and bundles of its issuer
    reader = "reader"  # read status and bundles of its issuer only


class Issuer(TableModel, table=True):
    __tablename__ = "issuer"

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, unique=True))
    address: str = Field(sa_column=sa.Column(sa.String(42), nullable=False, unique=True))
    did: str | None = Field(default=None, sa_column=sa.Column(sa.String(500), nullable=True))
    #: where the issuer's credential-signing keys live (node/auth/credential_keys.py): ``file:<path>`` (encrypted
    #: PKCS#8 PEM) or ``env:<VARIABLE>`` (a secretKeyMultibase); None = the issuer does not sign (salted-jcs)
    signing_key_ref: str | None = Field(default=None, sa_column=sa.Column(sa.String(1000), nullable=True))
    signing_key_p256_ref: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(1000), nullable=True)
    )
    #: the public halves (publicKeyMultibase), for DID documents without decrypting anything
    verification_key: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    verification_key_p256: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(200), nullable=True)
    )
    #: eddsa-jcs-2022 | eddsa-rdfc-2022 | vc-jwt; None = the node's default (CREDREG_DEFAULT_PROOF)
    default_proof: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    #: path of the issuer's own encrypted chain keystore; None: the node's configured key (when the address matches)
    keystore: str | None = Field(default=None, sa_column=sa.Column(sa.String(1000), nullable=True))
    #: the file holding that keystore's password (never the password); None: the node's configured password
    keystore_password_file: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(1000), nullable=True)
    )
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


#: the predicate of the partial indexes on pending credentials; queries state it with :data:`CREDENTIAL_PENDING`.
#: A credential is pending exactly while it is in no batch (sealing sets ``batch_id`` and ``status`` together, and
#: nothing clears ``batch_id`` again). The predicate names ``batch_id``, not ``status``, so that the last status
#: update (anchored) changes no indexed column: PostgreSQL can then write it as a HOT update, beside the old row
#: version on the same page, with no new entry in any of the table's indexes (migration 0014).
_PENDING_SQL = "batch_id IS NULL"


_BATCHED_SQL = "batch_id IS NOT NULL"


def _partial_index(name: str, predicate: str, *columns: str) -> sa.Index:
    """An index of the rows where ``predicate`` (SQL) holds, on both databases."""
    return sa.Index(name, *columns, postgresql_where=sa.text(predicate), sqlite_where=sa.text(predicate))


class Credential(TableModel, table=True):
    __tablename__ = "credential"
    __table_args__ = (
        sa.UniqueConstraint("issuer_id", "external_id", name="uq_credential_issuer_external_id"),
        sa.UniqueConstraint("issuer_id", "idempotency_key", name="uq_credential_issuer_idempotency_key"),
        # Only pending credentials are ever looked up by status (sealing picks them, metrics count them), so only
        # they are indexed by it: a row leaves these partial indexes when it is batched, and with the status in no
        # index or index predicate, the anchored update touches no index at all.
        _partial_index("ix_credential_unbatched_issuer_id", _PENDING_SQL, "issuer_id", "id"),
        _partial_index("ix_credential_unbatched_issuer_created", _PENDING_SQL, "issuer_id", "created_at"),
        # batched credentials by batch, the complement: no index holds a pending credential by its NULL batch_id,
        # so a planner whose statistics say few are pending cannot pick this one for `batch_id IS NULL` and walk
        # every pending row (seen: 0.96 s per probe with 584,000 pending), and an insert writes one index entry fewer
        _partial_index("ix_credential_batched_batch_id", _BATCHED_SQL, "batch_id"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    digest: str = Field(sa_column=sa.Column(sa.String(66), nullable=False, unique=True))
    salt: bytes = Field(sa_column=sa.Column(sa.LargeBinary(), nullable=False))
    #: the bundle's digestRule: None = salted-jcs (unsigned; salt holds 32 bytes), "jcs" (a Data Integrity
    #: signed credential, canonical = JCS of it, empty salt), "compact" (a VC-JWT, canonical = its UTF-8 bytes)
    digest_rule: str | None = Field(default=None, sa_column=sa.Column(sa.String(16), nullable=True))
    #: a credential the node signed: keccak256(JCS(the input)), 0x hex, what an idempotent replay compares
    input_digest: str | None = Field(default=None, sa_column=sa.Column(sa.String(66), nullable=True))
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
        default=None, sa_column=sa.Column(BigId, sa.ForeignKey("batch.id"), nullable=True)
    )
    leaf_index: int | None = Field(default=None, sa_column=sa.Column(sa.Integer(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    anchored_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))


#: pending credentials as the partial indexes' own predicate (``batch_id IS NULL``, see :data:`_PENDING_SQL`), with no
#: bound parameter: a partial index is only used where the query's own condition proves the index's predicate
#: (SQLite never proves it from a parameter; PostgreSQL not in generic plans)
CREDENTIAL_PENDING = Credential.__table__.c.batch_id.is_(None)


#: the serialised tree: a deferred column, loaded on first access (sealing, auditing); proofs read slices of it
#: in SQL (node.storage.trees.read_proof), so listing or checking batches never moves the blobs
_batch_tree = sa.Column("tree", sa.LargeBinary(), nullable=False)


#: the batch columns of a public proof, by batch id (migration 0015). SQLite stores a row's columns in order and
#: the ~100 KB tree blob before the anchor's columns: reading those from the row walks the blob's overflow pages
#: (~27 of them), which was 60 % of the proof query; the proof query reads them from this index instead
BATCH_PROOF_INDEX = "ix_batch_proof"
BATCH_PROOF_COLUMNS = (
    "id",
    "root",
    "size",
    "state",
    "chain_id",
    "contract_address",
    "tx_hash",
    "block_number",
    "block_hash",
    "block_timestamp",
    "confirmed_at",
    "confirmations",
)


class Batch(TableModel, table=True):
    __tablename__ = "batch"
    __table_args__ = (
        sa.Index("ix_batch_issuer_state_id", "issuer_id", "state", "id"),
        sa.Index(BATCH_PROOF_INDEX, *BATCH_PROOF_COLUMNS),
    )
    __mapper_args__: ClassVar[dict[str, object]] = {"properties": {"tree": deferred(_batch_tree)}}

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    issuer_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("issuer.id"), nullable=False))
    root: str = Field(sa_column=sa.Column(sa.String(66), nullable=False, unique=True))
    size: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    state: str = Field(default=BatchState.sealed.value, sa_column=sa.Column(sa.String(16), nullable=False))
    #: serialised tree (MerkleTree.to_bytes, deferred: see _batch_tree); answers every proof of the batch
    tree: bytes = Field(sa_column=_batch_tree)
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
    #: the contract's custom error of the last failure (NotActiveIssuer, InvalidAnchor...), None when not a revert
    error_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    #: a random extra leaf (0x hex) after the credentials' leaves, only in a batch re-sealed from a failed one:
    #: it gives the same credentials a fresh root. The tree has size leaves; size - 1 credentials then.
    nonce_leaf: str | None = Field(default=None, sa_column=sa.Column(sa.String(66), nullable=True))
    #: a re-sealed batch: the batch its credentials moved to
    superseded_by: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))
    confirmed_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))

    @property
    def credential_count(self) -> int:
        """Credentials in the batch: its leaves less the nonce leaf of a re-sealed batch."""
        return self.size - (1 if self.nonce_leaf else 0)
