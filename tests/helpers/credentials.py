"""Credential builders: small, unique on every call."""

from __future__ import annotations

import os

from node.dev.network import DEV_DIDS


def sample_credential(n: int, issuer_did: str = DEV_DIDS["issuer"], **extra) -> dict:
    """A small Open Badges 3.0 credential, unique on every call (random id)."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"urn:uuid:test-{os.urandom(8).hex()}-{n}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer_did, "name": "Dev University"},
        "validFrom": "2026-06-30T00:00:00Z",
        "credentialSubject": {"id": f"did:example:learner-{n}", "achievement": {"name": f"Course {n}"}},
        **extra,
    }


# ------------------------------------------------------------------------------------------ helpers
def credential(n: int = 0, issuer: object = DEV_DIDS["issuer"]) -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"urn:uuid:test-{n}-{os.urandom(4).hex()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Micro-credential {n}",
        "issuer": issuer,
        "validFrom": "2026-06-30T00:00:00Z",
        "credentialSubject": {"id": f"did:example:learner-{n}", "score": n},
    }


def cred(i: int) -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"urn:test:rev:{i}",
        "type": ["VerifiableCredential"],
        "credentialSubject": {"name": f"L{i}"},
    }
