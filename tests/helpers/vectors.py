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


def vc2_credential(issuer: str, **extra: Any) -> dict[str, Any]:
    """A small VC 2.0 / OB 3.0-shaped credential from `issuer`, valid since 2025."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:2b1bd7a2-4b1f-4c61-9d5e-3a4fd4b6a001",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "name": "Dev University"},
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner-1", "achievement": {"name": "Course 1"}},
        **extra,
    }
