"""The issuer's chain key: in an HSM (PKCS#11), an encrypted keystore, or the environment."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount

from anchoring.chain.transactions import ChainSigner
from node.auth.keys import KeystoreError, read_keystore
from node.errors import ConfigurationError
from node.settings import Settings


def load_signing_account(settings: Settings) -> LocalAccount:
    """The issuer's key from an encrypted keystore (preferred) or CREDREG_ISSUER_PRIVATE_KEY."""
    if settings.issuer_keystore is not None:
        try:
            password = settings.keystore_password()
        except OSError as exc:
            raise ConfigurationError(
                f"CREDREG_ISSUER_KEYSTORE_PASSWORD_FILE cannot be read: {exc.strerror}: {exc.filename}"
            ) from None
        if password is None:
            raise ConfigurationError(
                "CREDREG_ISSUER_KEYSTORE is set but neither CREDREG_ISSUER_KEYSTORE_PASSWORD "
                "nor CREDREG_ISSUER_KEYSTORE_PASSWORD_FILE is"
            )
        try:
            return read_keystore(settings.issuer_keystore, password)
        except KeystoreError as exc:
            raise ConfigurationError(str(exc)) from None
    if settings.issuer_private_key is not None:
        try:
            return Account.from_key(settings.issuer_private_key.get_secret_value())
        except ValueError:
            raise ConfigurationError("CREDREG_ISSUER_PRIVATE_KEY is not a valid private key") from None
    raise ConfigurationError(
        "no issuer key: set CREDREG_ISSUER_KEYSTORE (+ password) or CREDREG_ISSUER_PRIVATE_KEY"
    )


def load_chain_signer(settings: Settings) -> ChainSigner:
    """The issuer's chain key: the HSM key CREDREG_PKCS11_CHAIN_KEY_LABEL when it is set (the key never leaves
    the token), else the keystore or environment key of :func:`load_signing_account`."""
    if settings.pkcs11_chain_key_label:
        from node.auth.pkcs11 import Pkcs11Token  # python-pkcs11 only where an HSM is configured

        return Pkcs11Token.from_settings(settings).chain_signer(settings.pkcs11_chain_key_label)
    return load_signing_account(settings)
