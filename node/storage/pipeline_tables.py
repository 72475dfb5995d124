"""The pipeline's own tables: leases (one per issuer chain key, plus the indexer's) and process heartbeats.

* ``pipeline_lease``: who may send transactions with a key. ``token`` (the fencing token) only ever grows: every
  takeover adds one, and every write-ahead row stores the token it was written under.
* ``pipeline_heartbeat``: one row per running pipeline process (``credreg pipeline``): when it last beat, and its
  last known view of the chain (head block, contract versions, the last error), so ``/readyz`` answers from the
  database without calling the chain.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from node.storage.models import TableModel

__all__ = ["EPOCH", "PipelineHeartbeat", "PipelineLease"]

#: the expiry of a lease nobody holds
EPOCH = datetime(1970, 1, 1)


class PipelineLease(TableModel, table=True):
    __tablename__ = "pipeline_lease"

    #: the lower-case chain key address for a signer lease, ``indexer`` for the indexer's
    name: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    holder: str | None = Field(default=None, sa_column=sa.Column(sa.String(128), nullable=True))
    token: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    expires_at: datetime = Field(default=EPOCH, sa_column=sa.Column(sa.DateTime(), nullable=False))
    acquired_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))
    renewed_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(), nullable=True))


class PipelineHeartbeat(TableModel, table=True):
    __tablename__ = "pipeline_heartbeat"

    holder: str = Field(sa_column=sa.Column(sa.String(128), primary_key=True))
    host: str = Field(sa_column=sa.Column(sa.String(255), nullable=False))
    pid: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    started_at: datetime = Field(sa_column=sa.Column(sa.DateTime(), nullable=False))
    beat_at: datetime = Field(sa_column=sa.Column(sa.DateTime(), nullable=False))
    #: {"chain": {"ok", "message", "block", "checked_at"}, "contracts": {...}, "loops": {name: last_error}}
    state: dict = Field(default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False))
