"""VC-JWT: W3C VC-JOSE-COSE 1.0 ``application/vc+jwt``, a credential secured as a compact JWS whose payload is
the credential itself. EdDSA (Ed25519) and ES256 (P-256); the enveloped form for JSON-LD containers.

    token = sign_vc_jwt(credential, signer)                 # header {alg, cty: vc, kid, typ: vc+jwt}
    check = verify_vc_jwt(token, DidResolver())
    check.valid, check.credential

Header and payload are serialised with JCS (sorted keys, no whitespace): deterministic bytes, which reproduce
the VC-JOSE-COSE test-suite vectors. Signing goes through ``CredentialSigner.sign`` (so an HSM signs), which
means the JWS *signing input* (``b64url(header) "." b64url(payload)``) is assembled here by hand (three lines);
verification and key import are ``joserfc``'s.

Verification refuses, as VC-JOSE-COSE requires: a ``typ`` other than ``vc+jwt``, a ``cty`` other than ``vc``,
``crit`` headers, the ``vc`` / ``vp`` claims of the old VC-JWT format, an ``iss`` that contradicts ``issuer``,
and a payload that is not a credential. Dates (``validFrom`` / ``validUntil`` / ``nbf`` / ``exp``) are the
verifier's validity-period check, not the signature's.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey

from anchoring.errors import FormatError, ResolutionError
from anchoring.scheme.jcs import canonicalize
from anchoring.scheme.strict_json import strict_loads
from anchoring.signing.b64url import b64url_decode, b64url_encode
from anchoring.signing.did import KeyResolver, ResolveFunction, VerificationMethod, as_resolve, did_of
from anchoring.signing.keys import CredentialSigner, KeyType

__all__ = [
    "ENVELOPED_TYPE",
    "MEDIA_TYPE",
    "JwtCheck",
    "decode_vc_jwt",
    "envelope",
    "is_compact_jws",
    "issuer_id",
    "sign_jws",
    "sign_vc_jwt",
    "unenvelope",
    "verify_vc_jwt",
]

MEDIA_TYPE = "application/vc+jwt"
ENVELOPED_TYPE = "EnvelopedVerifiableCredential"
_DATA_PREFIX = f"data:{MEDIA_TYPE},"
_ALGORITHMS = {KeyType.ED25519: "EdDSA", KeyType.P256: "ES256"}
#: algorithm -> the key type it needs ("Ed25519" is RFC 9864's fully specified name for EdDSA with Ed25519)
_ALG_KEY = {"EdDSA": KeyType.ED25519, "Ed25519": KeyType.ED25519, "ES256": KeyType.P256}
_FORBIDDEN_CLAIMS = ("vc", "vp")


def is_compact_jws(text: Any) -> bool:
    """True when `text` looks like a compact JWS (three base64url parts): a VC-JWT candidate."""
    if not isinstance(text, str):
        return False
    parts = text.strip().split(".")
    return len(parts) == 3 and all(parts[:2]) and all(c.isalnum() or c in "-_" for c in "".join(parts))


def issuer_id(credential: Any) -> str | None:
    """The credential's ``issuer`` (a string) or ``issuer.id``."""
    if not isinstance(credential, dict):
        return None
    issuer = credential.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, dict) and isinstance(issuer.get("id"), str):
        return str(issuer["id"])
    return None


def sign_jws(header: dict[str, Any], payload: dict[str, Any], signer: CredentialSigner) -> str:
    """A compact JWS of `payload` under `header` (both JCS-serialised), signed by `signer`."""
    if (
        header.get("alg") != _ALGORITHMS[signer.key_type]
        and _ALG_KEY.get(str(header.get("alg"))) != signer.key_type
    ):
        raise FormatError("alg", f"a {signer.key_type.value} key signs {_ALGORITHMS[signer.key_type]}")
    signing_input = b64url_encode(canonicalize(header)) + "." + b64url_encode(canonicalize(payload))
    return signing_input + "." + b64url_encode(signer.sign(signing_input.encode("ascii")))


