"""Issuers as tenants of one node: each issuer's chain key, and whether this node can anchor for it.

An issuer row names its own encrypted keystore (``issuer.keystore``, written by ``credreg issuer add``), or, without
one, uses the node's configured key (``CREDREG_ISSUER_KEYSTORE`` / ``CREDREG_ISSUER_PRIVATE_KEY``) when the addresses
match: the single-issuer node of before. :func:`key_problem` answers "can this node anchor for the issuer?" without
decrypting anything (it runs on every accept); :func:`load_tenant_keys` decrypts the keys for the pipeline, which
runs one signer loop per key (``node.pipeline.runtime``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlmodel import Session, col, select

from node.auth.keys import KeystoreError, keystore_address, read_keystore, read_password
from node.errors import Conflict, NotFound
from node.settings import Settings
from node.storage.models import Issuer

__all__ = ["TenantKey", "key_problem", "load_tenant_keys", "node_key_address", "require_usable_key"]

log = logging.getLogger("credreg.tenants")


def node_key_address(settings: Settings) -> str | None:
    """The address of the node's configured chain key, read without decrypting; None when none is configured."""
    if settings.pkcs11_chain_key_label:  # the HSM key wins (load_chain_signer); only its public part is read
        from node.auth.signers import load_chain_signer

        try:
            return load_chain_signer(settings).address
        except Exception:  # noqa: BLE001 - an unusable token is "no usable key", reported by key_problem's caller
            return None
    if settings.issuer_keystore is not None:
        try:
            return keystore_address(settings.issuer_keystore)
        except (OSError, ValueError):
            return None
    if settings.issuer_private_key is not None:
        try:
            return Account.from_key(settings.issuer_private_key.get_secret_value()).address
        except ValueError:
            return None
    return None


def key_problem(issuer: Issuer, settings: Settings) -> str | None:
    """Why this node cannot anchor for `issuer` (a sentence naming it), or None when it can.

    Cheap (no decryption): the keystore must exist and hold the issuer's address; an issuer without a keystore must
    be the node's configured key. A node configured with no key at all (an API-only set-up) cannot tell and
    accepts."""
    if issuer.keystore:
        path = Path(issuer.keystore)
        try:
            address = keystore_address(path)
        except FileNotFoundError:
            return f"issuer {issuer.name!r} ({issuer.address}) has no usable chain key: its keystore {path} is missing"
        except (OSError, ValueError):
            return (
                f"issuer {issuer.name!r} ({issuer.address}) has no usable chain key: {path} is not a keystore"
            )
        if address != issuer.address:
            return (
                f"issuer {issuer.name!r} ({issuer.address}) has no usable chain key: its keystore {path} holds "
                f"{address}"
            )
        return None
    configured = node_key_address(settings)
    if configured is None or configured == issuer.address:
        return None
    return (
        f"issuer {issuer.name!r} ({issuer.address}) has no chain key on this node (the node's own key is "
        f"{configured}): give it one with `credreg issuer add {issuer.name} --keystore FILE`"
    )


def require_usable_key(session: Session, issuer_id: int, settings: Settings) -> None:
    """Refuse (Conflict, naming the issuer) to accept credentials that this node could never anchor."""
    issuer = session.get(Issuer, issuer_id)
    if issuer is None:
        raise NotFound(f"issuer {issuer_id} not found")
    problem = key_problem(issuer, settings)
    if problem is not None:
        raise Conflict(
            f"{problem}; nothing was stored",
            [{"pointer": "", "field": "issuer", "message": problem, "issuer": issuer.name}],
            slug="issuer-key-unusable",
            title="The issuer has no usable chain key",
        )


@dataclass
class TenantKey:
    """One issuer's chain key as the pipeline holds it; ``problem`` says why ``account`` is None."""

    issuer_id: int
    name: str
    address: str
    account: LocalAccount | None = field(default=None, repr=False)
    problem: str | None = None


def _password(issuer: Issuer, settings: Settings) -> str:
    if issuer.keystore_password_file:
        return read_password(None, issuer.keystore_password_file)
    password = settings.keystore_password()
    if password is None:
        raise KeystoreError(
            f"no password for {issuer.keystore}: set the issuer's keystore_password_file or "
            "CREDREG_ISSUER_KEYSTORE_PASSWORD(_FILE)"
        )
    return password


def load_tenant_keys(session: Session, settings: Settings, skip: set[int] | None = None) -> list[TenantKey]:
    """Decrypt the keystore of every issuer that names one (except the ids in `skip`). A key that cannot be
    loaded comes back with its ``problem`` (and is logged); it never stops the others."""
    rows = session.exec(
        select(Issuer).where(col(Issuer.keystore).is_not(None)).order_by(col(Issuer.id))
    ).all()
    keys = []
    for issuer in rows:
        assert issuer.id is not None  # a stored issuer
        if skip and issuer.id in skip:
            continue
        key = TenantKey(issuer.id, issuer.name, issuer.address)
        try:
            account = read_keystore(str(issuer.keystore), _password(issuer, settings))
            if account.address != issuer.address:
                raise KeystoreError(f"{issuer.keystore} holds {account.address}, not {issuer.address}")
            key.account = account
        except (KeystoreError, OSError) as exc:
            key.problem = f"issuer {issuer.name!r}: {exc}"
            log.error("no signer for %s", key.problem)
        keys.append(key)
    return keys
