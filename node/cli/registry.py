"""`credreg registry accredit | suspend | reinstate | revoke | show | list` and `credreg keys new | import | address`.

Registry writes are signed with the operator's key from an encrypted keystore (``--keystore``; password from
``--password-file``, which wins, or ``CREDREG_KEYSTORE_PASSWORD``). Contract refusals come back as one clear line on
stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path

import typer
from eth_account import Account
from rich.console import Console
from rich.table import Table

from anchoring.chain.contracts import IssuerRegistry
from anchoring.chain.deployment import Deployment, DeploymentFileError
from anchoring.chain.rpc import connect
from anchoring.errors import ChainError, ContractRevert
from anchoring.scheme.encoding import to_hex
from node.auth.keys import KeystoreError, keystore_address, read_keystore, read_password, write_keystore
from node.registry import operations
from node.registry.accreditation import (
    DocumentError,
    document_hash,
    load_document,
    scope_text,
    store_document,
)

registry_app = typer.Typer(
    help="Accredit, suspend, reinstate, revoke and inspect issuers in the IssuerRegistry.",
    no_args_is_help=True,
)
keys_app = typer.Typer(
    help="Create, import and inspect encrypted keystores (Web3 Secret Storage).", no_args_is_help=True
)
console = Console(emoji=False)  # DIDs such as did:key:... are no emoji shortcodes

PASSWORD_ENV = "CREDREG_KEYSTORE_PASSWORD"  # noqa: S105 - the name of a variable
EXIT_REFUSED = 1  # the contract or the input said no
EXIT_UNAVAILABLE = 2  # chain unreachable, missing files

# --- shared options ---------------------------------------------------------------------------------
Keystore = typer.Option(
    ...,
    "--keystore",
    envvar="CREDREG_OPERATOR_KEYSTORE",
    help="Encrypted keystore of the operator signing the transaction.",
)
PasswordFile = typer.Option(
    None,
    "--password-file",
    help=f"File holding the keystore password; wins over ${PASSWORD_ENV} when both are set.",
)
Rpc = typer.Option(..., "--rpc", envvar="CREDREG_RPC_URL", help="JSON-RPC endpoint of the chain.")
DeploymentOpt = typer.Option(
    ...,
    "--deployment",
    envvar="CREDREG_DEPLOYMENT_FILE",
    help="Deployment file naming the contracts (deployment.json).",
)
Confirmations = typer.Option(1, "--confirmations", min=1, help="Blocks to wait for before reporting success.")
JsonOut = typer.Option(False, "--json", help="Print the result as JSON.")


def fail(message: str, code: int = EXIT_REFUSED) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def cli_errors(action: str | None = None) -> Callable:
    """Turn every expected failure into one line on stderr and a non-zero exit code."""

    def deco(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except typer.Exit:
                raise
            except ContractRevert as exc:
                raise fail(operations.explain_revert(exc, action)) from None
            except ChainError as exc:
                raise fail(str(exc), EXIT_UNAVAILABLE) from None
            except (KeystoreError, DeploymentFileError) as exc:
                raise fail(str(exc), EXIT_UNAVAILABLE) from None
            except (DocumentError, ValueError) as exc:
                raise fail(str(exc)) from None
            except OSError as exc:
                raise fail(
                    f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), EXIT_UNAVAILABLE
                ) from None

        return wrapper

    return deco


def _password(password_file: Path | None) -> str:
    return read_password(os.environ.get(PASSWORD_ENV), password_file)


def _signer(keystore: Path, password_file: Path | None):
    return read_keystore(keystore, _password(password_file))


def _registry(rpc: str, deployment_file: Path):
    deployment = Deployment.load(deployment_file)
    w3 = connect(rpc, deployment=deployment)
    return w3, IssuerRegistry(w3, deployment.issuer_registry)


def _address(value: str) -> str:
    from web3 import Web3

    if not Web3.is_address(value):
        raise ValueError(f"not an Ethereum address: {value!r}")
    return Web3.to_checksum_address(value)


def _print_result(result: operations.OperationResult, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(
        f"{result.action} {result.account}: tx {result.tx_hash} in block {result.block_number} "
        f"(gas {result.gas_used})"
    )
    if result.document_hash:
        typer.echo(f"documentHash {result.document_hash}")


# --- registry writes ------------------------------------------------------------------------------------
@registry_app.command()
@cli_errors("accredit")
def accredit(
    address: str = typer.Argument(..., help="Address that will sign for the new entry."),
    kind: str = typer.Option(..., "--kind", help="ti | tao | root-tao"),
    did: str = typer.Option(..., "--did", help="The entry's DID, e.g. did:web:uni.example."),
    document: Path = typer.Option(
        ...,
        "--document",
        exists=False,
        help="Accreditation document (JSON); keccak256 of its JCS form goes on chain.",
    ),
    scope: str | None = typer.Option(
        None,
        "--scope",
        help='Scope JSON (credential types, EQF levels, jurisdiction); default: the document\'s "scope".',
    ),
    valid_from: str | None = typer.Option(None, "--valid-from", help="Unix time or ISO date (default: now)."),
    valid_until: str | None = typer.Option(
        None, "--valid-until", help="Unix time or ISO date (default: open-ended)."
    ),
    keystore: Path = Keystore,
    password_file: Path | None = PasswordFile,
    rpc: str = Rpc,
    deployment: Path = DeploymentOpt,
    confirmations: int = Confirmations,
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        envvar="CREDREG_DATABASE_URL",
        help="Also store the document in this node database (served at "
        "/v1/registry/issuers/{address}/document).",
    ),
    as_json: bool = JsonOut,
) -> None:
    """Accredit ADDRESS as a TI, TAO or RootTAO, signed by the operator's keystore.

    Only an active RootTAO accredits TAOs and RootTAOs; an active TAO or RootTAO accredits TIs.

    Example: credreg registry accredit 0xAbC... --kind ti --did did:web:uni.example --scope '{"eqfLevels":[6,7],"jurisdiction":"NL"}' --document accreditation.json --keystore tao.json --rpc http://127.0.0.1:8545 --deployment data/deployment.json
    """
    account = _address(address)
    kind_value = operations.kind_from_name(kind)
    text = document.read_text(encoding="utf-8")
    doc = load_document(text)
    subject = doc.get("subject") or {}
    if subject.get("address") and _address(subject["address"]) != account:
        raise ValueError(f"the document's subject.address {subject['address']} is not {account}")
    if subject.get("kind") and subject["kind"] != kind_value.label:
        raise ValueError(f"the document's subject.kind {subject['kind']!r} is not {kind_value.label!r}")
    if scope is None:
        if "scope" not in doc:
            raise ValueError('no --scope given and the document has no "scope"')
        scope = doc["scope"]
    on_chain_scope = scope_text(scope)
    doc_hash = document_hash(doc)
    start, end = operations.parse_time(valid_from), operations.parse_time(valid_until)
    signer = _signer(keystore, password_file)
    w3, registry = _registry(rpc, deployment)
    result = operations.accredit(
        w3, registry, signer, account, kind_value, did, doc_hash, on_chain_scope, start, end, confirmations
    )
    if database_url:
        from node.storage.db import make_engine, session_factory, session_scope

        engine = make_engine(database_url)
        try:
            with session_scope(session_factory(engine)) as session:
                store_document(session, account, text)
        finally:
            engine.dispose()
    _print_result(result, as_json)


def _status_command(action: str, verb: str):
    @cli_errors(verb)
    def command(
        address: str = typer.Argument(..., help="The registry entry."),
        reason: str | None = typer.Option(None, "--reason", help="Why (its keccak256 goes on chain)."),
        keystore: Path = Keystore,
        password_file: Path | None = PasswordFile,
        rpc: str = Rpc,
        deployment: Path = DeploymentOpt,
        confirmations: int = Confirmations,
        as_json: bool = JsonOut,
    ) -> None:
        account = _address(address)
        signer = _signer(keystore, password_file)
        w3, registry = _registry(rpc, deployment)
        _print_result(
            operations.change_status(w3, registry, signer, action, account, reason, confirmations), as_json
        )

    return command


_STATUS_HELP = {
    "suspend": (
        "Suspend an active entry (it can be reinstated). Only its accreditor or an active RootTAO may.",
        (
            "credreg registry suspend 0xAbC... --reason 'audit pending' --keystore tao.json "
            "--rpc http://127.0.0.1:8545 --deployment data/deployment.json"
        ),
        "suspend",
    ),
    "reinstate": (
        "Reinstate a suspended entry. Only its accreditor or an active RootTAO may.",
        (
            "credreg registry reinstate 0xAbC... --reason 'audit passed' --keystore tao.json "
            "--rpc http://127.0.0.1:8545 --deployment data/deployment.json"
        ),
        "reinstate",
    ),
    "revoke": (
        "Revoke an entry for good (active or suspended). Only its accreditor or an active RootTAO may.",
        (
            "credreg registry revoke 0xAbC... --reason 'accreditation withdrawn' --keystore tao.json "
            "--rpc http://127.0.0.1:8545 --deployment data/deployment.json"
        ),
        "revoke",
    ),
}
for _action, (_help, _example, _verb) in _STATUS_HELP.items():
    _cmd = _status_command(_action, _verb)
    _cmd.__doc__ = f"{_help}\n\nExample: {_example}"
    registry_app.command(name=_action)(_cmd)


# --- registry reads -------------------------------------------------------------------------------------
@registry_app.command()
@cli_errors()
def show(
    address: str = typer.Argument(..., help="The registry entry."),
    rpc: str = Rpc,
    deployment: Path = DeploymentOpt,
    as_json: bool = JsonOut,
) -> None:
    """Show an entry, its status history and its chain of accreditors up to the RootTAO (read from the chain).

    Example: credreg registry show 0xAbC... --rpc http://127.0.0.1:8545 --deployment data/deployment.json
    """
    account = _address(address)
    _, registry = _registry(rpc, deployment)
    report = operations.issuer_report(registry, account)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    e = report["issuer"]
    console.print(f"[bold]{e['address']}[/bold]  {e['kind']}  [bold]{e['status']}[/bold]")
    console.print(f"did          {e['did']}")
    console.print(f"accreditor   {e['accreditor'] or '(none: founding RootTAO)'}")
    console.print(f"valid        {e['validFrom']} .. {e['validUntil'] or 'open-ended'}")
    console.print(f"documentHash {e['documentHash']}")
    console.print(f"scope        {e['scope']}")
    console.print(f"active TI now: {'yes' if report['activeTINow'] else 'no'}")
    table = Table(title="history")
    for col in ("time", "block", "status", "by"):
        table.add_column(col)
    for h in report["history"]:
        table.add_row(h["time"], str(h["block"]), h["status"], h["by"] or "-")
    console.print(table)
    if report["accreditationChain"]:
        console.print(
            "accreditation chain: "
            + " <- ".join(
                [e["address"]]
                + [f"{c['address']} ({c['kind']}, {c['status']})" for c in report["accreditationChain"]]
            )
        )


@registry_app.command(name="list")
@cli_errors()
def list_(
    kind: str | None = typer.Option(None, "--kind", help="ti | tao | root-tao"),
    status: str | None = typer.Option(None, "--status", help="active | suspended | revoked"),
    rpc: str = Rpc,
    deployment: Path = DeploymentOpt,
    as_json: bool = JsonOut,
) -> None:
    """List registry entries (from the chain), optionally filtered by kind and status.

    Example: credreg registry list --kind ti --status active --rpc http://127.0.0.1:8545 --deployment data/deployment.json
    """
    kind_value = operations.kind_from_name(kind) if kind else None
    status_value = operations.status_from_name(status) if status else None
    _, registry = _registry(rpc, deployment)
    rows = operations.list_issuers(registry, kind_value, status_value)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} registry entries")
    for col in ("address", "kind", "status", "accreditor", "did"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["address"], r["kind"], r["status"], r["accreditor"] or "-", r["did"])
    console.print(table)


# --- keys -------------------------------------------------------------------------------------------------
KdfIterations = typer.Option(
    None,
    "--kdf-iterations",
    hidden=True,
    help="scrypt cost (power of two); lower it only for throwaway test keys.",
)


def _new_password(password_file: Path | None) -> str:
    if os.environ.get(PASSWORD_ENV) is not None or password_file is not None:
        password = _password(password_file)
    else:
        password = typer.prompt("keystore password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise ValueError("the keystore password is empty")
    return password


def _refuse_overwrite(out: Path, force: bool) -> None:
    if out.exists() and not force:
        raise ValueError(f"{out} exists; pass --force to overwrite it")


@keys_app.command()
@cli_errors()
def new(
    out: Path = typer.Option(..., "--out", help="Keystore file to create (mode 0600)."),
    password_file: Path | None = PasswordFile,
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    kdf_iterations: int | None = KdfIterations,
) -> None:
    """Create a new key in an encrypted keystore and print only its address.

    The password comes from $CREDREG_KEYSTORE_PASSWORD, --password-file, or a prompt.

    Example: CREDREG_KEYSTORE_PASSWORD=... credreg keys new --out keys/operator.json
    """
    _refuse_overwrite(out, force)
    password = _new_password(password_file)
    account = Account.create()
    write_keystore(account, out, password, kdf_iterations)
    typer.echo(account.address)


@keys_app.command(name="import")
@cli_errors()
def import_(
    out: Path = typer.Option(..., "--out", help="Keystore file to create (mode 0600)."),
    from_env: str | None = typer.Option(
        None,
        "--from-env",
        metavar="VAR",
        help="Read the private key from this environment variable (default: read it from stdin).",
    ),
    password_file: Path | None = PasswordFile,
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    kdf_iterations: int | None = KdfIterations,
) -> None:
    """Encrypt an existing private key into a keystore. The key is read from stdin or an environment
    variable, never from the command line (argv is visible to every user of the machine).

    Example: credreg keys import --out keys/operator.json < operator.key
    """
    _refuse_overwrite(out, force)
    if from_env:
        raw = os.environ.get(from_env)
        if not raw:
            raise ValueError(f"environment variable {from_env} is not set")
    elif sys.stdin is not None and sys.stdin.isatty():
        raw = typer.prompt("private key (hex)", hide_input=True)
    else:
        raw = sys.stdin.read()
    raw = raw.strip()
    try:
        account = Account.from_key(raw)
    except Exception:  # noqa: BLE001 - never echo the value
        raise ValueError("that is not a valid private key (expected 32 bytes of hex)") from None
    password = _new_password(password_file)
    write_keystore(account, out, password, kdf_iterations)
    typer.echo(account.address)


@keys_app.command()
@cli_errors()
def address(keystore: Path = typer.Argument(..., help="Keystore file.")) -> None:
    """Print the address of a keystore without decrypting it.

    Example: credreg keys address keys/operator.json
    """
    try:
        typer.echo(keystore_address(keystore))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise KeystoreError(f"{keystore} is not a keystore (not JSON)") from None


__all__ = ["keys_app", "registry_app", "to_hex"]