def sign_vc_jwt(
    credential: dict[str, Any],
    signer: CredentialSigner,
    *,
    kid: str | None = None,
    issued_at: int | None = None,
    claims: dict[str, Any] | None = None,
) -> str:
    """The credential as an ``application/vc+jwt``: header ``{alg, cty: "vc", kid, typ: "vc+jwt"}`` (``kid``
    defaults to the signer's verification method), payload the credential plus ``iss`` (its issuer),
    ``jti`` (its id, when it has one) and ``iat`` (now, unless `issued_at`; ``issued_at=0`` leaves it out)
    and any extra `claims`. EdDSA for an Ed25519 key, ES256 for P-256."""
    if not isinstance(credential, dict):
        raise FormatError("", "a credential is a JSON object")
    if any(c in credential for c in _FORBIDDEN_CLAIMS):
        raise FormatError("vc", "a VC-JOSE-COSE credential has no vc / vp claims")
    header = {
        "alg": _ALGORITHMS[signer.key_type],
        "cty": "vc",
        "kid": kid or signer.verification_method,
        "typ": "vc+jwt",
    }
    payload = dict(credential)
    issuer = issuer_id(credential)
    if issuer is not None:
        payload.setdefault("iss", issuer)
    if isinstance(credential.get("id"), str):
        payload.setdefault("jti", credential["id"])
    if issued_at != 0:
        payload.setdefault("iat", int(time.time()) if issued_at is None else issued_at)
    payload.update(claims or {})
    return sign_jws(header, payload, signer)


def decode_vc_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of a compact JWS, *not* verified; FormatError when it is not a JWS of JSON objects."""
    if not isinstance(token, str):
        raise FormatError("credential", "a VC-JWT is a string")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise FormatError("credential", "a compact JWS has three dot-separated parts")
    out = []
    for part, what in zip(parts[:2], ("header", "payload"), strict=True):
        try:
            value = strict_loads(b64url_decode(part, f"JWS {what}"))
        except FormatError as exc:
            raise FormatError("credential", f"the JWS {what} is not JSON: {exc}") from None
        except (UnicodeDecodeError, ValueError):
            raise FormatError("credential", f"the JWS {what} is not JSON") from None
        if not isinstance(value, dict):
            raise FormatError("credential", f"the JWS {what} is not a JSON object")
        out.append(value)
    return out[0], out[1]


def envelope(token: str) -> dict[str, Any]:
    """The ``EnvelopedVerifiableCredential`` holding `token` (for a JSON-LD presentation or API)."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": _DATA_PREFIX + token,
        "type": ENVELOPED_TYPE,
    }


def unenvelope(obj: Any) -> str | None:
    """The VC-JWT inside an ``EnvelopedVerifiableCredential`` (``data:application/vc+jwt,…``), else None."""
    if not isinstance(obj, dict):
        return None
    types = obj.get("type")
    types = types if isinstance(types, list) else [types]
    ident = obj.get("id")
    if ENVELOPED_TYPE not in types or not isinstance(ident, str) or not ident.startswith(_DATA_PREFIX):
        return None
    return unquote(ident[len(_DATA_PREFIX) :])


@dataclass
class JwtCheck:
    """The verification of one VC-JWT; ``error`` when the key could not be resolved (undecided)."""

    valid: bool
    reason: str
    header: dict[str, Any] = field(default_factory=dict)
    credential: dict[str, Any] = field(default_factory=dict)
    kid: str | None = None
    method: VerificationMethod | None = None
    error: bool = False

    @property
    def algorithm(self) -> str | None:
        alg = self.header.get("alg")
        return alg if isinstance(alg, str) else None


def _candidates(kid: str | None, issuer: str | None) -> list[str]:
    if kid and kid.startswith("did:"):
        return [kid]
    base = did_of(issuer) if issuer else None
    if not kid:
        return [base] if base else []
    if kid.startswith("#"):
        return [base + kid] if base else [kid]
    out = [f"{base}#{kid}"] if base else []
    return [*out, kid]


