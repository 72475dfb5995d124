"""Issuers' credential-signing keys: Ed25519 (required to sign), P-256 (optional, for ES256 VC-JWT).

A key lives in an encrypted file (PKCS#8 PEM under ``cryptography``'s best available encryption, a password
from the environment or a password file: never a command line) or, for throwaway setups, in an environment
variable holding its ``secretKeyMultibase``. Each issuer row stores only a *reference* to its key
(``signing_key_ref``: ``file:<path>`` or ``env:<VARIABLE>``) and the public half (``verification_key``), so DID
documents are served without decrypting anything. :func:`load_credential_signer` turns the reference into an
:class:`anchoring.signing.CredentialSigner`; an HSM backend (a later issue) adds a reference scheme here.

The verification method follows the issuer's DID (docs/scheme.md §8): a ``did:key`` issuer signs as
``did:key:z…#z…`` (the DID must be the key's own); a ``did:web`` issuer as ``<did>#key-ed25519`` /
``<did>#key-p256``, the methods the node serves in its DID document. Any other DID method cannot be resolved
by a standard verifier and is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from sqlmodel import Session

from anchoring.signing import CredentialSigner, KeyType, LocalSigner, did_key
from node.errors import ConfigurationError
from node.settings import Settings
from node.storage.models import Issuer

__all__ = [
    "ENV_KEY_VARIABLE",
    "attach_configured_keys",
    "can_sign",
    "load_credential_signer",
    "read_key_file",
    "verification_method_id",
    "write_key_file",
]

#: the environment variable the ``env:`` reference of the settings' key names
ENV_KEY_VARIABLE = "CREDREG_CREDENTIAL_KEY"

_FRAGMENT = {KeyType.ED25519: "key-ed25519", KeyType.P256: "key-p256"}


def write_key_file(signer: LocalSigner, path: str | Path, password: str) -> Path:
    """Encrypt `signer`'s key into `path` (PKCS#8 PEM, mode 0600)."""
    if not password:
        raise ConfigurationError("a credential key file needs a non-empty password")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = signer.export_private_bytes()
    key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    if signer.key_type == KeyType.ED25519:
        key = ed25519.Ed25519PrivateKey.from_private_bytes(secret)
    else:
        key = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode("utf-8")),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return path


def read_key_file(
    path: str | Path, password: str | None, verification_method: str | None = None
) -> LocalSigner:
    """The key of an encrypted PEM file; ConfigurationError names the file, never the key."""
    path = Path(path)
    if password is None:
        raise ConfigurationError(
            f"credential key {path} is encrypted: set CREDREG_CREDENTIAL_KEY_PASSWORD(_FILE) "
            "or the issuer keystore password"
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(f"credential key not found: {path}") from None
    try:
        key = serialization.load_pem_private_key(data, password.encode("utf-8"))
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"cannot decrypt credential key {path}: wrong password or damaged file"
        ) from None
    if not isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey)):
        raise ConfigurationError(f"credential key {path} is neither Ed25519 nor P-256")
    try:
        return LocalSigner(key, verification_method)
    except ValueError as exc:
        raise ConfigurationError(f"credential key {path}: {exc}") from None


def verification_method_id(did: str | None, public_key_multibase: str, key_type: KeyType) -> str:
    """The verification method a key signs as under the issuer's DID (see the module docstring)."""
    if did is None:
        raise ConfigurationError("the issuer has no DID: register it (did:web or did:key) before signing")
    if did.startswith("did:key:"):
        own = did_key(public_key_multibase)
        if own != did:
            raise ConfigurationError(f"the issuer's DID {did} is not the did:key of its signing key ({own})")
        return f"{did}#{public_key_multibase}"
    if did.startswith("did:web:"):
        return f"{did}#{_FRAGMENT[key_type]}"
    raise ConfigurationError(
        f"the issuer's DID {did} is neither did:web nor did:key: standard verifiers cannot resolve its key"
    )


