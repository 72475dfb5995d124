"""Sign at issuance, then anchor: what the accept step does to a credential before hashing it.

:class:`Issuing` is built once per request for the token's issuer. For each credential it

1. checks the W3C VC data model (:mod:`node.issuance.validation`) and binds the issuer (the token's DID; filled in
   when absent, a 422 naming both when another);
2. secures it with the requested proof (per issuer a default, per request ``?proof=``): ``eddsa-jcs-2022``
   (default), ``eddsa-rdfc-2022`` or ``vc-jwt`` (EdDSA; ``vc-jwt-es256`` with the issuer's P-256 key);
3. hashes the **signed** credential by its digest rule (docs/scheme.md §8.3): ``jcs`` =
   ``keccak256(JCS(signed credential))`` for Data Integrity, ``compact`` = ``keccak256(UTF-8(jwt))`` for a VC-JWT.
   No salt: the signature does its job, and a wallet holding the signed VC computes the same digest.

A credential that arrives already signed (a Data Integrity ``proof``, or a VC-JWT as an
``EnvelopedVerifiableCredential``) is anchored as it is when every proof verifies against one of the issuer's own
keys (did:key offline, did:web from the issuer's stored keys: never fetched). An issuer without a signing key
keeps the unsigned ``salted-jcs`` rule.

Idempotent replays compare ``keccak256(JCS(input))`` (the credential before signing, issuer bound), since a new
signature or status entry makes every signed copy different.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anchoring.errors import FormatError
from anchoring.scheme.digest import DigestRule, hash_credential
from anchoring.scheme.jcs import canonicalize
from anchoring.scheme.keccak import keccak256
from anchoring.signing import (
    CredentialSigner,
    DidResolver,
    KeyType,
    add_proof,
    did_web_document,
    proofs_of,
    sign_vc_jwt,
    unenvelope,
    verify_proofs,
    verify_vc_jwt,
)
from anchoring.signing.jsonld import UndefinedTerm, UnknownContext
from anchoring.signing.vcjwt import decode_vc_jwt
from node.auth.credential_keys import can_sign, load_credential_signer
from node.errors import Invalid
from node.issuance.validation import bind_issuer, check_credential
from node.settings import Settings
from node.storage.models import Issuer

__all__ = ["PROOF_TYPES", "Issuing", "Secured"]

#: what ``?proof=`` accepts
PROOF_TYPES = ("eddsa-jcs-2022", "eddsa-rdfc-2022", "vc-jwt", "vc-jwt-es256")


@dataclass(frozen=True, slots=True)
class Secured:
    """A credential ready to store: ``canonical`` is what the bundle carries (JCS bytes, or the JWT's UTF-8)."""

    canonical: bytes
    salt: bytes
    digest: bytes
    rule: DigestRule
    #: what an idempotent replay compares (the input's keccak for a node-signed credential, else canonical)
    compare: bytes
    #: keccak256(JCS(input)) for a credential the node signed; None otherwise
    input_digest: bytes | None = None


def _err(pointer: str, message: str) -> dict[str, Any]:
    return {"pointer": pointer, "field": ".".join(pointer.split("/")[1:]), "message": message}


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Issuing:
    issuer_did: str | None
    proof: str | None  # None: the issuer does not sign (salted-jcs)
    signer: CredentialSigner | None = field(default=None, repr=False)
    signer_p256: CredentialSigner | None = field(default=None, repr=False)
    own_keys: frozenset[str] = frozenset()
    resolver: DidResolver | None = field(default=None, repr=False)
    validate: bool = True
    #: BitstringStatusListEntry pairs (revocation, suspension) allocated for this request, one per credential
    status_entries: list[list[dict[str, Any]]] = field(default_factory=list, repr=False)

    @staticmethod
    def needs_status(credential: Any) -> bool:
        """A credential the node will sign and give status entries (not pre-signed, none of its own)."""
        return (
            isinstance(credential, dict)
            and "proof" not in credential
            and "credentialStatus" not in credential
            and unenvelope(credential) is None
        )

    @classmethod
    def for_issuer(cls, settings: Settings, issuer: Issuer, proof: str | None = None) -> Issuing:
        """The issuing context of `issuer`; `proof` overrides its default (422 when unknown or unusable)."""
        if proof is not None and proof not in PROOF_TYPES:
            raise Invalid(
                f"unknown proof type {proof!r}: one of {', '.join(PROOF_TYPES)}",
                [{"pointer": "", "field": "query.proof", "message": f"one of {', '.join(PROOF_TYPES)}"}],
                slug="unknown-proof-type",
                title="Unknown proof type",
            )
        if not can_sign(issuer):
            if proof is not None:
                raise Invalid(
                    f"issuer {issuer.name} has no credential-signing key: it cannot sign with {proof}",
                    [{"pointer": "", "field": "query.proof", "message": "the issuer has no signing key"}],
                    slug="issuer-cannot-sign",
                    title="Issuer cannot sign",
                )
            return cls(issuer.did, None, validate=settings.vc_validation == "strict")
        chosen = proof or issuer.default_proof or settings.default_proof
        signer = load_credential_signer(settings, issuer)
        p256 = None
        if issuer.signing_key_p256_ref:
            p256 = load_credential_signer(settings, issuer, KeyType.P256)
        if chosen == "vc-jwt-es256" and p256 is None:
            raise Invalid(
                f"issuer {issuer.name} has no P-256 key for vc-jwt-es256",
                [{"pointer": "", "field": "query.proof", "message": "the issuer has no P-256 key"}],
                slug="issuer-cannot-sign",
                title="Issuer cannot sign",
            )
        keys = {k for k in (issuer.verification_key, issuer.verification_key_p256) if k}
        resolver = DidResolver(fetch=None)
        if issuer.did and issuer.did.startswith("did:web:"):
            methods = [
                {
                    "id": s.verification_method,
                    "type": "Multikey",
                    "publicKeyMultibase": s.public_key_multibase,
                }
                for s in (signer, p256)
                if s is not None
            ]
            resolver.add_document(did_web_document(issuer.did, methods), source="node")
        return cls(
            issuer.did, chosen, signer, p256, frozenset(keys), resolver, settings.vc_validation == "strict"
        )

    # ------------------------------------------------------------------------------------------ steps
    def check(
        self, credential: dict[str, Any]
    ) -> tuple[dict[str, Any] | str, dict[str, Any], list[dict[str, Any]]]:
        """(what to secure: the credential, issuer bound, or a pre-signed VC-JWT's string; the credential's
        JSON, for its id and profile; the data model errors)."""
        token = unenvelope(credential)
        if not self.validate:
            return (token or credential), credential, []
        if token is not None:
            try:
                _, payload = decode_vc_jwt(token)
            except FormatError as exc:
                return (
                    credential,
                    credential,
                    [_err("/id", f"the enveloped VC-JWT cannot be read: {exc.reason}")],
                )
            payload = {
                k: v for k, v in payload.items() if k not in ("iss", "jti", "iat", "nbf", "exp", "sub")
            }
            return token, payload, check_credential(payload) + self._issuer_errors(payload)
        errors = check_credential(credential)
        if "proof" in credential:
            if not isinstance(credential["proof"], (dict, list)) or not proofs_of(credential):
                return (
                    credential,
                    credential,
                    [*errors, _err("/proof", "proof must be an object or an array")],
                )
            return credential, credential, errors + self._issuer_errors(credential)
        if self.issuer_did is None:
            return credential, credential, errors
        bound, mismatch = bind_issuer(credential, self.issuer_did)
        return bound, bound, errors + mismatch

    def _issuer_errors(self, credential: dict[str, Any]) -> list[dict[str, Any]]:
        if self.issuer_did is None:
            return []
        if "issuer" not in credential:
            return [
                _err(
                    "/issuer",
                    f"a signed credential must name its issuer ({self.issuer_did}); the node "
                    "cannot add it without breaking the signature",
                )
            ]
        return bind_issuer(credential, self.issuer_did)[1]

    def secure(self, held: dict[str, Any] | str) -> tuple[Secured | None, list[dict[str, Any]]]:
        """Sign (or, when already signed, verify) and hash; (None, errors) when it cannot be."""
        if isinstance(held, str):
            return self._presigned_jwt(held)
        if "proof" in held:
            return self._presigned(held)
        if self.proof is None or self.signer is None:
            hashed = hash_credential(held)
            return Secured(
                hashed.canonical, hashed.salt, hashed.digest, DigestRule.SALTED_JCS, hashed.canonical
            ), []
        input_digest = keccak256(canonicalize(held))
        if "credentialStatus" not in held and self.status_entries:
            held = {**held, "credentialStatus": self.status_entries.pop()}
        created = _now()
        try:
            if self.proof.startswith("vc-jwt"):
                signer = self.signer_p256 if self.proof == "vc-jwt-es256" else self.signer
                assert signer is not None  # for_issuer refused vc-jwt-es256 without a P-256 key
                token = sign_vc_jwt(held, signer, issued_at=int(time.time()))
                raw = token.encode("utf-8")
                return Secured(raw, b"", keccak256(raw), DigestRule.COMPACT, input_digest, input_digest), []
            signed = add_proof(held, self.signer, cryptosuite=self.proof, created=created)
        except UnknownContext as exc:
            return None, [
                _err("/@context", f"context {exc.url} is not one this node supports (never fetched)")
            ]
        except UndefinedTerm as exc:
            return None, [
                _err("", f"{self.proof} cannot sign terms no context defines: {', '.join(exc.terms)}")
            ]
        except FormatError as exc:
            return None, [_err("", f"cannot sign: {exc.reason}")]
        canonical = canonicalize(signed)
        return Secured(canonical, b"", keccak256(canonical), DigestRule.JCS, input_digest, input_digest), []

    def _own(self, method: Any) -> bool:
        return method is not None and method.public_key.multibase in self.own_keys

    def _presigned(self, held: dict[str, Any]) -> tuple[Secured | None, list[dict[str, Any]]]:
        resolver = self.resolver or DidResolver(fetch=None)
        try:
            checks = verify_proofs(held, resolver)
        except FormatError as exc:
            return None, [_err("/proof", f"the proof cannot be read: {exc.reason}")]
        bad = [c for c in checks if not c.valid or not self._own(c.method)]
        if not checks or bad:
            why = "; ".join(
                c.reason if not c.valid else f"signed by {c.verification_method}, not a key of this issuer"
                for c in bad
            )
            return None, [
                _err("/proof", f"the credential's proof does not verify against the issuer's keys: {why}")
            ]
        canonical = canonicalize(held)
        return Secured(canonical, b"", keccak256(canonical), DigestRule.JCS, canonical), []

    def _presigned_jwt(self, token: str) -> tuple[Secured | None, list[dict[str, Any]]]:
        check = verify_vc_jwt(token, self.resolver or DidResolver(fetch=None))
        if not check.valid or not self._own(check.method):
            why = check.reason if not check.valid else "signed by a key that is not this issuer's"
            return None, [_err("/id", f"the VC-JWT does not verify against the issuer's keys: {why}")]
        raw = token.encode("utf-8")
        return Secured(raw, b"", keccak256(raw), DigestRule.COMPACT, raw), []
