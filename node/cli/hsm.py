"""`credreg keys hsm-list | hsm-new`: the keys in a PKCS#11 token (an HSM, SoftHSM2), listed and generated.

Importing this module adds the two commands to the `credreg keys` group (``node.cli.registry.keys_app``).

The PIN comes from $CREDREG_PKCS11_PIN or a file (--pin-file / $CREDREG_PKCS11_PIN_FILE), never from the command
line. Only public keys are printed; generated keys are sensitive and not extractable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from node.auth.pkcs11 import HsmKey, HsmKeyKind, Pkcs11Error, Pkcs11Token
from node.cli.registry import EXIT_UNAVAILABLE, fail, keys_app

console = Console()

PIN_ENV = "CREDREG_PKCS11_PIN"

Module = typer.Option(
    ...,
    "--module",
    envvar="CREDREG_PKCS11_MODULE",
    help="The token vendor's PKCS#11 library (e.g. /usr/lib/softhsm/libsofthsm2.so).",
)
TokenLabel = typer.Option(..., "--token", envvar="CREDREG_PKCS11_TOKEN_LABEL", help="The token's label.")
PinFile = typer.Option(
    None,
    "--pin-file",
    envvar="CREDREG_PKCS11_PIN_FILE",
    help=f"File holding the user PIN (else ${PIN_ENV}).",
)
JsonOut = typer.Option(False, "--json", help="Print the keys as JSON.")


def _open(module: Path, token: str, pin_file: Path | None) -> Pkcs11Token:
    pin = os.environ.get(PIN_ENV)
    if pin is None and pin_file is not None:
        try:
            pin = pin_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise fail(f"cannot read the PIN file {pin_file}: {exc.strerror}", EXIT_UNAVAILABLE) from None
    if not pin:
        raise fail(f"no PIN: set ${PIN_ENV} or pass --pin-file", EXIT_UNAVAILABLE)
    try:
        return Pkcs11Token.open(module, token, pin)
    except Pkcs11Error as exc:
        raise fail(str(exc), EXIT_UNAVAILABLE) from None


def _row(key: HsmKey) -> dict[str, str | None]:
    return {
        "label": key.label,
        "type": key.kind.value,
        "id": key.key_id.hex(),
        "publicKeyMultibase": key.public_key_multibase,
        "address": key.address,
        "use": "chain transactions" if key.address else "credential proofs",
    }


def _print(keys: list[HsmKey], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps([_row(k) for k in keys], indent=2))
        return
    table = Table(title=title)
    table.add_column("label", overflow="fold", min_width=12)
    table.add_column("type", no_wrap=True, min_width=9)
    table.add_column("public key / address", no_wrap=True, min_width=48)  # copied whole, never folded
    for key in keys:  # the PKCS#11 CKA_ID is in --json
        table.add_row(key.label, key.kind.value, key.address or key.public_key_multibase or "")
    console.print(table)


@keys_app.command(name="hsm-list")
def hsm_list(
    module: Path = Module,
    token: str = TokenLabel,
    pin_file: Path | None = PinFile,
    as_json: bool = JsonOut,
) -> None:
    """List the Ed25519, P-256 and secp256k1 keys in a PKCS#11 token: label, type, and the public key
    (publicKeyMultibase for credential keys, the Ethereum address for chain keys). Nothing secret is read.

    Example: CREDREG_PKCS11_PIN=... credreg keys hsm-list --module /usr/lib/softhsm/libsofthsm2.so --token credreg
    """
    hsm = _open(module, token, pin_file)
    try:
        keys = hsm.keys()
    except Pkcs11Error as exc:
        raise fail(str(exc), EXIT_UNAVAILABLE) from None
    _print(keys, as_json, f"{len(keys)} keys in token {token!r}")


@keys_app.command(name="hsm-new")
def hsm_new(
    label: str = typer.Option(..., "--label", help="Label of the new key pair (CREDREG_PKCS11_*_KEY_LABEL)."),
    kind: HsmKeyKind = typer.Option(
        ..., "--type", help="ed25519 or p256 for credential proofs, secp256k1 for the chain key."
    ),
    module: Path = Module,
    token: str = TokenLabel,
    pin_file: Path | None = PinFile,
    as_json: bool = JsonOut,
) -> None:
    """Generate a key pair inside a PKCS#11 token (sensitive, never extractable) and print its public key.

    Example: CREDREG_PKCS11_PIN=... credreg keys hsm-new --label issuer-chain --type secp256k1 --module /usr/lib/softhsm/libsofthsm2.so --token credreg
    """
    hsm = _open(module, token, pin_file)
    try:
        key = hsm.generate(label, kind)
    except Pkcs11Error as exc:
        raise fail(str(exc)) from None
    _print([key], as_json, f"new key in token {token!r}")
