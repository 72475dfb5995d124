"""Accreditation documents: the JSON an accreditor holds about an entry it accredits.

The chain stores only ``documentHash = keccak256(JCS(document))`` (RFC 8785 canonical form, the same
canonicaliser as credentials). The node stores the document itself so anyone can fetch it and check it
against the chain. A document looks like::

    {
      "type": "credreg-accreditation/1",
      "subject": {"address": "0x...", "did": "did:web:uni.example", "kind": "ti", "name": "Example University"},
      "accreditor": {"address": "0x...", "did": "did:web:qa.example"},
      "scope": {"credentialTypes": ["MicroCredential"], "eqfLevels": [5, 6, 7], "jurisdiction": "NL"},
      "validity": {"from": "2026-01-01T00:00:00Z", "until": "2031-01-01T00:00:00Z"},
      "policy": "https://qa.example/policy/2026"
    }

Only "it is a JSON object" is required; the fields above are checked when present.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col
from web3 import Web3

from anchoring.scheme.encoding import to_hex
from anchoring.scheme.jcs import canonicalize
from anchoring.scheme.keccak import keccak256
from anchoring.scheme.strict_json import DuplicateKey, no_duplicate_keys
from node.storage.registry_tables import AccreditationDocument

__all__ = [
    "DocumentCheck",
    "DocumentError",
    "check_document",
    "country_of_scope",
    "document_hash",
    "find_document",
    "load_document",
    "organisation_name",
    "scope_text",
    "scope_words",
    "store_document",
]

KINDS = ("root-tao", "tao", "ti")


class DocumentError(ValueError):
    """The accreditation document or scope is not acceptable (message says what)."""


def load_document(text: str | bytes) -> dict:
    """Parse a document (JSON object, no duplicate keys) and check the well-known fields when present."""
    try:
        doc = json.loads(text, object_pairs_hook=no_duplicate_keys)
    except DuplicateKey as exc:
        raise DocumentError(f"duplicate key {exc.key!r}") from None
    except json.JSONDecodeError as exc:
        raise DocumentError(f"the accreditation document is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise DocumentError("the accreditation document must be a JSON object")
    subject = doc.get("subject")
    if subject is not None:
        if not isinstance(subject, dict):
            raise DocumentError("subject: expected an object")
        addr = subject.get("address")
        if addr is not None and (not isinstance(addr, str) or not Web3.is_address(addr)):
            raise DocumentError(f"subject.address: not an address: {addr!r}")
        kind = subject.get("kind")
        if kind is not None and kind not in KINDS:
            raise DocumentError(f"subject.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    if "scope" in doc and not isinstance(doc["scope"], (dict, str)):
        raise DocumentError("scope: expected an object (or a string)")
    try:
        canonicalize(doc)
    except ValueError as exc:
        raise DocumentError(f"the accreditation document cannot be canonicalised: {exc}") from None
    return doc


def document_hash(doc: dict) -> bytes:
    """keccak256 of the document's RFC 8785 canonical bytes: the on-chain ``documentHash``."""
    return keccak256(canonicalize(doc))


def scope_text(scope: Any) -> str:
    """The on-chain scope string: canonical (JCS) JSON for an object/array, the string itself otherwise."""
    if isinstance(scope, str):
        text = scope.strip()
        if text in ("", "*"):
            return text
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise DocumentError(f"--scope is not JSON: {text[:80]!r}") from None
        return scope_text(value)
    if isinstance(scope, dict):
        return canonicalize(scope).decode()
    if isinstance(scope, list):
        return canonicalize({"_": scope}).decode()[5:-1]
    raise DocumentError("scope must be a JSON object")


def country_of_scope(scope: str | None) -> str | None:
    """Country from a scope's ``jurisdiction`` or ``country`` field (first one if a list), upper-cased."""
    if not scope:
        return None
    try:
        value = json.loads(scope)
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(value, dict):
        return None
    for key in ("jurisdiction", "country"):
        v = value.get(key)
        if isinstance(v, list) and v:
            v = v[0]
        if isinstance(v, str) and v.strip():
            return v.strip().upper()[:64]
    return None


