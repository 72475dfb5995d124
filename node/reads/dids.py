"""DID documents the node serves for its did:web issuers (path-based ``did:web:HOST:issuers:NAME`` at
``/issuers/NAME/did.json``, the host's own ``did:web:HOST`` at ``/.well-known/did.json``), from the public keys
stored on the issuer rows: nothing is decrypted to answer."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from anchoring.signing import KeyType, did_web_document, did_web_url
from node.auth.credential_keys import verification_method_id
from node.errors import NotFound
from node.storage.models import Issuer


def issuer_methods(issuer: Issuer) -> list[dict[str, Any]]:
    """The issuer's verification methods (Multikey) under its DID; [] without keys."""
    out: list[dict[str, Any]] = []
    did = issuer.did or ""
    for key, key_type in (
        (issuer.verification_key, KeyType.ED25519),
        (issuer.verification_key_p256, KeyType.P256),
    ):
        usable = did.startswith("did:web:") or (did.startswith("did:key:") and key_type == KeyType.ED25519)
        if key and usable:
            out.append(
                {
                    "id": verification_method_id(did, key, key_type),
                    "type": "Multikey",
                    "controller": did,
                    "publicKeyMultibase": key,
                }
            )
    return out


def _document(issuer: Issuer | None, what: str) -> dict[str, Any]:
    if (
        issuer is None
        or not issuer.did
        or not issuer.did.startswith("did:web:")
        or not issuer.verification_key
    ):
        raise NotFound(
            f"no did:web issuer with signing keys at {what}",
            [{"pointer": "", "field": "path", "message": "no such DID document"}],
        )
    return did_web_document(issuer.did, issuer_methods(issuer))


def issuer_did_document(session: Session, name: str) -> dict[str, Any]:
    """The document of issuer `name`, whose DID must be path-based ``did:web:HOST:issuers:NAME``."""
    issuer = session.exec(select(Issuer).where(Issuer.name == name)).first()
    did = issuer.did if issuer is not None else None
    if did and did.startswith("did:web:") and not did_web_url(did).endswith(f"/issuers/{name}/did.json"):
        issuer = None  # its did:web lives elsewhere: not this node's to answer
    return _document(issuer, f"/issuers/{name}/did.json")


def host_did_document(session: Session, host: str) -> dict[str, Any]:
    """The document of ``did:web:HOST`` (the port percent-encoded), when an issuer of this node has that DID."""
    did = "did:web:" + host.replace(":", "%3A")
    issuer = session.exec(select(Issuer).where(Issuer.did == did)).first()
    return _document(issuer, "/.well-known/did.json")
