"""Keys that live in a PKCS#11 token (an HSM, a smart card, SoftHSM2): the private key never leaves it.

On ``python-pkcs11`` (PyPI). One :class:`Pkcs11Token` is a logged-in session on one token; from it come

* :class:`Pkcs11CredentialSigner`: an :class:`anchoring.signing.CredentialSigner` for an Ed25519 key
  (``CKM_EDDSA``, pure Ed25519 over the data) or a P-256 key (SHA-256 here, then ``CKM_ECDSA``, which answers
  ``r || s``), so Data Integrity proofs and VC-JWTs are made by the token;
* :class:`Pkcs11ChainSigner`: a secp256k1 key signing Ethereum transactions (``CKM_ECDSA`` over the keccak256
  signing hash, ``s`` normalised to the lower half of the curve order as EIP-2 asks, the recovery id found by
  recovering the public key); it has what :class:`anchoring.chain.transactions.TransactionSender` needs
  (``address``, ``sign_transaction``), so the anchorer, the revoker and the publisher sign with it unchanged.

What crosses the PKCS#11 boundary: the bytes to sign (a hash for ECDSA) going in, a signature and the public key
coming out. Keys made by :meth:`Pkcs11Token.generate` are ``CKA_SENSITIVE`` and not ``CKA_EXTRACTABLE``.

The PIN comes from the settings (``CREDREG_PKCS11_PIN`` or ``CREDREG_PKCS11_PIN_FILE``); it is never logged and
never part of an error message. A PKCS#11 library is initialised once per process and a token is logged in once
per process (PKCS#11 login state belongs to the application, not to a session), so tokens are cached here.

Written by hand, because no library does it: the Ethereum signature assembly (low-s, recovery id). The
transaction encoding itself is eth-account's (``sign_transaction_dict`` given a key object whose
``sign_msg_hash`` asks the token).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar, cast

import pkcs11
import pkcs11.exceptions as p11e
from asn1crypto.core import OctetString  # type: ignore[import-untyped]  # python-pkcs11's ASN.1 dependency
from eth_account._utils.signing import sign_transaction_dict
from eth_account.datastructures import SignedTransaction
from eth_keys.datatypes import PublicKey as EthPublicKey
from eth_keys.datatypes import Signature as EthSignature
from eth_keys.exceptions import BadSignature
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

from anchoring.scheme.keccak import keccak256
from anchoring.signing.keys import PublicKey
from anchoring.signing.multikey import KeyType as CredentialKeyType
from node.errors import ConfigurationError
from node.settings import Settings

__all__ = [
    "HsmKey",
    "HsmKeyKind",
    "Pkcs11ChainSigner",
    "Pkcs11CredentialSigner",
    "Pkcs11Error",
    "Pkcs11Token",
    "close_all",
    "credential_signer_from_settings",
]

T = TypeVar("T")

# curve OIDs as CKA_EC_PARAMS carries them (DER), and the names SoftHSM2 / PKCS#11 3.0 use for Ed25519
_OID_P256 = "1.2.840.10045.3.1.7"
_OID_SECP256K1 = "1.3.132.0.10"
_OID_ED25519 = "1.3.101.112"
_ED25519_PARAMS = {
    encode_named_curve_parameters(_OID_ED25519),
    b"\x13\x0cedwards25519",  # PrintableString "edwards25519" (PKCS#11 3.0 section 2.3.10)
    b"\x13\x07Ed25519",
}
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class Pkcs11Error(ConfigurationError):
    """The token cannot be used: library, token, PIN or key. The message names the setting, never the PIN."""


class HsmKeyKind(StrEnum):
    """What a key in the token is for: a credential-signing key (Ed25519, P-256) or a chain key (secp256k1)."""

    ED25519 = "ed25519"
    P256 = "p256"
    SECP256K1 = "secp256k1"

    @property
    def credential_key_type(self) -> CredentialKeyType | None:
        return {HsmKeyKind.ED25519: CredentialKeyType.ED25519, HsmKeyKind.P256: CredentialKeyType.P256}.get(
            self
        )


@dataclass(frozen=True)
class HsmKey:
    """A key pair in the token, as listed: its label, kind and public key (never anything secret).

    ``public``: Ed25519 the 32-byte key; EC keys the 65-byte uncompressed point. ``public_key_multibase`` for
    credential keys, ``address`` for chain keys."""

    label: str
    kind: HsmKeyKind
    public: bytes
    key_id: bytes

    @property
    def public_key_multibase(self) -> str | None:
        key_type = self.kind.credential_key_type
        if key_type is None:
            return None
        if key_type == CredentialKeyType.ED25519:
            return PublicKey(key_type, self.public).multibase
        return PublicKey(key_type, _compress(self.public)).multibase

    @property
    def address(self) -> ChecksumAddress | None:
        if self.kind != HsmKeyKind.SECP256K1:
            return None
        return EthPublicKey(self.public[1:]).to_checksum_address()


def _compress(point: bytes) -> bytes:
    if len(point) != 65 or point[0] != 4:
        raise Pkcs11Error(f"the token returned an EC point of {len(point)} bytes, not an uncompressed point")
    x, y = point[1:33], point[33:]
    return bytes([2 + (y[-1] & 1)]) + x


def _unwrap_point(value: bytes) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING holding the point (some tokens send the bare point)."""
    try:
        parsed = OctetString.load(bytes(value), strict=True)
        return bytes(parsed.native)
    except (ValueError, TypeError):
        return bytes(value)