def store_document(session: Session, address: str, text: str | bytes) -> AccreditationDocument:
    """Store the document for ``address`` (idempotent per address and hash). Caller commits."""
    raw = text.decode() if isinstance(text, bytes) else text
    doc = load_document(raw)
    digest = to_hex(document_hash(doc))
    address = Web3.to_checksum_address(address)
    t = AccreditationDocument
    existing = (
        session.execute(sa.select(t).where(col(t.address) == address, col(t.document_hash) == digest))
        .scalars()
        .first()
    )
    if existing is not None:
        return existing
    row = AccreditationDocument(address=address, document_hash=digest, document=raw)
    session.add(row)
    session.flush()
    return row


def find_document(
    session: Session, address: str, wanted_hash: str | None = None
) -> AccreditationDocument | None:
    """The document stored for ``address``: the one with ``wanted_hash`` if any, else the newest."""
    address = Web3.to_checksum_address(address)
    t = AccreditationDocument
    if wanted_hash:
        row = (
            session.execute(
                sa.select(t).where(col(t.address) == address, col(t.document_hash) == wanted_hash.lower())
            )
            .scalars()
            .first()
        )
        if row is not None:
            return row
    return (
        session.execute(sa.select(t).where(col(t.address) == address).order_by(col(t.id).desc()))
        .scalars()
        .first()
    )


@dataclass(frozen=True)
class DocumentCheck:
    """Result of checking the stored document of an issuer against the on-chain hash."""

    result: str  # pass | fail | missing
    reason: str
    onchain_hash: str
    stored_hash: str | None = None
    recomputed_hash: str | None = None


def check_document(session: Session, address: str, onchain_hash: str) -> DocumentCheck:
    """Re-hash the stored document (never trust the stored hash column) and compare with the chain."""
    onchain_hash = onchain_hash.lower()
    row = find_document(session, address, onchain_hash)
    if row is None:
        return DocumentCheck(
            "missing", "this node holds no accreditation document for the issuer", onchain_hash
        )
    try:
        recomputed = to_hex(document_hash(load_document(row.document)))
    except DocumentError as exc:
        return DocumentCheck(
            "fail", f"the stored document is unreadable: {exc}", onchain_hash, row.document_hash
        )
    if recomputed != onchain_hash:
        return DocumentCheck(
            "fail",
            f"the stored document hashes to {recomputed}, the chain records {onchain_hash}",
            onchain_hash,
            row.document_hash,
            recomputed,
        )
    return DocumentCheck(
        "pass",
        "the stored document matches the on-chain documentHash",
        onchain_hash,
        row.document_hash,
        recomputed,
    )


def organisation_name(session: Session, address: str, wanted_hash: str | None = None) -> str | None:
    """The organisation's name as its accreditation document gives it (``subject.name``), None without one."""
    row = find_document(session, address, wanted_hash)
    if row is None:
        return None
    try:
        doc = json.loads(row.document)
    except ValueError:
        return None
    subject = doc.get("subject") if isinstance(doc, dict) else None
    name = subject.get("name") if isinstance(subject, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else None


def _words(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_words(v)}" for k, v in value.items())
    return str(value)


def scope_words(scope: str | None) -> str:
    """An entry's scope in words: ``MicroCredential credentials, EQF levels 5, 6 and 7, in NL``."""
    text = (scope or "").strip()
    if text == "":
        return "no scope stated"
    if text == "*":
        return "any credential"
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if not isinstance(value, dict):
        return _words(value)
    parts: list[str] = []
    rest = dict(value)
    types = rest.pop("credentialTypes", None)
    if types:
        parts.append(f"{_words(types)} credentials")
    levels = rest.pop("eqfLevels", None)
    if isinstance(levels, list) and levels:
        shown = [str(x) for x in levels]
        many = f"EQF levels {', '.join(shown[:-1])} and {shown[-1]}"
        parts.append(many if len(shown) > 1 else f"EQF level {shown[0]}")
    elif levels is not None:
        parts.append(f"EQF level {_words(levels)}")
    where = rest.pop("jurisdiction", None) or rest.pop("country", None)
    if where:
        parts.append(f"in {_words(where)}")
    parts.extend(f"{k}: {_words(v)}" for k, v in rest.items())
    return ", ".join(parts) or "no scope stated"
