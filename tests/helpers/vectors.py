"""Published test vectors (tests/vectors/, sources in tests/vectors/SOURCES.md) and signing builders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers.paths import REPO

VECTORS = REPO / "tests" / "vectors"
DI = VECTORS / "vc-di-eddsa"
JOSE = VECTORS / "vc-jose-cose"
OB = VECTORS / "openbadges"
#: a context the node does not support, only the vc-di-eddsa "employ" vector needs
CITIZENSHIP_URL = "https://w3id.org/citizenship/v4rc1"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def read_text(path: Path) -> str:
    return path.read_text("utf-8")


def extra_contexts() -> dict[str, Any]:
    return {CITIZENSHIP_URL: read_json(VECTORS / "contexts" / "citizenship-v4rc1.jsonld")}


OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def vc2_credential(issuer: str, n: int = 1, **extra: Any) -> dict[str, Any]:
    """A small Open Badges 3.0 credential (VC 2.0 + OB 3.0.3 contexts, every term defined) from `issuer`,
    valid since 2025."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", OB_CONTEXT],
        "id": f"urn:uuid:2b1bd7a2-4b1f-4c61-9d5e-{n:012d}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Dev University"},
        "validFrom": "2025-01-01T00:00:00Z",
        "name": f"Course {n}",
        "credentialSubject": {
            "id": f"did:example:learner-{n}",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": f"urn:uuid:7d3c5e7a-0c1b-4f8e-9a55-{n:012d}",
                "type": ["Achievement"],
                "name": f"Course {n}",
                "description": "Completed the course.",
                "criteria": {"narrative": "Passed the final assessment."},
            },
        },
        **extra,
    }


def status_list_credential(
    url: str, issuer: str, purpose: str = "revocation", set_bits: tuple[int, ...] = ()
) -> dict:
    """An unsigned BitstringStatusListCredential of 131,072 entries with `set_bits` set (sign it yourself)."""
    from anchoring.statuslist import MIN_LIST_BITS, bitstring, encode_bits

    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": url + "#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode_bits(bitstring(MIN_LIST_BITS, set(set_bits))),
        },
    }


def status_entry(url: str, index: int, purpose: str = "revocation") -> dict:
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": url,
    }
