"""Joint credentials: one credential issued together by several trusted issuers (Una Europa's joint micro-modules).

A joint credential names its co-issuers beside its ``issuer`` (the lead)::

    {"issuer": "did:web:uni-a.example", "jointIssuers": ["did:web:uni-a.example", "did:web:uni-b.example",
     "did:web:uni-c.example"], "jointThreshold": 2, ...}

* ``jointIssuers``: the co-issuers' DIDs (the lead is one of them; it is added when missing), 2 to 16 of them.
* ``jointThreshold`` (optional): how many of them must have taken part, ``k`` of ``n``; default all ``n``.

A co-issuer takes part by signing (its Data Integrity proof in the credential's proof set: every co-issuer
adds its proof with ``anchoring.signing.add_proof`` before anyone anchors, so the signed bytes and the digest are
the same for all) and by anchoring that digest under its own key (its node accepts the signed credential and
anchors it in one of its batches). The bundle carries one inclusion per co-issuer (``anchoring.bundle.v2.merge``).
The ``signature`` check binds a proof's key to each anchoring issuer; the ``joint`` check requires that at least
``k`` co-issuers anchored it while active trusted issuers, and names every one missing.

Use ``eddsa-jcs-2022`` (or a JSON-LD context defining the two terms: ``eddsa-rdfc-2022``'s safe mode refuses
undefined terms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anchoring.errors import FormatError

__all__ = ["MAX_CO_ISSUERS", "JointSpec", "joint_spec"]

MAX_CO_ISSUERS = 16  # a bundle carries at most 16 inclusions


@dataclass(frozen=True)
class JointSpec:
    issuers: tuple[str, ...]  # the co-issuers' DIDs, lead first
    threshold: int


def _lead(credential: dict[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, dict) and isinstance(issuer.get("id"), str):
        return str(issuer["id"])
    return None


def joint_spec(credential: Any) -> JointSpec | None:
    """The co-issuers a credential names (None: not a joint credential). FormatError on a malformed statement."""
    if not isinstance(credential, dict) or "jointIssuers" not in credential:
        return None
    raw = credential["jointIssuers"]
    if not isinstance(raw, list) or not all(isinstance(d, str) and d.startswith("did:") for d in raw):
        raise FormatError("jointIssuers", "expected a list of DIDs")
    lead = _lead(credential)
    ordered: list[str] = [lead] if lead else []
    ordered += [d for d in raw if d not in ordered]
    if not 2 <= len(ordered) <= MAX_CO_ISSUERS:
        raise FormatError(
            "jointIssuers", f"a joint credential names 2 to {MAX_CO_ISSUERS} co-issuers, not {len(ordered)}"
        )
    threshold = credential.get("jointThreshold", len(ordered))
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= len(ordered):
        raise FormatError(
            "jointThreshold", f"expected an integer from 1 to {len(ordered)}, got {threshold!r}"
        )
    return JointSpec(tuple(ordered), threshold)