def _password(settings: Settings) -> str | None:
    return settings.credential_password()


def _load_ref(settings: Settings, ref: str) -> LocalSigner:
    scheme, _, target = ref.partition(":")
    if scheme == "file" and target:
        return read_key_file(target, _password(settings))
    if scheme == "env" and target:
        value = os.environ.get(target)
        if value is None and target == ENV_KEY_VARIABLE and settings.credential_key is not None:
            value = settings.credential_key.get_secret_value()
        if not value:
            raise ConfigurationError(f"credential key variable {target} is not set")
        try:
            return LocalSigner.from_secret_multibase(value.strip())
        except ValueError as exc:
            raise ConfigurationError(f"{target} is not a secretKeyMultibase: {exc}") from None
    raise ConfigurationError(f"unknown credential key reference scheme {scheme!r} (file: or env:)")


@dataclass(frozen=True)
class _Cached:
    ref: str
    did: str | None
    signer: LocalSigner


_cache: dict[tuple[int | None, KeyType], _Cached] = {}
_cache_lock = Lock()


def can_sign(issuer: Issuer) -> bool:
    """The issuer has an Ed25519 signing key reference (the node signs its credentials)."""
    return bool(issuer.signing_key_ref)


def load_credential_signer(
    settings: Settings, issuer: Issuer, key_type: KeyType = KeyType.ED25519
) -> CredentialSigner:
    """The issuer's signer of `key_type`, under its DID's verification method. Decrypted once per process
    (scrypt/PBKDF per request would cost more than the signature); ConfigurationError when the issuer has no
    such key or it cannot be read."""
    ref = issuer.signing_key_ref if key_type == KeyType.ED25519 else issuer.signing_key_p256_ref
    if not ref:
        raise ConfigurationError(f"issuer {issuer.name} has no {key_type.value} credential-signing key")
    key = (issuer.id, key_type)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and hit.ref == ref and hit.did == issuer.did:
        return hit.signer
    loaded = _load_ref(settings, ref)
    if loaded.key_type != key_type:
        raise ConfigurationError(f"issuer {issuer.name}'s {ref.split(':')[0]} key is not {key_type.value}")
    vm = verification_method_id(issuer.did, loaded.public_key_multibase, key_type)
    signer = loaded.with_verification_method(vm)
    with _cache_lock:
        _cache[key] = _Cached(ref, issuer.did, signer)
    return signer


def attach_configured_keys(session: Session, settings: Settings, issuer: Issuer) -> bool:
    """Give the node's own issuer the keys the settings name (a key file that exists, or
    CREDREG_CREDENTIAL_KEY) when its row has none yet; stores the references and public keys. True when changed."""
    changed = False
    if not issuer.signing_key_ref:
        ref = None
        if settings.credential_key is not None:
            ref = f"env:{ENV_KEY_VARIABLE}"
        elif settings.credential_key_file is not None and settings.credential_key_file.exists():
            ref = f"file:{settings.credential_key_file.resolve()}"
        if ref is not None:
            signer = _load_ref(settings, ref)
            if signer.key_type != KeyType.ED25519:
                raise ConfigurationError("the credential key (Ed25519) setting holds another key type")
            verification_method_id(issuer.did, signer.public_key_multibase, KeyType.ED25519)
            issuer.signing_key_ref, issuer.verification_key = ref, signer.public_key_multibase
            changed = True
    p256 = settings.credential_key_p256_file
    if not issuer.signing_key_p256_ref and p256 is not None and p256.exists():
        signer = _load_ref(settings, f"file:{p256.resolve()}")
        if signer.key_type != KeyType.P256:
            raise ConfigurationError(f"{p256} does not hold a P-256 key")
        issuer.signing_key_p256_ref = f"file:{p256.resolve()}"
        issuer.verification_key_p256 = signer.public_key_multibase
        changed = True
    if changed:
        session.add(issuer)
        session.commit()
        session.refresh(issuer)
    return changed
