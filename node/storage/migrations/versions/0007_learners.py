"""learners: share links (capability URLs, token stored hashed) and the e-mail delivery queue

Revision ID: 0007_learners
Revises: 0006_signing
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_learners"
down_revision = "0006_signing"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "share_link",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("credential_id", BigId, sa.ForeignKey("credential.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_share_link_token_hash"),
    )
    op.create_index("ix_share_link_credential_id", "share_link", ["credential_id"])
    op.create_table(
        "mail_delivery",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("share_link_id", BigId, sa.ForeignKey("share_link.id"), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("message_id", name="uq_mail_delivery_message_id"),
    )
    op.create_index("ix_mail_delivery_share_link_id", "mail_delivery", ["share_link_id"])
    op.create_index("ix_mail_delivery_state_next", "mail_delivery", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("mail_delivery")
    op.drop_table("share_link")
