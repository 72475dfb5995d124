"""Keys: the :class:`CredentialSigner` protocol every signing backend implements, an in-memory implementation on
``cryptography`` (:class:`LocalSigner`), and the verifier's :class:`PublicKey`.

What ``sign(data)`` means, per key type (so an HSM backend signs the same bytes):

``Ed25519``  pure Ed25519 (RFC 8032) over `data`: 64 bytes. PKCS#11: ``CKM_EDDSA``.
``P-256``    ECDSA P-256 with SHA-256 over `data`, returned as IEEE P1363 ``r || s`` (64 bytes, the JWS ES256
             form). PKCS#11: hash with SHA-256 first, then ``CKM_ECDSA`` (which returns ``r || s``).

JWKs are read and written with ``joserfc``; Multikeys with :mod:`anchoring.signing.multikey`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey

from anchoring.errors import FormatError
from anchoring.scheme.keccak import keccak256
from anchoring.signing.multikey import (
    KeyType,
    decode_public_multikey,
    decode_secret_multikey,
    encode_public_multikey,
)

__all__ = ["CredentialSigner", "KeyType", "LocalSigner", "PublicKey", "key_hash", "signer_controller"]

_P256_ORDER_BYTES = 32


def key_hash(public_key_multibase: str) -> bytes:
    """The registry's key identifier: ``keccak256(UTF-8 bytes of publicKeyMultibase)`` (IssuerRegistry 2
    ``addVerificationKey`` / ``verificationKey``). Hash the canonical Multikey form
    (:attr:`PublicKey.multibase`), so the same key always has the same hash whatever document named it."""
    if not isinstance(public_key_multibase, str) or not public_key_multibase.startswith("z"):
        raise FormatError("publicKeyMultibase", "the key hash is taken of a multibase (z…) Multikey string")
    return keccak256(public_key_multibase.encode("utf-8"))


@runtime_checkable
class CredentialSigner(Protocol):
    """A key that signs credentials. The node's keystore, environment and HSM backends implement this; the
    library's securing mechanisms (Data Integrity, VC-JWT) use nothing else, and never see a secret.

    ``verification_method``   the DID URL a verifier resolves to this key (``did:web:…#key-1``,
                              ``did:key:z6Mk…#z6Mk…``); it goes into ``proof.verificationMethod`` / JWS ``kid``
    ``key_type``              :class:`KeyType` (Ed25519 or P-256)
    ``public_key_multibase``  the public key as a Multikey (``z6Mk…`` / ``zDn…``); its keccak256 is the
                              registry's key hash (:func:`key_hash`)
    ``public_jwk``            the public key as a JWK (no ``d``)
    ``sign(data)``            the signature over `data` (see the module docstring for the bytes per key type)
    """

    @property
    def verification_method(self) -> str: ...

    @property
    def key_type(self) -> KeyType: ...

    @property
    def public_key_multibase(self) -> str: ...

    @property
    def public_jwk(self) -> dict[str, str]: ...

    def sign(self, data: bytes) -> bytes: ...


def signer_controller(signer: CredentialSigner) -> str:
    """The DID that controls `signer`'s key: its verification method without the fragment."""
    return signer.verification_method.split("#", 1)[0]


# ---------------------------------------------------------------------------------------------- public keys
@dataclass(frozen=True)
class PublicKey:
    """A public key as the verifier holds it. ``raw``: Ed25519 32 bytes; P-256 the 33-byte compressed point."""

    key_type: KeyType
    raw: bytes

    @classmethod
    def from_multibase(cls, text: str, field: str = "publicKeyMultibase") -> PublicKey:
        key_type, raw = decode_public_multikey(text, field)
        key = cls(key_type, raw)
        key._crypto()  # a point not on the curve is a format error now, not a failed verification later
        return key

    @classmethod
    def from_jwk(cls, jwk: Any, field: str = "publicKeyJwk") -> PublicKey:
        """An OKP/Ed25519 or EC/P-256 JWK (a ``d`` member is ignored: only the public part is read)."""
        if not isinstance(jwk, dict):
            raise FormatError(field, "a JWK is a JSON object")
        public = {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y")}
        try:
            if public.get("kty") == "OKP" and public.get("crv") == "Ed25519":
                okp = OKPKey.import_key(public).get_op_key("verify")
                assert isinstance(okp, ed25519.Ed25519PublicKey)
                return cls.from_cryptography(okp)
            if public.get("kty") == "EC" and public.get("crv") == "P-256":
                ec_key = ECKey.import_key(public).get_op_key("verify")
                assert isinstance(ec_key, ec.EllipticCurvePublicKey)
                return cls.from_cryptography(ec_key)
        except (JoseError, ValueError, TypeError) as exc:
            raise FormatError(field, f"not a valid JWK: {exc}") from None
        raise FormatError(
            field, f"unsupported JWK (kty {public.get('kty')!r}, crv {public.get('crv')!r}): Ed25519 or P-256"
        )

    @classmethod
    def from_cryptography(cls, key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey) -> PublicKey:
        if isinstance(key, ed25519.Ed25519PublicKey):
            return cls(KeyType.ED25519, key.public_bytes_raw())
        if isinstance(key.curve, ec.SECP256R1):
            point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
            return cls(KeyType.P256, point)
        raise FormatError("key", f"unsupported curve {key.curve.name}: Ed25519 or P-256")

    def _crypto(self) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey:
        try:
            if self.key_type == KeyType.ED25519:
                return ed25519.Ed25519PublicKey.from_public_bytes(self.raw)
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), self.raw)
        except ValueError as exc:
            raise FormatError("key", f"not a valid {self.key_type.value} public key: {exc}") from None

    @cached_property
    def multibase(self) -> str:
        """The canonical ``publicKeyMultibase`` (what the registry's key hash is taken of)."""
        return encode_public_multikey(self.key_type, self.raw)

    @property
    def key_hash(self) -> bytes:
        """:func:`key_hash` of :attr:`multibase`."""
        return key_hash(self.multibase)

    @property
    def jwk(self) -> dict[str, str]:
        """The public JWK (``kty``, ``crv``, ``x`` [, ``y``]), a fresh dict."""
        crypto = self._crypto()
        wrapped = (
            OKPKey.import_key(crypto)
            if isinstance(crypto, ed25519.Ed25519PublicKey)
            else ECKey.import_key(crypto)
        )
        out = wrapped.as_dict(private=False)
        return {k: str(v) for k, v in out.items() if k in ("kty", "crv", "x", "y")}

    @property
    def thumbprint(self) -> str:
        """RFC 7638 JWK thumbprint (base64url SHA-256), a common ``kid``."""
        crypto = self._crypto()
        wrapped = (
            OKPKey.import_key(crypto)
            if isinstance(crypto, ed25519.Ed25519PublicKey)
            else ECKey.import_key(crypto)
        )
        return str(wrapped.thumbprint())

    def verify(self, data: bytes, signature: bytes) -> bool:
        """True when `signature` is a valid signature of `data` (the bytes ``CredentialSigner.sign`` makes)."""
        crypto = self._crypto()
        try:
            if isinstance(crypto, ed25519.Ed25519PublicKey):
                crypto.verify(bytes(signature), bytes(data))
                return True
            if len(signature) != 2 * _P256_ORDER_BYTES:
                return False
            r = int.from_bytes(signature[:_P256_ORDER_BYTES], "big")
            s = int.from_bytes(signature[_P256_ORDER_BYTES:], "big")
            crypto.verify(encode_dss_signature(r, s), bytes(data), ec.ECDSA(hashes.SHA256()))
            return True
        except InvalidSignature:
            return False


