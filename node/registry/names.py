"""Organisation names from the registry index, as verify reports show them, cached for the process: one database
read per issuer per ``ttl`` seconds instead of one per verify request (it was 40 % of a single-bundle verify once
the chain reads were shared, node.verifier_chain)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from cachetools import TTLCache
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from anchoring.verify.blocking import may_block
from node.registry.accreditation import organisation_name

__all__ = ["OrganisationNames"]


class OrganisationNames:
    """``names(address)``: the accreditation document's organisation name, or None (no document, no registry
    index on this node's database, or not an address)."""

    def __init__(self, factory: Callable[[], Session], ttl: float = 10.0, size: int = 4096) -> None:
        self._factory = factory
        self._cache: TTLCache[str, str | None] = TTLCache(maxsize=size, ttl=ttl)
        self._lock = threading.Lock()  # TTLCache is not thread-safe

    def __call__(self, address: str) -> str | None:
        key = address.lower()
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        may_block()  # inside anchoring.verify.blocking.cache_only: the event loop may not read the database
        try:
            with self._factory() as session:
                name = organisation_name(session, address)
        except (ValueError, SQLAlchemyError):
            name = None
        with self._lock:
            self._cache[key] = name
        return name