def _kind_of(key_type: KeyType, ec_params: bytes) -> HsmKeyKind | None:
    if key_type == KeyType.EC_EDWARDS and ec_params in _ED25519_PARAMS:
        return HsmKeyKind.ED25519
    if key_type == KeyType.EC:
        if ec_params == encode_named_curve_parameters(_OID_P256):
            return HsmKeyKind.P256
        if ec_params == encode_named_curve_parameters(_OID_SECP256K1):
            return HsmKeyKind.SECP256K1
    return None


# ------------------------------------------------------------------------------------- libraries and tokens
_LOCK = threading.Lock()
_LIBS: dict[str, Any] = {}
_TOKENS: dict[tuple[str, str], Pkcs11Token] = {}
_PIN_KEY = secrets.token_bytes(32)  # only to compare a later PIN with the one this process logged in with


def _pin_digest(pin: str) -> bytes:
    return hmac.new(_PIN_KEY, pin.encode("utf-8"), hashlib.sha256).digest()


def _load_library(module: str) -> Any:
    lib = _LIBS.get(module)
    if lib is None:
        if not Path(module).is_file():
            raise Pkcs11Error(f"CREDREG_PKCS11_MODULE: no PKCS#11 library at {module}")
        try:
            lib = pkcs11.lib(module)
        except p11e.PKCS11Error as exc:
            raise Pkcs11Error(
                f"CREDREG_PKCS11_MODULE: cannot load the PKCS#11 library {module}: {type(exc).__name__}"
            ) from None
        _LIBS[module] = lib
    return lib