# ---------------------------------------------------------------------------------------------- local keys
class LocalSigner:
    """An in-memory key on ``cryptography``: for tests, tools, and the node's keystore and environment
    backends once they have decrypted the secret. ``repr`` never shows the secret.

    ``verification_method`` defaults to the key's did:key (``did:key:z6Mk…#z6Mk…``); an issuer with a did:web
    passes its own (``did:web:uni.example#key-1``)."""

    def __init__(
        self,
        private_key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
        verification_method: str | None = None,
    ) -> None:
        if isinstance(private_key, ec.EllipticCurvePrivateKey) and not isinstance(
            private_key.curve, ec.SECP256R1
        ):
            raise ValueError(f"unsupported curve {private_key.curve.name}: Ed25519 or P-256")
        self._key = private_key
        self._public = PublicKey.from_cryptography(private_key.public_key())
        if verification_method is None:
            did = "did:key:" + self._public.multibase
            verification_method = f"{did}#{self._public.multibase}"
        self._vm = verification_method

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def generate(
        cls, key_type: KeyType = KeyType.ED25519, verification_method: str | None = None
    ) -> LocalSigner:
        """A fresh random key."""
        if key_type == KeyType.ED25519:
            return cls(ed25519.Ed25519PrivateKey.generate(), verification_method)
        return cls(ec.generate_private_key(ec.SECP256R1()), verification_method)

    @classmethod
    def from_private_bytes(
        cls, key_type: KeyType, secret: bytes, verification_method: str | None = None
    ) -> LocalSigner:
        """From the raw secret: the Ed25519 32-byte seed, or the P-256 32-byte big-endian scalar."""
        if len(secret) != 32:
            raise ValueError("a secret key has 32 bytes")
        if key_type == KeyType.ED25519:
            return cls(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(secret)), verification_method)
        return cls(ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1()), verification_method)

    @classmethod
    def from_secret_multibase(cls, text: str, verification_method: str | None = None) -> LocalSigner:
        """From a ``secretKeyMultibase`` (``z3u2…`` for Ed25519, as the vc-di-eddsa test vectors publish)."""
        key_type, secret = decode_secret_multikey(text)
        return cls.from_private_bytes(key_type, secret, verification_method)

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any], verification_method: str | None = None) -> LocalSigner:
        """From a private JWK (with ``d``), OKP/Ed25519 or EC/P-256."""
        key: object
        try:
            if jwk.get("kty") == "OKP":
                key = OKPKey.import_key(copy.deepcopy(jwk)).get_op_key("sign")
            else:
                key = ECKey.import_key(copy.deepcopy(jwk)).get_op_key("sign")
        except (JoseError, ValueError, TypeError) as exc:
            raise FormatError("jwk", f"not a valid private JWK: {exc}") from None
        if not isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey)):
            raise FormatError("jwk", "not an Ed25519 or P-256 private JWK")
        return cls(key, verification_method)

    def with_verification_method(self, verification_method: str) -> LocalSigner:
        """The same key under another verification method id (e.g. the issuer's did:web key id)."""
        return LocalSigner(self._key, verification_method)

    # -- the protocol -----------------------------------------------------------------------------
    @property
    def verification_method(self) -> str:
        return self._vm

    @property
    def key_type(self) -> KeyType:
        return self._public.key_type

    @property
    def public_key(self) -> PublicKey:
        return self._public

    @property
    def public_key_multibase(self) -> str:
        return self._public.multibase

    @property
    def public_jwk(self) -> dict[str, str]:
        return self._public.jwk

    def sign(self, data: bytes) -> bytes:
        if isinstance(self._key, ed25519.Ed25519PrivateKey):
            return self._key.sign(bytes(data))
        der = self._key.sign(bytes(data), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(_P256_ORDER_BYTES, "big") + s.to_bytes(_P256_ORDER_BYTES, "big")

    # -- export (for a keystore to encrypt; never log it) ------------------------------------------
    def export_private_bytes(self) -> bytes:
        """The raw secret (Ed25519 seed / P-256 scalar), for a keystore to encrypt. Handle with care."""
        if isinstance(self._key, ed25519.Ed25519PrivateKey):
            return self._key.private_bytes_raw()
        return self._key.private_numbers().private_value.to_bytes(32, "big")

    def __repr__(self) -> str:
        return f"LocalSigner({self.key_type.value}, {self._vm!r})"
