"""Tables for what the learner gets: share links and the e-mail delivery queue.

* ``share_link``: one capability URL per row (``/s/<token>``). Only ``sha256(token)`` is stored; the token is 32
  random bytes (url-safe), shown once to the issuer. ``revoked_at`` / ``expires_at`` end it.
* ``mail_delivery``: the persisted retry queue of e-mails carrying a share link, one row per message, an
  idempotent state machine: ``pending -> sending -> sent`` (``failed`` after ``mail_max_attempts``, or when a
  send was interrupted and might have gone out: never sent twice). ``message_id`` is the RFC 5322 Message-ID of
  the delivery, fixed when the row is made. ``message`` holds the composed message (it carries the link) only
  until it is sent, then it is cleared.

Conventions as in ``node.storage.models`` (naive UTC timestamps).
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from node.storage.models import BigId, TableModel, utcnow

__all__ = ["DeliveryState", "MailDelivery", "ShareLink"]


class DeliveryState(enum.StrEnum):
    pending = "pending"  # waiting for (another) attempt at next_attempt_at
    sending = "sending"  # claimed by one worker (attempts counted); the SMTP transaction is under way
    sent = "sent"  # the SMTP server accepted it; final
    failed = "failed"  # given up (last_error says why); final


class ShareLink(TableModel, table=True):
    __tablename__ = "share_link"

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    credential_id: int = Field(
        sa_column=sa.Column(BigId, sa.ForeignKey("credential.id"), nullable=False, index=True)
    )
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    label: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))


class MailDelivery(TableModel, table=True):
    __tablename__ = "mail_delivery"
    __table_args__ = (sa.Index("ix_mail_delivery_state_next", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    share_link_id: int = Field(
        sa_column=sa.Column(BigId, sa.ForeignKey("share_link.id"), nullable=False, index=True)
    )
    recipient: str = Field(sa_column=sa.Column(sa.String(320), nullable=False))
    message_id: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, unique=True))
    #: the composed RFC 5322 message (it holds the share link); cleared once sent
    message: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary(), nullable=True))
    state: str = Field(
        default=DeliveryState.pending.value, sa_column=sa.Column(sa.String(16), nullable=False)
    )
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="0"))
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False)
    )
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))