class Pkcs11Token:
    """A logged-in session on one token. Thread-safe: one operation at a time (a PKCS#11 session is serial).

    Open it with :meth:`open` (cached per process: the same module + token + PIN returns the same object)."""

    def __init__(self, module: str, label: str, session: Any, pin_digest: bytes):
        self.module = module
        self.label = label
        self._session = session
        self._pin_digest = pin_digest
        self._lock = threading.Lock()

    # -- opening --------------------------------------------------------------------------------------
    @classmethod
    def open(cls, module: str | Path, token_label: str, pin: str) -> Pkcs11Token:
        """Log in to the token labelled `token_label` of the PKCS#11 library `module` with the user PIN."""
        module = str(module)
        if not token_label:
            raise Pkcs11Error("CREDREG_PKCS11_TOKEN_LABEL is empty")
        if not pin:
            raise Pkcs11Error("no PKCS#11 PIN: set CREDREG_PKCS11_PIN or CREDREG_PKCS11_PIN_FILE")
        digest = _pin_digest(pin)
        with _LOCK:
            cached = _TOKENS.get((module, token_label))
            if cached is not None:
                if not hmac.compare_digest(cached._pin_digest, digest):
                    raise Pkcs11Error(
                        f"PKCS#11 token {token_label!r}: a different PIN from the one this process logged in "
                        "with (wrong PIN?)"
                    )
                return cached
            lib = _load_library(module)
            try:
                token = lib.get_token(token_label=token_label)
            except p11e.NoSuchToken:
                labels = ", ".join(repr(t.label) for t in lib.get_tokens() if t.label) or "none"
                raise Pkcs11Error(
                    f"CREDREG_PKCS11_TOKEN_LABEL: no token {token_label!r} in {module} (tokens: {labels})"
                ) from None
            except p11e.MultipleTokensReturned:
                raise Pkcs11Error(
                    f"CREDREG_PKCS11_TOKEN_LABEL: several tokens are labelled {token_label!r}"
                ) from None
            try:
                session = token.open(rw=True, user_pin=pin)
            except p11e.PinIncorrect:
                raise Pkcs11Error(
                    f"PKCS#11 login to token {token_label!r} failed: wrong PIN (CKR_PIN_INCORRECT); "
                    "check CREDREG_PKCS11_PIN / CREDREG_PKCS11_PIN_FILE"
                ) from None
            except p11e.PinLocked:
                raise Pkcs11Error(
                    f"PKCS#11 token {token_label!r}: the user PIN is locked (too many wrong PINs); "
                    "the security officer must unblock it"
                ) from None
            except (p11e.PinInvalid, p11e.PinLenRange, p11e.PinExpired) as exc:
                raise Pkcs11Error(
                    f"PKCS#11 login to token {token_label!r} failed: {type(exc).__name__}"
                ) from None
            except p11e.PKCS11Error as exc:
                raise Pkcs11Error(
                    f"PKCS#11 token {token_label!r}: cannot open a session: {type(exc).__name__}"
                ) from None
            opened = cls(module, token_label, session, digest)
            _TOKENS[(module, token_label)] = opened
            return opened

    @classmethod
    def from_settings(cls, settings: Settings) -> Pkcs11Token:
        """The token the settings name (``pkcs11_module``, ``pkcs11_token_label``, ``pkcs11_pin[_file]``)."""
        if settings.pkcs11_module is None or not settings.pkcs11_token_label:
            raise Pkcs11Error("set CREDREG_PKCS11_MODULE and CREDREG_PKCS11_TOKEN_LABEL to use an HSM")
        pin = settings.pkcs11_pin_value()
        if pin is None:
            raise Pkcs11Error("no PKCS#11 PIN: set CREDREG_PKCS11_PIN or CREDREG_PKCS11_PIN_FILE")
        return cls.open(settings.pkcs11_module, settings.pkcs11_token_label, pin)

    def close(self) -> None:
        with _LOCK, self._lock:
            _TOKENS.pop((self.module, self.label), None)
            try:
                self._session.close()
            except p11e.PKCS11Error:
                pass

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        with self._lock:
            try:
                return fn()
            except p11e.PKCS11Error as exc:
                raise Pkcs11Error(
                    f"PKCS#11 token {self.label!r}: {what} failed: {type(exc).__name__}"
                ) from None

    # -- keys -----------------------------------------------------------------------------------------
    def keys(self) -> list[HsmKey]:
        """Every key pair in the token that credreg can use (Ed25519, P-256, secp256k1), by label."""

        def run() -> list[HsmKey]:
            found = []
            for obj in self._session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY}):
                key = self._describe(obj)
                if key is not None:
                    found.append(key)
            return sorted(found, key=lambda k: (k.label, k.key_id))

        return self._call("listing keys", run)

    def _describe(self, obj: Any) -> HsmKey | None:
        try:
            params = bytes(obj[Attribute.EC_PARAMS])
            point = _unwrap_point(obj[Attribute.EC_POINT])
        except (p11e.AttributeTypeInvalid, p11e.AttributeSensitive):
            return None  # an RSA or secret key: not ours
        kind = _kind_of(obj.key_type, params)
        if kind is None:
            return None
        try:
            key_id = bytes(obj[Attribute.ID])
        except p11e.AttributeTypeInvalid:
            key_id = b""
        return HsmKey(str(obj.label or ""), kind, point, key_id)

    def key(self, label: str) -> HsmKey:
        matches = [k for k in self.keys() if k.label == label]
        if not matches:
            raise Pkcs11Error(
                f"PKCS#11 token {self.label!r} has no Ed25519, P-256 or secp256k1 key {label!r}"
            )
        if len(matches) > 1:
            raise Pkcs11Error(f"PKCS#11 token {self.label!r} has {len(matches)} keys labelled {label!r}")
        return matches[0]

    def _private(self, key: HsmKey) -> Any:
        template: dict[Attribute, Any] = {
            Attribute.CLASS: ObjectClass.PRIVATE_KEY,
            Attribute.LABEL: key.label,
        }
        if key.key_id:
            template[Attribute.ID] = key.key_id
        objects = list(self._session.get_objects(template))
        if len(objects) != 1:
            raise Pkcs11Error(
                f"PKCS#11 token {self.label!r}: {len(objects)} private keys for {key.label!r} (expected one)"
            )
        return objects[0]

    def generate(self, label: str, kind: HsmKeyKind) -> HsmKey:
        """Generate a key pair inside the token (sensitive, not extractable) and return its public half."""
        if any(k.label == label for k in self.keys()):
            raise Pkcs11Error(f"PKCS#11 token {self.label!r} already has a key labelled {label!r}")
        key_id = secrets.token_bytes(8)

        def run() -> None:
            if kind == HsmKeyKind.ED25519:
                key_type, oid, mechanism = KeyType.EC_EDWARDS, _OID_ED25519, Mechanism.EC_EDWARDS_KEY_PAIR_GEN
            else:
                key_type, mechanism = KeyType.EC, Mechanism.EC_KEY_PAIR_GEN
                oid = _OID_P256 if kind == HsmKeyKind.P256 else _OID_SECP256K1
            params = self._session.create_domain_parameters(
                key_type, {Attribute.EC_PARAMS: encode_named_curve_parameters(oid)}, local=True
            )
            params.generate_keypair(
                id=key_id,
                label=label,
                store=True,
                mechanism=mechanism,
                private_template={
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.PRIVATE: True,
                },
            )

        self._call("generating a key", run)
        return self.key(label)

    def sign_raw(self, key: HsmKey, data: bytes, mechanism: Mechanism) -> bytes:
        def run() -> bytes:
            return bytes(self._private(key).sign(bytes(data), mechanism=mechanism))

        return self._call(f"signing with {key.label!r}", run)

    # -- signers --------------------------------------------------------------------------------------
    def credential_signer(self, label: str, verification_method: str | None = None) -> Pkcs11CredentialSigner:
        """The Ed25519 or P-256 key `label` as a CredentialSigner (did:key unless `verification_method`)."""
        return Pkcs11CredentialSigner(self, self.key(label), verification_method)

    def chain_signer(self, label: str) -> Pkcs11ChainSigner:
        """The secp256k1 key `label` as a transaction signer."""
        return Pkcs11ChainSigner(self, self.key(label))

    def __repr__(self) -> str:
        return f"Pkcs11Token({self.module!r}, {self.label!r})"


