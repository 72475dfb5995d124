"""Sealed European inputs: an EDC credential inside its JAdES / JWS JSON envelope.

The European Digital Credentials infrastructure seals a credential with a qualified electronic seal in the JAdES
format (ETSI TS 119 182-1): the JWS JSON serialization (RFC 7515 section 7.2) with an unencoded payload
(``b64: false``, RFC 7797), the signing certificate in ``x5c`` and the signing time in ``sigT``::

    {"payload": "{\\"id\\":\\"urn:credential:...\\", ...}",
     "signatures": [{"protected": "<base64url header>", "header": {"etsiU": [...]}, "signature": "..."}]}

:func:`open_envelope` recognises such a body (general or flattened serialization, ``b64`` false or true), returns
the credential in its payload together with a :class:`SealReport` and checks each signature where key material is
present: the public key of ``x5c[0]`` (with ``x5t#S256`` compared to it), or a ``jwk`` in the protected header
(self-asserted). The certificate's subject, issuer and validity are reported; an expired certificate is reported,
not refused. A signature that does not verify raises :class:`EnvelopeError` naming the signature: the issuer
submitted it, so a broken seal is an error, never something to anchor.

The payload is what profiles and the credential ``id`` are read from; the envelope as submitted (payload string
and signatures, byte for byte) is what the node stores and hashes, so the seal stays verifiable and the learner's
copy is the sealed document Europass tools open.

Not checked: the certificate chain up to an EU trusted list (no trusted list is configured: ``valid`` means the
payload is exactly what the key of the certificate sealed), the time-stamp tokens (``adoTst``, ``sigTst``: listed,
not verified), revocation of the certificate (OCSP/CRL, would need the network). JWS parsing and signature
checks are joserfc's; certificates are read with cryptography.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey, import_key
from joserfc.jws import FlattenedJSONSerialization
from joserfc.registry import HeaderParameter

from anchoring.scheme.strict_json import strict_loads

__all__ = [
    "ALGORITHMS",
    "CertificateInfo",
    "EnvelopeError",
    "Opened",
    "SealReport",
    "SignatureReport",
    "is_envelope",
    "open_envelope",
]

#: signature algorithms accepted in a seal (JAdES baseline: RSA, RSA-PSS, ECDSA; EdDSA for completeness)
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")

_GENERAL = {"payload", "signatures"}
_FLATTENED = {"payload", "protected", "header", "signature"}


def _any(_value: Any) -> None:  # header values joserfc need not type-check (JAdES objects and arrays)
    return None


#: JAdES header parameters (ETSI TS 119 182-1 section 5), so that a ``crit`` naming them is understood
_JADES_HEADERS = {
    "sigT": HeaderParameter("JAdES claimed signing time", "str"),
    "x5t#o": HeaderParameter("JAdES other-hash certificate digest", _any),
    "sigX5ts": HeaderParameter("JAdES signing certificates digests", _any),
    "srCms": HeaderParameter("JAdES signer commitments", _any),
    "sigPl": HeaderParameter("JAdES signature production place", _any),
    "srAts": HeaderParameter("JAdES signer attributes", _any),
    "adoTst": HeaderParameter("JAdES all data objects time-stamp", _any),
    "sigPId": HeaderParameter("JAdES signature policy identifier", _any),
    "sigD": HeaderParameter("JAdES signed data references", _any),
    "etsiU": HeaderParameter("JAdES unsigned properties", _any),
}

#: readable names for the attributes eIDAS seal certificates carry (RFC 4514 prints their OIDs otherwise)
_NAME_OVERRIDES = {
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
    NameOID.SERIAL_NUMBER: "serialNumber",
}


class EnvelopeError(ValueError):
    """A malformed envelope or a seal that does not verify; ``errors`` name the member (problem+json entries)."""

    def __init__(self, detail: str, errors: list[dict[str, Any]], credential_id: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.credential_id = credential_id  # the payload's id, when the payload could be read


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    serial_number: str  # hex
    not_before: str  # ISO 8601, UTC
    not_after: str
    sha256: str  # base64url of SHA-256(DER), as x5t#S256 writes it
    expired: bool  # at the time of the check
    not_yet_valid: bool
    valid_at_signing_time: bool | None  # None: no sigT to compare with
    chain_length: int  # certificates in x5c
    chain_linked: bool | None  # each x5c certificate issued by the next; None: only the leaf was sent

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "serialNumber": self.serial_number,
            "notBefore": self.not_before,
            "notAfter": self.not_after,
            "sha256": self.sha256,
            "expired": self.expired,
            "notYetValid": self.not_yet_valid,
            "validAtSigningTime": self.valid_at_signing_time,
            "chainLength": self.chain_length,
            "chainLinked": self.chain_linked,
        }


@dataclass(frozen=True)
class SignatureReport:
    index: int
    alg: str
    status: str  # "valid" | "unverified" (an invalid signature raises EnvelopeError instead)
    reason: str
    kid: str | None = None
    signing_time: str | None = None  # sigT, as written
    key_source: str | None = None  # "x5c" | "jwk" | None
    certificate: CertificateInfo | None = None
    timestamps: tuple[str, ...] = ()  # time-stamp tokens present (not verified)
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "alg": self.alg,
            "status": self.status,
            "reason": self.reason,
            "kid": self.kid,
            "signingTime": self.signing_time,
            "keySource": self.key_source,
            "certificate": self.certificate.as_dict() if self.certificate else None,
            "timestamps": list(self.timestamps),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class SealReport:
    format: str  # "JAdES" (a sigT in the protected header) | "JWS"
    serialization: str  # "general" | "flattened"
    payload_encoding: str  # "unencoded" (b64 false) | "base64url"
    status: str  # "valid": at least one signature verified, none failed | "unverified": no key material
    signatures: tuple[SignatureReport, ...] = field(default_factory=tuple)
    trust: str = (
        "not checked: no EU trusted list is configured; valid means the payload is exactly what the key of the "
        "certificate sealed"
    )

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "serialization": self.serialization,
            "payloadEncoding": self.payload_encoding,
            "status": self.status,
            "trust": self.trust,
            "signatures": [s.as_dict() for s in self.signatures],
        }


@dataclass(frozen=True)
class Opened:
    credential: dict[str, Any]  # the payload
    seal: SealReport


# ------------------------------------------------------------------------------------------- recognising
def is_envelope(obj: Any) -> bool:
    """True for a JWS JSON serialization: ``{payload, signatures}`` or ``{payload, protected, signature}``."""
    if not isinstance(obj, dict) or "payload" not in obj:
        return False
    keys = set(obj)
    if "signatures" in obj:
        return keys <= _GENERAL
    return "signature" in obj and keys <= _FLATTENED


def _error(field_path: str, pointer: str, message: str) -> EnvelopeError:
    return EnvelopeError(message, [{"pointer": pointer, "field": field_path, "message": message}])


def _b64url_json(segment: Any, field_path: str, pointer: str) -> dict[str, Any]:
    if not isinstance(segment, str):
        raise _error(field_path, pointer, "must be a base64url string")
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = strict_loads(raw)
    except (ValueError, binascii.Error, RecursionError):
        raise _error(field_path, pointer, "is not base64url-encoded JSON") from None
    if not isinstance(value, dict):
        raise _error(field_path, pointer, "must encode a JSON object (the JOSE header)")
    return value


def _members(obj: dict[str, Any]) -> tuple[str, list[tuple[str, str, dict[str, Any]]]]:
    """('general' | 'flattened', [(field prefix, pointer prefix, signature member)])."""
    if "signatures" in obj:
        sigs = obj["signatures"]
        if not isinstance(sigs, list) or not sigs:
            raise _error("signatures", "/signatures", "must be a non-empty array of signature objects")
        out = []
        for i, sig in enumerate(sigs):
            if not isinstance(sig, dict):
                raise _error(f"signatures[{i}]", f"/signatures/{i}", "must be a signature object")
            out.append((f"signatures[{i}]", f"/signatures/{i}", sig))
        return "general", out
    return "flattened", [("", "", obj)]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# ------------------------------------------------------------------------------------------- certificates
def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _certificates(x5c: Any, field_path: str, pointer: str) -> list[x509.Certificate]:
    if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) for c in x5c):
        raise _error(field_path, pointer, "x5c must be a non-empty array of base64 DER certificates")
    certs = []
    for i, c in enumerate(x5c):
        try:
            certs.append(x509.load_der_x509_certificate(base64.b64decode(c, validate=True)))
        except (ValueError, binascii.Error):
            raise _error(
                f"{field_path}[{i}]", f"{pointer}/{i}", "is not a base64 DER X.509 certificate"
            ) from None
    return certs


def _chain_linked(certs: list[x509.Certificate]) -> bool | None:
    if len(certs) < 2:
        return None
    for child, parent in itertools.pairwise(certs):
        try:
            child.verify_directly_issued_by(parent)
        except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
            return False
    return True


def _certificate_info(
    certs: list[x509.Certificate], signing_time: datetime | None, now: datetime
) -> CertificateInfo:
    leaf = certs[0]
    nb, na = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    return CertificateInfo(
        subject=leaf.subject.rfc4514_string(_NAME_OVERRIDES),
        issuer=leaf.issuer.rfc4514_string(_NAME_OVERRIDES),
        serial_number=format(leaf.serial_number, "x"),
        not_before=_iso(nb),
        not_after=_iso(na),
        sha256=base64.urlsafe_b64encode(hashlib.sha256(leaf.public_bytes(Encoding.DER)).digest())
        .rstrip(b"=")
        .decode(),
        expired=now > na,
        not_yet_valid=now < nb,
        valid_at_signing_time=None if signing_time is None else nb <= signing_time <= na,
        chain_length=len(certs),
        chain_linked=_chain_linked(certs),
    )


def _jose_key(public_key: Any) -> Key:
    if isinstance(public_key, rsa.RSAPublicKey):
        return RSAKey.import_key(public_key)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return ECKey.import_key(public_key)
    if isinstance(public_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return OKPKey.import_key(public_key)
    raise TypeError(f"unsupported certificate key type {type(public_key).__name__}")


# ------------------------------------------------------------------------------------------- verifying
def _registry(payload_length: int, header_length: int) -> jws.JWSRegistry:
    registry = jws.JWSRegistry(
        header_registry=_JADES_HEADERS, algorithms=ALGORITHMS, strict_check_header=False
    )
    # joserfc's defaults (512-byte headers, 128 kB payloads) are for tokens; a seal carries its certificate and
    # time-stamps in the header and a whole credential as payload, both already bounded by the body limit
    registry.max_header_length = header_length + 1
    registry.max_payload_length = payload_length + 1
    registry.max_signature_length = 4096
    return registry


def _timestamps(protected: dict[str, Any], header: Any) -> tuple[str, ...]:
    names = []
    if "adoTst" in protected:
        names.append("adoTst")
    unsigned = header.get("etsiU") if isinstance(header, dict) else None
    for item in unsigned if isinstance(unsigned, list) else []:
        try:
            decoded = _b64url_json(item, "", "") if isinstance(item, str) else item
        except EnvelopeError:
            continue
        if isinstance(decoded, dict):
            names += [k for k in decoded if k.endswith("Tst")]
    return tuple(names)


def _check_signature(
    index: int,
    prefix: str,
    ptr: str,
    member: dict[str, Any],
    payload: str,
    now: datetime,
) -> SignatureReport:
    protected_segment = member.get("protected")
    if not isinstance(protected_segment, str):
        raise _error(_join(prefix, "protected"), f"{ptr}/protected", "must be a base64url string")
    protected = _b64url_json(protected_segment, _join(prefix, "protected"), f"{ptr}/protected")
    header = member.get("header")
    if header is not None and not isinstance(header, dict):
        raise _error(
            _join(prefix, "header"), f"{ptr}/header", "must be a JSON object (the unprotected header)"
        )
    if not isinstance(member.get("signature"), str):
        raise _error(_join(prefix, "signature"), f"{ptr}/signature", "must be a base64url string")
    alg = protected.get("alg")
    if alg not in ALGORITHMS:
        raise _error(
            _join(prefix, "protected.alg"),
            f"{ptr}/protected",
            f"alg {alg!r} is not accepted for a seal; accepted: {', '.join(ALGORITHMS)}",
        )
    signing_time_text = protected.get("sigT") if isinstance(protected.get("sigT"), str) else None
    signing_time = _parse_time(signing_time_text)
    notes: list[str] = []
    certificate: CertificateInfo | None = None
    key: Key | None = None
    source: str | None = None
    if "x5c" in protected:
        certs = _certificates(protected["x5c"], _join(prefix, "protected.x5c"), f"{ptr}/protected")
        thumb = protected.get("x5t#S256")
        certificate = _certificate_info(certs, signing_time, now)
        if thumb is not None and thumb != certificate.sha256:
            raise _error(
                _join(prefix, "protected.x5t#S256"),
                f"{ptr}/protected",
                "x5t#S256 is not the SHA-256 thumbprint of the certificate in x5c[0]: the seal names another "
                "certificate than the one it carries",
            )
        try:
            key = _jose_key(certs[0].public_key())
        except TypeError as exc:
            raise _error(_join(prefix, "protected.x5c"), f"{ptr}/protected", str(exc)) from None
        source = "x5c"
        if certificate.expired:
            when = "after the signing time: the certificate was valid when the seal was made"
            if certificate.valid_at_signing_time is False:
                when = "and was not valid at the signing time either"
            elif certificate.valid_at_signing_time is None:
                when = "(no signing time to compare with)"
            notes.append(f"the certificate expired on {certificate.not_after}, {when}")
        if certificate.not_yet_valid:
            notes.append(f"the certificate is not valid before {certificate.not_before}")
        if certificate.chain_linked is False:
            notes.append("the x5c certificates do not form a chain (one is not issued by the next)")
    elif isinstance(protected.get("jwk"), dict):
        if "d" in protected["jwk"]:
            raise _error(
                _join(prefix, "protected.jwk"), f"{ptr}/protected", "the header jwk carries a private key"
            )
        try:
            key = import_key(protected["jwk"])
        except (JoseError, ValueError, TypeError):
            raise _error(
                _join(prefix, "protected.jwk"), f"{ptr}/protected", "jwk is not a valid public JWK"
            ) from None
        source = "jwk"
        notes.append("the key comes from the header jwk: self-asserted, no certificate binds it to an issuer")
    stamps = _timestamps(protected, header)
    if stamps:
        notes.append(f"time-stamp tokens present and not verified: {', '.join(stamps)}")
    common = {
        "index": index,
        "alg": alg,
        "kid": protected.get("kid") if isinstance(protected.get("kid"), str) else None,
        "signing_time": signing_time_text,
        "key_source": source,
        "certificate": certificate,
        "timestamps": stamps,
    }
    if key is None:
        return SignatureReport(
            status="unverified",
            reason="no key material in the seal (no x5c certificate, no jwk): the signature cannot be checked",
            notes=tuple(notes),
            **common,
        )
    flattened: dict[str, Any] = {
        "payload": payload,
        "protected": protected_segment,
        "signature": member["signature"],
    }
    if header is not None:
        flattened["header"] = header
    try:
        jws.deserialize_json(
            cast(FlattenedJSONSerialization, flattened),
            key,
            registry=_registry(len(payload.encode()), len(protected_segment)),
        )
    except BadSignatureError:
        who = f" ({certificate.subject})" if certificate else ""
        raise _error(
            _join(prefix, "signature"),
            f"{ptr}/signature",
            f"the seal does not verify with the key of {'x5c[0]' if source == 'x5c' else 'the header jwk'}{who}: "
            "the payload or the signature was altered after sealing",
        ) from None
    except JoseError as exc:
        raise _error(
            _join(prefix, "protected"),
            f"{ptr}/protected",
            f"the seal cannot be checked: {exc}",
        ) from None
    return SignatureReport(
        status="valid",
        reason=f"the signature verifies with the public key of {'x5c[0]' if source == 'x5c' else 'the header jwk'}",
        notes=tuple(notes),
        **common,
    )


def _payload_text(obj: dict[str, Any], encoded: bool) -> str:
    payload = obj["payload"]
    if not isinstance(payload, str):
        raise _error("payload", "/payload", "must be a string (the sealed credential)")
    if not encoded:
        return payload
    try:
        return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _error(
            "payload", "/payload", "is not base64url-encoded UTF-8 (the header says b64 is true)"
        ) from None


def _b64_flag(protected_segment: Any, prefix: str, ptr: str) -> bool:
    """True when the payload is base64url-encoded (no ``b64: false`` in the protected header)."""
    protected = _b64url_json(protected_segment, _join(prefix, "protected"), f"{ptr}/protected")
    return protected.get("b64", True) is not False


def open_envelope(obj: Any, *, now: datetime | None = None) -> Opened | None:
    """The credential inside a sealed envelope and the report of its seal; None when ``obj`` is no envelope.

    Raises :class:`EnvelopeError` for a malformed envelope, a payload that is not a JSON object or a signature
    that does not verify with the key the seal carries.
    """
    if not is_envelope(obj):
        return None
    now = now or datetime.now(UTC)
    serialization, members = _members(obj)
    flags = {_b64_flag(m.get("protected"), prefix, ptr) for prefix, ptr, m in members}
    if len(flags) != 1:
        raise _error(
            "signatures", "/signatures", "b64 must have the same value in every signature (RFC 7797)"
        )
    encoded = flags.pop()
    text = _payload_text(obj, encoded)
    try:
        credential = strict_loads(text)
    except (ValueError, RecursionError) as exc:
        raise _error("payload", "/payload", f"the sealed payload is not valid JSON: {exc}") from None
    if not isinstance(credential, dict):
        raise _error("payload", "/payload", "the sealed payload must be a JSON object (the credential)")
    payload_segment = obj["payload"]
    try:
        reports = tuple(
            _check_signature(i, prefix, ptr, m, payload_segment, now)
            for i, (prefix, ptr, m) in enumerate(members)
        )
    except EnvelopeError as exc:  # name the credential whose seal failed
        cid = credential.get("id")
        exc.credential_id = cid if isinstance(cid, str) else None
        raise
    first = _b64url_json(members[0][2].get("protected"), "protected", "/protected")
    return Opened(
        credential=credential,
        seal=SealReport(
            format="JAdES" if "sigT" in first else "JWS",
            serialization=serialization,
            payload_encoding="base64url" if encoded else "unencoded",
            status="valid" if any(r.status == "valid" for r in reports) else "unverified",
            signatures=reports,
        ),
    )
