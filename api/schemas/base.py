"""The base of every wire model: snake_case attributes, camelCase JSON, built from the node's dataclasses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel

__all__ = ["IsoTime", "WireModel"]


class WireModel(BaseModel):
    """``leaf_index`` is ``leafIndex`` on the wire; ``Model.model_validate(node_value)`` reads attributes."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


def _iso_millis(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds") + "Z"


#: a naive UTC datetime of the node's tables, on the wire as ``2026-01-31T12:00:00.000Z``
IsoTime = Annotated[datetime, PlainSerializer(_iso_millis, return_type=str)]