def verify_vc_jwt(token: str, resolver: KeyResolver | ResolveFunction) -> JwtCheck:
    """Verify a VC-JWT: header rules, the key its ``kid`` names (absolute DID URL, ``#fragment`` of the
    issuer's DID, or an id tried as ``issuer#kid`` then as given), the signature (joserfc), payload rules.

    `resolver`: a :class:`KeyResolver` or a function from verification method id to VerificationMethod.
    Raises FormatError only when `token` is not a JWS at all."""
    header, payload = decode_vc_jwt(token)
    check = JwtCheck(
        False, "", header, payload, header.get("kid") if isinstance(header.get("kid"), str) else None
    )
    alg = header.get("alg")
    if alg not in _ALG_KEY:
        check.reason = f"unsupported alg {alg!r}: EdDSA, Ed25519 or ES256"
        return check
    if header.get("typ") not in (None, "vc+jwt", MEDIA_TYPE):
        check.reason = f"typ is {header.get('typ')!r}, a VC-JWT has typ vc+jwt"
        return check
    if header.get("cty") not in (None, "vc", "application/vc"):
        check.reason = f"cty is {header.get('cty')!r}, a VC-JWT has cty vc"
        return check
    if "crit" in header:
        check.reason = "crit headers are not supported"
        return check
    forbidden = [c for c in _FORBIDDEN_CLAIMS if c in payload]
    if forbidden:
        check.reason = (
            f"the payload carries the claims {', '.join(forbidden)}: VC-JOSE-COSE forbids the old vc/vp form"
        )
        return check
    types = payload.get("type")
    types = types if isinstance(types, list) else [types]
    if "@context" not in payload or "VerifiableCredential" not in types:
        check.reason = (
            "the payload is not a verifiable credential (no @context, or type lacks VerifiableCredential)"
        )
        return check
    issuer = issuer_id(payload)
    if "iss" in payload and issuer is not None and payload["iss"] != issuer:
        check.reason = f"iss {payload['iss']!r:.80} contradicts the credential's issuer {issuer!r:.80}"
        return check
    resolve = as_resolve(resolver)
    vm: VerificationMethod | None = None
    last: Exception | None = None
    for candidate in _candidates(check.kid, issuer):
        try:
            vm = resolve(candidate)
            break
        except (ResolutionError, FormatError) as exc:
            last = exc
    if vm is None:
        check.error = isinstance(last, ResolutionError) or last is None
        check.reason = (
            f"could not find the key {check.kid or '(no kid)'}: {last}"
            if last
            else "the JWS names no key (kid) and no issuer"
        )
        return check
    check.method = vm
    if vm.public_key.key_type != _ALG_KEY[str(alg)]:
        check.reason = (
            f"alg {alg} needs a {_ALG_KEY[str(alg)].value} key; {vm.id} is {vm.public_key.key_type.value}"
        )
        return check
    if vm.purposes is not None and "assertionMethod" not in vm.purposes:
        check.reason = f"{vm.controller}'s DID document does not list {vm.id} under assertionMethod"
        return check
    jwk: dict[str, str | list[str]] = dict(vm.public_key.jwk)
    key = OKPKey.import_key(jwk) if vm.public_key.key_type == KeyType.ED25519 else ECKey.import_key(jwk)
    try:
        with (
            warnings.catch_warnings()
        ):  # joserfc warns that "EdDSA" is deprecated by RFC 9864; we accept both
            warnings.simplefilter("ignore")
            jws.deserialize_compact(token.strip(), key, algorithms=[str(alg)])
    except JoseError as exc:
        check.reason = (
            f"the {alg} signature does not verify with {vm.id}: the credential was altered ({exc.error})"
        )
        return check
    check.valid = True
    check.reason = f"{alg} VC-JWT signature by {vm.id} verifies"
    return check
