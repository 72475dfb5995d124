"""wallet: OpenID4VCI offers, access tokens, c_nonces and deferred transactions (node.wallet)

Only sha256 hashes of codes, tokens, nonces and transaction ids are stored.

Revision ID: 0008_wallet
Revises: 0007_learners
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_wallet"
down_revision = "0007_learners"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "wallet_offer",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("issuer_id", BigId, sa.ForeignKey("issuer.id"), nullable=False),
        sa.Column("credential_id", BigId, sa.ForeignKey("credential.id"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("tx_code_hash", sa.String(64), nullable=True),
        sa.Column("configurations", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_wallet_offer_issuer_id", "wallet_offer", ["issuer_id"])
    op.create_index("ix_wallet_offer_credential_id", "wallet_offer", ["credential_id"])
    op.create_table(
        "wallet_token",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("offer_id", BigId, sa.ForeignKey("wallet_offer.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_wallet_token_offer_id", "wallet_token", ["offer_id"])
    op.create_table(
        "wallet_nonce",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("nonce_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_wallet_nonce_expires_at", "wallet_nonce", ["expires_at"])
    op.create_table(
        "wallet_deferred",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("token_id", BigId, sa.ForeignKey("wallet_token.id"), nullable=False),
        sa.Column("transaction_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("configuration", sa.String(100), nullable=False),
        sa.Column("holder_jwk", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_wallet_deferred_token_id", "wallet_deferred", ["token_id"])


def downgrade() -> None:
    for table in ("wallet_deferred", "wallet_nonce", "wallet_token", "wallet_offer"):
        op.drop_table(table)
