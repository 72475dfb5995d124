"""Tables of OpenID4VCI issuance to wallets (``node.wallet``). Codes, tokens, nonces and transaction ids are
256-bit random strings; only their ``sha256`` (hex) is stored, as for API tokens (nothing to brute-force).

* ``wallet_offer``: one credential offer of one credential (pre-authorized code flow); ``tx_code_hash`` when a
  transaction code was sent to the learner; ``expires_at``; ``redeemed_at`` set once (codes are single use).
* ``wallet_token``: the access token a redeemed offer gave; ``expires_at``.
* ``wallet_nonce``: a ``c_nonce`` from the nonce endpoint; ``used_at`` set by the one proof that spends it.
* ``wallet_deferred``: a credential request answered with a ``transaction_id`` (the credential was not anchored
  yet), with the holder key the proof bound; ``issued_at`` once delivered (a transaction id is single use too).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from node.storage.models import BigId, TableModel, utcnow

__all__ = ["WalletDeferred", "WalletNonce", "WalletOffer", "WalletToken"]


class WalletOffer(TableModel, table=True):
    __tablename__ = "wallet_offer"

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    issuer_id: int = Field(sa_column=sa.Column(BigId, sa.ForeignKey("issuer.id"), nullable=False, index=True))
    credential_id: int = Field(
        sa_column=sa.Column(BigId, sa.ForeignKey("credential.id"), nullable=False, index=True)
    )
    code_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    tx_code_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    #: space-separated credential configuration ids the offer names
    configurations: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(sa.DateTime(), nullable=False))
    redeemed_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))
    #: wrong transaction codes so far; the offer is spent after settings.oid4vci_tx_code_attempts
    failed_attempts: int = Field(
        default=0, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="0")
    )


class WalletToken(TableModel, table=True):
    __tablename__ = "wallet_token"

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    offer_id: int = Field(
        sa_column=sa.Column(BigId, sa.ForeignKey("wallet_offer.id"), nullable=False, index=True)
    )
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(sa.DateTime(), nullable=False))


class WalletNonce(TableModel, table=True):
    __tablename__ = "wallet_nonce"

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    nonce_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(sa.DateTime(), nullable=False, index=True))
    used_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))


class WalletDeferred(TableModel, table=True):
    __tablename__ = "wallet_deferred"

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    token_id: int = Field(
        sa_column=sa.Column(BigId, sa.ForeignKey("wallet_token.id"), nullable=False, index=True)
    )
    transaction_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    configuration: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    #: the holder's public JWK (JSON) from the proof of possession
    holder_jwk: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(sa.DateTime(), nullable=False))
    issued_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))
