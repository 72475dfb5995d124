"""trust: registry reason texts, uint64 leaf counts, anchors keyed by (issuer, root), failed batches recoverable

* ``registry_event.reason``: the reason text IssuerRegistry 2 emits in IssuerStatusChanged (beside its hash).
* ``registry_anchor.leaf_count``: BIGINT is signed, CredentialAnchor accepts any uint64 leaf count; one anchor
  with leafCount >= 2**63 stalled every indexer (SQLite OverflowError, PostgreSQL "bigint out of range").
  PostgreSQL: NUMERIC(20, 0); SQLite: VARCHAR(20) (TEXT affinity keeps every digit), see node.storage.models.Uint64.
* ``registry_anchor``: unique (issuer, root) instead of unique (root): CredentialAnchor 2 lets two issuers anchor
  the same root, each in its own namespace; the old constraint stalled the indexer on the second one.
* ``batch.error_code`` (the custom error of the last failure), ``batch.nonce_leaf`` (the extra leaf of a batch
  re-sealed from a failed one), ``batch.superseded_by`` (a re-sealed batch: where its credentials went).

Downgrade refuses when an anchor's leaf count does not fit a BIGINT (it would have to drop indexed rows), or two
issuers anchored the same root.

Revision ID: 0005_trust
Revises: 0004_outbox
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_trust"
down_revision = "0004_outbox"
branch_labels = None
depends_on = None


def _uint64(dialect: str):
    return sa.String(20) if dialect == "sqlite" else sa.Numeric(20, 0)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("registry_event", sa.Column("reason", sa.Text(), nullable=True))
    with op.batch_alter_table("registry_anchor") as batch:
        batch.drop_constraint("uq_registry_anchor_root", type_="unique")
        batch.create_unique_constraint("uq_registry_anchor_issuer_root", ["issuer", "root"])
        batch.alter_column(
            "leaf_count",
            existing_type=sa.BigInteger(),
            type_=_uint64(dialect),
            existing_nullable=False,
            postgresql_using="leaf_count::numeric(20,0)",
        )
    op.add_column("batch", sa.Column("error_code", sa.String(64), nullable=True))
    op.add_column("batch", sa.Column("nonce_leaf", sa.String(66), nullable=True))
    op.add_column("batch", sa.Column("superseded_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    too_large = bind.execute(
        sa.text("SELECT count(*) FROM registry_anchor WHERE CAST(leaf_count AS NUMERIC) > 9223372036854775807")
    ).scalar()
    if too_large:
        raise RuntimeError(
            f"{too_large} indexed anchors have a leaf count above 2**63-1, which a BIGINT cannot hold: "
            "downgrading would lose them"
        )
    shared = bind.execute(
        sa.text("SELECT count(*) FROM (SELECT root FROM registry_anchor GROUP BY root HAVING count(*) > 1) s")
    ).scalar()
    if shared:
        raise RuntimeError(f"{shared} roots are anchored by more than one issuer: unique (root) cannot hold")
    op.drop_column("batch", "superseded_by")
    op.drop_column("batch", "nonce_leaf")
    op.drop_column("batch", "error_code")
    with op.batch_alter_table("registry_anchor") as batch:
        batch.alter_column(
            "leaf_count",
            existing_type=_uint64(dialect),
            type_=sa.BigInteger(),
            existing_nullable=False,
            postgresql_using="leaf_count::bigint",
        )
        batch.drop_constraint("uq_registry_anchor_issuer_root", type_="unique")
        batch.create_unique_constraint("uq_registry_anchor_root", ["root"])
    op.drop_column("registry_event", "reason")