def close_all() -> None:
    """Log out of every token this process opened (for tests and shutdown)."""
    for token in list(_TOKENS.values()):
        token.close()


# ------------------------------------------------------------------------------------------------ signers
class Pkcs11CredentialSigner:
    """An Ed25519 or P-256 credential-signing key in the token (implements ``CredentialSigner``)."""

    def __init__(self, token: Pkcs11Token, key: HsmKey, verification_method: str | None = None):
        key_type = key.kind.credential_key_type
        if key_type is None:
            raise Pkcs11Error(
                f"PKCS#11 key {key.label!r} is a {key.kind.value} key: credentials are signed with Ed25519 "
                "or P-256"
            )
        self._token = token
        self._key = key
        raw = key.public if key_type == CredentialKeyType.ED25519 else _compress(key.public)
        self._public = PublicKey(key_type, raw)
        multibase = self._public.multibase
        self._vm = verification_method or f"did:key:{multibase}#{multibase}"

    def with_verification_method(self, verification_method: str) -> Pkcs11CredentialSigner:
        return Pkcs11CredentialSigner(self._token, self._key, verification_method)

    @property
    def label(self) -> str:
        return self._key.label

    @property
    def verification_method(self) -> str:
        return self._vm

    @property
    def key_type(self) -> CredentialKeyType:
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
        if self.key_type == CredentialKeyType.ED25519:
            return self._token.sign_raw(self._key, bytes(data), Mechanism.EDDSA)
        digest = hashlib.sha256(bytes(data)).digest()
        signature = self._token.sign_raw(self._key, digest, Mechanism.ECDSA)
        if len(signature) != 64:
            raise Pkcs11Error(f"PKCS#11 key {self._key.label!r}: a {len(signature)}-byte ECDSA signature")
        return signature

    def __repr__(self) -> str:
        return f"Pkcs11CredentialSigner({self._token.label!r}, {self._key.label!r}, {self._vm!r})"


