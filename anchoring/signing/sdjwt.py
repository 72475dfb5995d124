"""SD-JWT VC (IETF SD-JWT, RFC 9901, and SD-JWT-based Verifiable Credentials, ``typ: dc+sd-jwt``): issuing
with selectively disclosable top-level claims, presenting a chosen subset with a key-binding JWT, verifying.

    sd = issue_sd_jwt_vc(claims, signer, vct="https://…/microcredential", disclosable=["title", "level"],
                         holder_jwk=wallet_key.public_jwk)
    shown = present(sd, ["level"], holder=wallet_key, audience="https://employer.example", nonce="n-1")
    check = verify_sd_jwt_vc(shown, DidResolver(fetch=None), audience="https://employer.example", nonce="n-1")
    check.valid, check.disclosed            # {"level": …}; check.undisclosed == 1

Wire form: ``<issuer-signed JWT>~<disclosure>~…~<KB-JWT or empty>``. A disclosure is base64url(JSON
``[salt, name, value]``) with a 128-bit random salt; the issuer-signed payload lists base64url(SHA-256(ASCII
disclosure)) in ``_sd`` (sorted, with ``_sd_alg: sha-256``). Only top-level object claims are disclosable (an
element of the EU micro-credential is disclosed whole, nested values included); array-element disclosures are
refused by the verifier as unsupported rather than silently ignored.

Hand-written, and why: the reference implementation on PyPI (``sd-jwt``, openwallet-foundation-labs/sd-jwt-python
0.10) signs with a private ``jwcrypto`` JWK, so a key behind :class:`CredentialSigner` (an HSM) cannot issue
with it; its key-binding check is fixed to ES256, it checks neither ``iat`` / ``exp`` nor the SD-JWT VC header
(``typ``, ``vct``). The format is small (base64url, SHA-256, JSON arrays); the JWS signing input goes through
:func:`~anchoring.signing.vcjwt.sign_jws` like VC-JWT, and signatures are checked with :meth:`PublicKey.verify`.
Third-party conformance is judged in tests by the npm ``@sd-jwt/sd-jwt-vc`` library (both directions).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from anchoring.errors import FormatError, ResolutionError
from anchoring.scheme.strict_json import strict_loads
from anchoring.signing.b64url import b64url_decode, b64url_encode
from anchoring.signing.did import KeyResolver, ResolveFunction, VerificationMethod, as_resolve
from anchoring.signing.keys import CredentialSigner, KeyType, PublicKey, signer_controller
from anchoring.signing.vcjwt import sign_jws

__all__ = [
    "KB_JWT_TYP",
    "SD_JWT_VC_TYP",
    "Disclosure",
    "SdJwtCheck",
    "decode_jws",
    "is_sd_jwt",
    "issue_sd_jwt_vc",
    "parse_sd_jwt",
    "present",
    "sd_hash",
    "verify_jws",
    "verify_sd_jwt_vc",
]

SD_JWT_VC_TYP = "dc+sd-jwt"
#: the media type before the IETF draft 06 rename, still sent by some wallets
LEGACY_TYP = "vc+sd-jwt"
KB_JWT_TYP = "kb+jwt"
_ALGORITHMS = {KeyType.ED25519: "EdDSA", KeyType.P256: "ES256"}
_ALG_KEY = {"EdDSA": KeyType.ED25519, "Ed25519": KeyType.ED25519, "ES256": KeyType.P256}
#: claims that are never selectively disclosable (SD-JWT VC section 3.2.2.2)
NEVER_DISCLOSABLE = frozenset({"iss", "nbf", "exp", "cnf", "vct", "status", "_sd", "_sd_alg", "..."})


def _hash(text: str) -> str:
    return b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


@dataclass(frozen=True)
class Disclosure:
    """One disclosure: ``[salt, name, value]`` and its encoded form."""

    salt: str
    name: str
    value: Any
    encoded: str

    @classmethod
    def make(cls, name: str, value: Any, salt: str | None = None) -> Disclosure:
        salt = salt or b64url_encode(secrets.token_bytes(16))
        encoded = b64url_encode(json.dumps([salt, name, value], ensure_ascii=False).encode("utf-8"))
        return cls(salt, name, value, encoded)

    @classmethod
    def parse(cls, encoded: str) -> Disclosure:
        raw = b64url_decode(encoded, "disclosure")
        try:
            value = strict_loads(raw)
        except (FormatError, UnicodeDecodeError, ValueError):
            raise FormatError("credential", "a disclosure is not JSON") from None
        if not isinstance(value, list) or len(value) not in (2, 3):
            raise FormatError("credential", "a disclosure is a JSON array [salt, name, value]")
        if len(value) == 2:
            raise FormatError("credential", "array-element disclosures are not supported")
        salt, name, claim = value
        if not isinstance(salt, str) or not isinstance(name, str):
            raise FormatError("credential", "a disclosure's salt and claim name are strings")
        return cls(salt, name, claim, encoded)

    @property
    def digest(self) -> str:
        """base64url(SHA-256(ASCII of the encoded disclosure)): what ``_sd`` lists."""
        return _hash(self.encoded)


def decode_jws(token: str, what: str = "JWS") -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, payload, signing input, signature) of a compact JWS, *not* verified."""
    parts = token.split(".")
    if len(parts) != 3:
        raise FormatError("credential", f"the {what} is not a compact JWS (three dot-separated parts)")
    out: list[dict[str, Any]] = []
    for part, name in zip(parts[:2], ("header", "payload"), strict=True):
        try:
            value = strict_loads(b64url_decode(part, f"{what} {name}"))
        except (FormatError, UnicodeDecodeError, ValueError) as exc:
            raise FormatError("credential", f"the {what} {name} is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise FormatError("credential", f"the {what} {name} is not a JSON object")
        out.append(value)
    signature = b64url_decode(parts[2], f"{what} signature") if parts[2] else b""
    return out[0], out[1], f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def verify_jws(header: dict[str, Any], signing_input: bytes, signature: bytes, key: PublicKey) -> str | None:
    """None when the JWS signature verifies with `key` under the header's alg; else the reason."""
    alg = header.get("alg")
    if alg not in _ALG_KEY:
        return f"unsupported alg {alg!r}: EdDSA, Ed25519 or ES256"
    if key.key_type != _ALG_KEY[str(alg)]:
        return f"alg {alg} needs a {_ALG_KEY[str(alg)].value} key, the key is {key.key_type.value}"
    return None if key.verify(signing_input, signature) else f"the {alg} signature does not verify"


def is_sd_jwt(text: Any) -> bool:
    """True when `text` looks like an SD-JWT (a compact JWS followed by ``~``-separated parts)."""
    if not isinstance(text, str) or "~" not in text:
        return False
    first = text.strip().split("~", 1)[0]
    return first.count(".") == 2 and all(c.isalnum() or c in "-_." for c in first)


def issue_sd_jwt_vc(
    claims: dict[str, Any],
    signer: CredentialSigner,
    *,
    vct: str,
    disclosable: Iterable[str] = (),
    holder_jwk: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    issuer: str | None = None,
    issued_at: int | None = None,
    expires_at: int | None = None,
    kid: str | None = None,
) -> str:
    """An SD-JWT VC (``typ: dc+sd-jwt``) of `claims`: the names in `disclosable` as disclosures, the rest
    plain; ``iss`` (default: the signer's DID), ``iat``, ``vct``, ``cnf.jwk`` (holder binding), ``status``,
    ``exp`` when given. Ends with ``~`` (no key binding: the issuer hands it to the holder)."""
    names = list(dict.fromkeys(disclosable))
    blocked = [n for n in names if n in NEVER_DISCLOSABLE]
    if blocked:
        raise FormatError(blocked[0], f"{blocked[0]} is never selectively disclosable")
    payload: dict[str, Any] = {k: v for k, v in claims.items() if k not in names}
    disclosures = [Disclosure.make(n, claims[n]) for n in names if n in claims]
    payload.update(
        {
            "iss": issuer or signer_controller(signer),
            "iat": int(time.time()) if issued_at is None else issued_at,
            "vct": vct,
            "_sd_alg": "sha-256",
            "_sd": sorted(d.digest for d in disclosures),
        }
    )
    if holder_jwk is not None:
        payload["cnf"] = {"jwk": dict(holder_jwk)}
    if status is not None:
        payload["status"] = status
    if expires_at is not None:
        payload["exp"] = expires_at
    header = {
        "alg": _ALGORITHMS[signer.key_type],
        "kid": kid or signer.verification_method,
        "typ": SD_JWT_VC_TYP,
    }
    jwt = sign_jws(header, payload, signer)
    return "~".join([jwt, *(d.encoded for d in disclosures), ""])


def parse_sd_jwt(text: str) -> tuple[str, list[Disclosure], str | None]:
    """(issuer-signed JWT, disclosures, KB-JWT or None) of an SD-JWT; FormatError when malformed."""
    if not isinstance(text, str) or "~" not in text:
        raise FormatError("credential", "an SD-JWT is a string of '~'-separated parts")
    parts = text.strip().split("~")
    jwt, middle, last = parts[0], parts[1:-1], parts[-1]
    if any(not p for p in middle):
        raise FormatError("credential", "an SD-JWT has an empty disclosure")
    return jwt, [Disclosure.parse(p) for p in middle], (last or None)


def sd_hash(text_without_kb: str) -> str:
    """The KB-JWT's ``sd_hash``: base64url(SHA-256) of the presentation up to and including the last ``~``."""
    return _hash(text_without_kb)


def present(
    sd_jwt: str,
    disclose: Sequence[str],
    *,
    holder: CredentialSigner | None = None,
    audience: str | None = None,
    nonce: str | None = None,
    issued_at: int | None = None,
) -> str:
    """A presentation of `sd_jwt` disclosing only the claims named in `disclose`; with `holder`, a key-binding
    JWT (``typ: kb+jwt``; ``iat``, ``aud``, ``nonce``, ``sd_hash``) signed by the holder's key."""
    jwt, disclosures, _ = parse_sd_jwt(sd_jwt)
    wanted = set(disclose)
    kept = [d.encoded for d in disclosures if d.name in wanted]
    body = "~".join([jwt, *kept, ""])
    if holder is None:
        return body
    header = {"alg": _ALGORITHMS[holder.key_type], "typ": KB_JWT_TYP}
    claims = {
        "iat": int(time.time()) if issued_at is None else issued_at,
        "aud": audience,
        "nonce": nonce,
        "sd_hash": sd_hash(body),
    }
    return body + sign_jws(header, {k: v for k, v in claims.items() if v is not None}, holder)


@dataclass
class SdJwtCheck:
    """The verification of one SD-JWT VC (presentation); ``error`` when the issuer key could not be resolved."""

    valid: bool
    reason: str
    header: dict[str, Any] = field(default_factory=dict)
    #: the issuer-signed payload as signed (``_sd`` digests, no disclosed values)
    payload: dict[str, Any] = field(default_factory=dict)
    #: claim name -> value, of the disclosures presented (in presentation order)
    disclosed: dict[str, Any] = field(default_factory=dict)
    #: ``_sd`` digests with no disclosure presented (withheld claims and decoys)
    undisclosed: int = 0
    #: None: no KB-JWT presented; True: verified; False: presented and failed (``reason`` says why)
    key_binding: bool | None = None
    kb_payload: dict[str, Any] = field(default_factory=dict)
    method: VerificationMethod | None = None
    error: bool = False
    #: the step that failed: format | signature | validity_period | disclosures | key_binding ("" when valid)
    failed: str = ""

    @property
    def claims(self) -> dict[str, Any]:
        """The processed SD-JWT: plain claims and disclosed ones, without ``_sd`` / ``_sd_alg``."""
        out = {k: v for k, v in self.payload.items() if k not in ("_sd", "_sd_alg")}
        out.update(self.disclosed)
        return out

    @property
    def vct(self) -> str | None:
        v = self.payload.get("vct")
        return v if isinstance(v, str) else None


def _candidates(kid: str | None, iss: str | None) -> list[str]:
    if kid and kid.startswith("did:"):
        return [kid]
    if iss and iss.startswith("did:"):
        if kid:
            return [iss + (kid if kid.startswith("#") else "#" + kid)]
        return [iss]
    return []


def verify_sd_jwt_vc(
    text: str,
    resolver: KeyResolver | ResolveFunction,
    *,
    audience: str | None = None,
    nonce: str | None = None,
    require_key_binding: bool = False,
    now: int | None = None,
    max_kb_age: int = 300,
    leeway: int = 60,
) -> SdJwtCheck:
    """Verify an SD-JWT VC: header (``typ dc+sd-jwt``), the issuer signature by the key its ``kid`` names
    (a DID URL, or a fragment of ``iss``), ``vct``, ``exp`` / ``nbf``, every disclosure listed in ``_sd`` once,
    and the key-binding JWT when present (signature by ``cnf.jwk``, ``typ``, ``sd_hash``, ``iat`` within
    `max_kb_age`, ``aud`` = `audience` and ``nonce`` = `nonce` when given). Status is the caller's check.

    Raises FormatError only when `text` is not an SD-JWT at all."""
    jwt, disclosures, kb = parse_sd_jwt(text)
    header, payload, signing_input, signature = decode_jws(jwt, "issuer-signed JWT")
    check = SdJwtCheck(False, "", header, payload)
    now = int(time.time()) if now is None else now
    if header.get("typ") not in (SD_JWT_VC_TYP, LEGACY_TYP):
        check.failed = "format"
        check.reason = f"typ is {header.get('typ')!r}, an SD-JWT VC has typ {SD_JWT_VC_TYP}"
        return check
    if "crit" in header:
        check.failed = "format"
        check.reason = "crit headers are not supported"
        return check
    if not isinstance(payload.get("vct"), str) or not payload["vct"]:
        check.failed = "format"
        check.reason = "the SD-JWT VC has no vct (credential type)"
        return check
    if payload.get("_sd_alg", "sha-256") != "sha-256":
        check.failed = "format"
        check.reason = f"_sd_alg {payload.get('_sd_alg')!r} is not supported (sha-256)"
        return check
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    iss = payload.get("iss") if isinstance(payload.get("iss"), str) else None
    resolve = as_resolve(resolver)
    vm: VerificationMethod | None = None
    last: Exception | None = None
    for candidate in _candidates(kid, iss):
        try:
            vm = resolve(candidate)
            break
        except (ResolutionError, FormatError) as exc:
            last = exc
    if vm is None:
        check.error = isinstance(last, ResolutionError) or last is None
        check.failed = "signature"
        check.reason = f"could not find the issuer key {kid or '(no kid)'}" + (f": {last}" if last else "")
        return check
    check.method = vm
    if vm.purposes is not None and "assertionMethod" not in vm.purposes:
        check.failed = "signature"
        check.reason = f"{vm.controller}'s DID document does not list {vm.id} under assertionMethod"
        return check
    if iss is not None and iss.startswith("did:") and vm.controller != iss:
        check.failed = "signature"
        check.reason = f"iss {iss:.80} is not the controller of the signing key {vm.id:.80}"
        return check
    bad = verify_jws(header, signing_input, signature, vm.public_key)
    if bad:
        check.failed = "signature"
        check.reason = f"{bad} with {vm.id}: the SD-JWT was altered or signed by another key"
        return check
    for name, late in (("exp", True), ("nbf", False)):
        value = payload.get(name)
        outside = isinstance(value, int) and (now > value + leeway if late else now + leeway < value)
        if value is not None and (not isinstance(value, int) or outside):
            check.failed = "validity_period"
            check.reason = f"{name} {value!r}: the credential is not valid now"
            return check
    digests = payload.get("_sd", [])
    if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
        check.failed = "disclosures"
        check.reason = "_sd is not a list of digests"
        return check
    listed = set(digests)
    seen: set[str] = set()
    for d in disclosures:
        if d.digest not in listed:
            check.failed = "disclosures"
            check.reason = f"the disclosure of {d.name!r} is not listed in _sd: added or altered"
            return check
        if d.digest in seen or d.name in check.disclosed:
            check.failed = "disclosures"
            check.reason = f"the claim {d.name!r} is disclosed twice"
            return check
        if d.name in NEVER_DISCLOSABLE or d.name in payload:
            check.failed = "disclosures"
            check.reason = f"the disclosed claim {d.name!r} clashes with a plain or reserved claim"
            return check
        seen.add(d.digest)
        check.disclosed[d.name] = d.value
    check.undisclosed = len(listed) - len(seen)
    if kb is None:
        if require_key_binding:
            check.failed = "key_binding"
            check.reason = "no key-binding JWT: the holder did not prove possession of the cnf key"
            return check
        check.valid = True
        check.reason = (
            f"SD-JWT VC signed by {vm.id}, {len(check.disclosed)} claim(s) disclosed, no key binding"
        )
        return check
    check.key_binding = False
    reason = _key_binding(check, text.strip()[: -len(kb)], kb, audience, nonce, now, max_kb_age, leeway)
    if reason:
        check.failed = "key_binding"
        check.reason = reason
        return check
    check.key_binding = True
    check.valid = True
    check.reason = (
        f"SD-JWT VC signed by {vm.id}, {len(check.disclosed)} claim(s) disclosed, key binding verified"
    )
    return check


def _key_binding(
    check: SdJwtCheck,
    body: str,
    kb: str,
    audience: str | None,
    nonce: str | None,
    now: int,
    max_age: int,
    leeway: int,
) -> str | None:
    cnf = check.payload.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        return "a key-binding JWT was presented but the SD-JWT has no cnf.jwk"
    try:
        holder = PublicKey.from_jwk(jwk, "cnf.jwk")
        header, claims, signing_input, signature = decode_jws(kb, "key-binding JWT")
    except FormatError as exc:
        return f"key binding: {exc}"
    check.kb_payload = claims
    if header.get("typ") != KB_JWT_TYP:
        return f"the key-binding JWT has typ {header.get('typ')!r}, not {KB_JWT_TYP}"
    bad = verify_jws(header, signing_input, signature, holder)
    if bad:
        return f"key binding: {bad} with the holder key in cnf.jwk"
    if claims.get("sd_hash") != sd_hash(body):
        return "key binding: sd_hash does not match the presented SD-JWT and disclosures"
    iat = claims.get("iat")
    if not isinstance(iat, int) or iat > now + leeway or iat < now - max_age:
        return f"key binding: iat {iat!r} is not within the last {max_age} s"
    if audience is not None and claims.get("aud") != audience:
        return f"key binding: aud {claims.get('aud')!r} is not {audience!r}"
    if nonce is not None and claims.get("nonce") != nonce:
        return "key binding: the nonce is not the one the verifier issued"
    return None
