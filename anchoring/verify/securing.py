"""How a credential is secured, as the verifier's signature and status checks read it: Data Integrity proofs
(one or a set) on a JSON credential, a VC-JWT (compact, or enveloped in an ``EnvelopedVerifiableCredential``),
an SD-JWT (recognised, not verified), or nothing. :func:`verify_signatures` checks every proof with one
resolver and returns one :class:`SignatureResult` per proof, whatever the mechanism."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from anchoring.errors import FormatError
from anchoring.signing.dataintegrity import proofs_of, verify_proofs
from anchoring.signing.did import KeyResolver, VerificationMethod
from anchoring.signing.vcjwt import decode_vc_jwt, is_compact_jws, unenvelope, verify_vc_jwt

__all__ = [
    "DATA_INTEGRITY",
    "SD_JWT",
    "UNSIGNED",
    "VC_JWT",
    "Secured",
    "SignatureResult",
    "secured_form",
    "verify_signatures",
]

DATA_INTEGRITY, VC_JWT, SD_JWT, UNSIGNED = "data-integrity", "vc-jwt", "sd-jwt", "unsigned"


@dataclass
class SignatureResult:
    """One proof's verification (a Data Integrity proof of a set, or the JWS of a VC-JWT)."""

    label: str  # "proof[0] (eddsa-rdfc-2022)", "VC-JWT (EdDSA)"
    verification_method: str
    valid: bool
    error: bool
    reason: str
    method: VerificationMethod | None = None

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "proof": self.label,
            "verification_method": self.verification_method,
            "valid": self.valid,
            "reason": self.reason,
        }
        if self.method is not None:
            out["key"] = self.method.public_key.multibase
            out["key_source"] = self.method.source
        return out


@dataclass
class Secured:
    """A credential and how it is secured. ``credential`` is the VC's JSON (a VC-JWT's payload); ``token`` the
    compact serialisation when there is one."""

    form: str  # data-integrity | vc-jwt | sd-jwt | unsigned
    credential: dict[str, Any] | None
    token: str | None = None
    problem: str | None = None  # why the credential could not be read (a FormatError's text)
    results: list[SignatureResult] = field(default_factory=list)

    @property
    def mechanism(self) -> str:
        if self.form == DATA_INTEGRITY and self.credential is not None:
            suites = sorted({str(p.get("cryptosuite")) for p in proofs_of(self.credential)})
            return "Data Integrity " + ", ".join(suites)
        return {VC_JWT: "VC-JWT", SD_JWT: "SD-JWT", UNSIGNED: "none"}.get(self.form, self.form)


def secured_form(credential: Any) -> Secured:
    """Classify a credential as held (a JSON object or a compact string)."""
    if isinstance(credential, str):
        text = credential.strip()
        if "~" in text:
            return Secured(SD_JWT, None, text)
        if not is_compact_jws(text):
            return Secured(
                UNSIGNED, None, text, problem="neither a JSON credential nor a compact JWS (VC-JWT)"
            )
        try:
            _, payload = decode_vc_jwt(text)
        except FormatError as exc:
            return Secured(VC_JWT, None, text, problem=str(exc))
        return Secured(VC_JWT, payload, text)
    if not isinstance(credential, dict):
        return Secured(UNSIGNED, None, problem="a credential is a JSON object or a compact string")
    token = unenvelope(credential)
    if token is not None:
        inner = secured_form(token)
        return inner
    try:
        has_proof = bool(proofs_of(credential))
    except FormatError as exc:
        return Secured(DATA_INTEGRITY, credential, problem=str(exc))
    return Secured(DATA_INTEGRITY if has_proof else UNSIGNED, credential)


def verify_signatures(
    secured: Secured, resolver: KeyResolver, contexts: Mapping[str, Any] | None = None
) -> list[SignatureResult]:
    """Verify every proof of `secured` (stored on it too); empty for unsigned and SD-JWT credentials."""
    results: list[SignatureResult] = []
    if secured.form == DATA_INTEGRITY and secured.credential is not None and secured.problem is None:
        results = [
            SignatureResult(
                f"proof[{check.index}] ({check.cryptosuite})",
                check.verification_method,
                check.valid,
                check.error,
                check.reason,
                check.method,
            )
            for check in verify_proofs(secured.credential, resolver, contexts=contexts)
        ]
    elif secured.form == VC_JWT and secured.token is not None and secured.problem is None:
        jwt = verify_vc_jwt(secured.token, resolver)
        results.append(
            SignatureResult(
                f"VC-JWT ({jwt.algorithm})",
                jwt.method.id if jwt.method is not None else str(jwt.kid),
                jwt.valid,
                jwt.error,
                jwt.reason,
                jwt.method,
            )
        )
    secured.results = results
    return results
