"""Signing keys from encrypted keystores (eth-account's Web3 Secret Storage JSON) or the environment.

Private keys never appear in code or logs: a keystore file plus a password (from the environment
or a file), or a key in an environment variable for throwaway setups.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3


class KeystoreError(ValueError):
    """A keystore cannot be read or decrypted; the message names the file, never the key."""


def write_keystore(
    account: LocalAccount, path: str | Path, password: str, iterations: int | None = None
) -> Path:
    """Encrypt `account` into `path` (mode 0600). `iterations` lowers scrypt cost for dev keys only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    encrypted = Account.encrypt(account.key, password, kdf="scrypt", iterations=iterations)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(encrypted, fh)
    return path


def read_keystore(path: str | Path, password: str) -> LocalAccount:
    path = Path(path)
    try:
        encrypted = json.loads(path.read_text())
    except FileNotFoundError:
        raise KeystoreError(f"keystore not found: {path}") from None
    except json.JSONDecodeError:
        raise KeystoreError(f"keystore {path} is not JSON") from None
    try:
        return Account.from_key(Account.decrypt(encrypted, password))
    except ValueError:
        raise KeystoreError(f"cannot decrypt keystore {path}: wrong password or damaged file") from None


def keystore_address(path: str | Path) -> str:
    """The address recorded in a keystore, without decrypting it."""
    data = json.loads(Path(path).read_text())
    address = data.get("address")
    if not isinstance(address, str):
        raise KeystoreError(f"keystore {path} records no address")
    return Web3.to_checksum_address(address)


def read_password(password: str | None = None, password_file: str | Path | None = None) -> str:
    """The keystore password from a file or a value (e.g. an env var); the file's last newline is dropped.

    An explicit password file wins over the value: a ``--password-file`` on the command line is what the
    operator asked for, while ``CREDREG_KEYSTORE_PASSWORD`` may linger in a shell or a service's environment."""
    if password_file is not None:
        try:
            return Path(password_file).read_text().removesuffix("\n")
        except FileNotFoundError:
            raise KeystoreError(f"password file not found: {password_file}") from None
    if password is not None:
        return password
    raise KeystoreError("no keystore password: set it in the environment or point at a password file")


def new_password_file(path: str | Path) -> str:
    """Create a random password in a 0600 file (for dev keystores) and return it."""
    password = secrets.token_urlsafe(32)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password)
    return password