class _TokenEthKey:
    """What eth-account's transaction signing asks of a key: ``sign_msg_hash`` (and ``public_key``)."""

    def __init__(self, signer: Pkcs11ChainSigner):
        self._signer = signer
        self.public_key = signer.public_key

    def sign_msg_hash(self, message_hash: bytes) -> EthSignature:
        return self._signer.sign_hash(message_hash)


class Pkcs11ChainSigner:
    """A secp256k1 key in the token that signs Ethereum transactions (what TransactionSender needs)."""

    def __init__(self, token: Pkcs11Token, key: HsmKey):
        if key.kind != HsmKeyKind.SECP256K1:
            raise Pkcs11Error(
                f"PKCS#11 key {key.label!r} is a {key.kind.value} key: chain keys are secp256k1"
            )
        self._token = token
        self._key = key
        self.public_key = EthPublicKey(key.public[1:])
        self._address = self.public_key.to_checksum_address()

    @property
    def label(self) -> str:
        return self._key.label

    @property
    def address(self) -> ChecksumAddress:
        return self._address

    def sign_hash(self, message_hash: bytes) -> EthSignature:
        """An Ethereum signature (v = recovery id 0/1, low s) of a 32-byte hash, made by the token."""
        if len(message_hash) != 32:
            raise ValueError("an Ethereum signature is taken of a 32-byte hash")
        raw = self._token.sign_raw(self._key, bytes(message_hash), Mechanism.ECDSA)
        if len(raw) != 64:
            raise Pkcs11Error(f"PKCS#11 key {self._key.label!r}: a {len(raw)}-byte ECDSA signature")
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        if s > _SECP256K1_N // 2:
            s = _SECP256K1_N - s  # EIP-2: the chain accepts only the lower half
        for v in (0, 1):
            candidate = EthSignature(vrs=(v, r, s))
            try:
                if candidate.recover_public_key_from_msg_hash(message_hash) == self.public_key:
                    return candidate
            except BadSignature:
                continue
        raise Pkcs11Error(
            f"PKCS#11 key {self._key.label!r}: the token's signature does not match its public key"
        )

    def sign_transaction(self, transaction_dict: dict[str, Any], /) -> SignedTransaction:
        """Sign a transaction dict as ``LocalAccount.sign_transaction`` does (legacy, EIP-2930, EIP-1559)."""
        tx = dict(transaction_dict)
        sender = tx.pop("from", None)
        if sender is not None and str(sender).lower() != self._address.lower():
            raise TypeError(f"from field {sender} does not match the HSM key's address {self._address}")
        v, r, s, encoded = sign_transaction_dict(cast(Any, _TokenEthKey(self)), cast(Any, tx))
        return SignedTransaction(
            raw_transaction=HexBytes(encoded), hash=HexBytes(keccak256(encoded)), r=r, s=s, v=v
        )

    def __repr__(self) -> str:
        return f"Pkcs11ChainSigner({self._token.label!r}, {self._key.label!r}, {self._address})"


def credential_signer_from_settings(
    settings: Settings, label: str | None = None, verification_method: str | None = None
) -> Pkcs11CredentialSigner:
    """The credential-signing key `label` (default CREDREG_PKCS11_CREDENTIAL_KEY_LABEL) of the configured token,
    for the per-issuer credential key loading to plug in beside its file and environment backends."""
    label = label or settings.pkcs11_credential_key_label
    if not label:
        raise Pkcs11Error("CREDREG_PKCS11_CREDENTIAL_KEY_LABEL is not set")
    return Pkcs11Token.from_settings(settings).credential_signer(label, verification_method)
