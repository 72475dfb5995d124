"""`credreg issuer add | list`: the universities (tenants) of this node, each with its own chain key.

``issuer add`` does what a new university on an alliance node needs, in order: a chain key in an encrypted keystore
(or an existing one), ether for it on a dev chain, its accreditation as a TI by a TAO (``--accredit-with``), the
issuer row naming its keystore, and an API token. It prints what to keep. A running node starts the new issuer's
signer loop by itself within a few seconds.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import typer
from eth_account import Account
from rich.console import Console
from rich.table import Table
from sqlmodel import col, select

from anchoring.chain.contracts import IssuerKind, IssuerRegistry
from anchoring.chain.deployment import Deployment, DeploymentFileError
from anchoring.chain.rpc import connect
from anchoring.errors import ChainError, ContractRevert
from node.auth.keys import (
    KeystoreError,
    keystore_address,
    new_password_file,
    read_keystore,
    read_password,
    write_keystore,
)
from node.auth.tenants import key_problem
from node.auth.tokens import IssuerError, create_token, get_issuer_by_name, normalize_address
from node.dev.chains import DevChainError
from node.dev.devchain import chain_status
from node.dev.funding import DEFAULT_FUNDING_WEI, fund
from node.registry import operations
from node.registry.accreditation import (
    DocumentError,
    document_hash,
    load_document,
    scope_text,
    store_document,
)
from node.settings import Settings
from node.storage.db import make_engine, session_factory, session_scope, upgrade
from node.storage.models import Issuer

app = typer.Typer(
    help="The issuers (universities) of this node, each with its own chain key.", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)

PASSWORD_ENV = "CREDREG_KEYSTORE_PASSWORD"  # noqa: S105 - the name of a variable
DEFAULT_SCOPE = {"credentialTypes": ["MicroCredential", "OpenBadgeCredential"], "eqfLevels": [5, 6, 7, 8]}

DataDir = typer.Option(Path("data"), "--data-dir", envvar="CREDREG_DATA_DIR", help="The node's data folder.")
DatabaseUrl = typer.Option(
    None,
    "--database-url",
    envvar="CREDREG_DATABASE_URL",
    help="SQLAlchemy URL (default: the data folder's SQLite).",
)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "issuer"


def _settings(data_dir: Path, database_url: str | None) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url or None)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@app.command()
def add(
    name: str = typer.Argument(..., help="The issuer's name on this node, e.g. 'University of Tartu'."),
    did: str = typer.Option(..., "--did", help="The issuer's DID, e.g. did:web:ut.ee."),
    keystore: Path | None = typer.Option(
        None, "--keystore", help="Use this existing chain keystore instead of creating a new key."
    ),
    password_file: Path | None = typer.Option(
        None,
        "--password-file",
        help="Password of --keystore (or for the new key); wins over $CREDREG_KEYSTORE_PASSWORD. "
        "Default for a new key: a random password in a 0600 file beside it.",
    ),
    accredit_with: Path | None = typer.Option(
        None,
        "--accredit-with",
        help="Keystore of an active TAO (or RootTAO) that accredits the issuer as a TI.",
    ),
    accreditor_password_file: Path | None = typer.Option(
        None,
        "--accreditor-password-file",
        help="Password of --accredit-with (else $CREDREG_KEYSTORE_PASSWORD).",
    ),
    scope: str | None = typer.Option(
        None,
        "--scope",
        help=f"Accreditation scope JSON (default {json.dumps(DEFAULT_SCOPE)}, or the document's).",
    ),
    document: Path | None = typer.Option(
        None,
        "--document",
        help="Accreditation document (JSON); default: one written from the name, DID and scope.",
    ),
    fund_key: bool = typer.Option(
        True,
        "--fund/--no-fund",
        help="Give the key 100 ETH when the chain is a dev chain (else say it needs funds).",
    ),
    token: bool = typer.Option(True, "--token/--no-token", help="Create an API token for the issuer."),
    data_dir: Path = DataDir,
    database_url: str | None = DatabaseUrl,
    rpc: str | None = typer.Option(
        None,
        "--rpc",
        envvar="CREDREG_RPC_URL",
        help="JSON-RPC endpoint (default: the data folder's dev chain).",
    ),
    deployment_file: Path | None = typer.Option(
        None,
        "--deployment",
        envvar="CREDREG_DEPLOYMENT_FILE",
        help="Deployment file (default: DATA/deployment.json).",
    ),
    confirmations: int = typer.Option(
        1, "--confirmations", min=1, help="Blocks to wait for the accreditation."
    ),
    kdf_iterations: int | None = typer.Option(
        None,
        "--kdf-iterations",
        hidden=True,
        help="scrypt cost of a new keystore; lower it only for test keys.",
    ),
) -> None:
    """Add a university to this node: its chain key, funds on a dev chain, its accreditation, its API token.

    Example: credreg issuer add "University of Tartu" --did did:web:ut.ee --accredit-with data/keys/tao.json --accreditor-password-file data/keys/password
    """
    settings = _settings(data_dir, database_url)
    keys_dir = data_dir / "keys" / "issuers"
    try:
        # the key: an existing keystore, or a new one with its own password file
        if keystore is not None:
            keystore = keystore.resolve()
            address = keystore_address(keystore)
            if password_file is None:  # the pipeline reads each tenant's password from its file
                raise KeystoreError(f"pass --password-file: the file holding the password of {keystore}")
            read_keystore(keystore, read_password(None, password_file))  # the password opens it
            created = False
        else:
            keystore = (keys_dir / f"{_slug(name)}.json").resolve()
            if keystore.exists():
                raise ValueError(f"{keystore} exists: pass it with --keystore, or choose another name")
            if password_file is None:
                password_file = keystore.with_suffix(".password")
                password = new_password_file(password_file)
            else:
                password = read_password(None, password_file)
            account = Account.create()
            write_keystore(account, keystore, password, kdf_iterations)
            address, created = account.address, True
        password_file = password_file.resolve()

        # the issuer row (checked before any transaction: a name or address already taken stops here)
        engine = make_engine(settings.resolved_database_url)
        upgrade(engine)
        factory = session_factory(engine)
        with session_scope(factory) as session:
            existing = get_issuer_by_name(session, name)
            by_address = session.exec(
                select(Issuer).where(Issuer.address == normalize_address(address))
            ).first()
            if by_address is not None and (existing is None or by_address.id != existing.id):
                raise IssuerError(f"address {address} already belongs to issuer {by_address.name!r}")
            if existing is not None and existing.address != address:
                raise IssuerError(f"issuer {name!r} exists with address {existing.address}, not {address}")

        # the chain: funds on a dev chain, then the accreditation
        url = rpc or (chain_status(data_dir) or {}).get("rpc_url")
        dep_path = deployment_file or settings.resolved_deployment_file
        accredited = None
        funded = None
        if url is not None and (fund_key or accredit_with is not None):
            deployment = Deployment.load(dep_path)
            w3 = connect(str(url), deployment=deployment)
            if fund_key:
                try:
                    funded = fund(w3, address, DEFAULT_FUNDING_WEI)
                except DevChainError:
                    funded = None
                    err.print(f"not a dev chain: send {address} ether for its anchoring transactions")
            if accredit_with is not None:
                tao = read_keystore(
                    accredit_with, read_password(os.environ.get(PASSWORD_ENV), accreditor_password_file)
                )
                if document is not None:
                    text = document.read_text(encoding="utf-8")
                    doc = load_document(text)
                else:
                    doc = {
                        "type": "credreg-accreditation/1",
                        "subject": {"address": address, "did": did, "kind": "ti", "name": name},
                        "accreditor": {"address": tao.address},
                        "scope": json.loads(scope) if scope else DEFAULT_SCOPE,
                    }
                    text = json.dumps(doc, indent=2)
                    load_document(text)
                on_chain_scope = scope_text(scope if scope else doc.get("scope", DEFAULT_SCOPE))
                registry = IssuerRegistry(w3, deployment.issuer_registry)
                with console.status(f"accrediting {address} as a TI, signed by {tao.address}..."):
                    accredited = operations.accredit(
                        w3,
                        registry,
                        tao,
                        address,
                        IssuerKind.TI,
                        did,
                        document_hash(doc),
                        on_chain_scope,
                        confirmations=confirmations,
                    )
                with session_scope(factory) as session:
                    store_document(session, address, text)
        elif accredit_with is not None:
            raise ValueError(
                "--accredit-with needs a chain: pass --rpc (or start the dev chain of --data-dir)"
            )

        # the row names the keystore: from here the node's pipeline anchors with it
        with session_scope(factory) as session:
            issuer = get_issuer_by_name(session, name)
            if issuer is None:
                issuer = Issuer(name=name, address=normalize_address(address), did=did)
            issuer.did = issuer.did or did
            issuer.keystore = str(keystore)
            issuer.keystore_password_file = str(password_file)
            session.add(issuer)
            session.flush()
            assert issuer.id is not None  # a stored issuer
            problem = key_problem(issuer, settings)
            new_token = create_token(session, issuer.id, label=f"issuer add {name}") if token else None
            plaintext = new_token.token if new_token else None
        engine.dispose()
    except ContractRevert as exc:
        raise _fail(operations.explain_revert(exc, "accredit")) from None
    except (ChainError, KeystoreError, DeploymentFileError, DevChainError) as exc:
        raise _fail(str(exc), 2) from None
    except (IssuerError, DocumentError, ValueError) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), 2) from None

    console.print(f"[bold]{name}[/bold] ({did}) added as issuer of this node")
    console.print(f"chain address   {address}")
    console.print(f"keystore        {keystore}{' (new)' if created else ''}")
    console.print(f"password file   {password_file}")
    if funded is not None:
        console.print(f"funded          {funded / 10**18:g} ETH (dev chain)")
    if accredited is not None:
        console.print(f"accredited      TI in tx {accredited.tx_hash} (block {accredited.block_number})")
    elif accredit_with is None:
        console.print(
            "accredited      not yet: a TAO accredits it with `credreg registry accredit ADDRESS --kind ti`"
        )
    if problem:
        err.print(f"[yellow]warning:[/yellow] {problem}")
    console.print(
        "keep: the keystore and its password file (back them up apart); the token below, shown once:"
    )
    if plaintext:
        print(plaintext)


@app.command(name="list")
def list_(data_dir: Path = DataDir, database_url: str | None = DatabaseUrl) -> None:
    """List the issuers of this node, their chain addresses and whether the node holds a usable key for each.

    Example: credreg issuer list --data-dir data
    """
    settings = _settings(data_dir, database_url)
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_factory(engine)() as session:
            rows = session.exec(select(Issuer).order_by(col(Issuer.id))).all()
            table = Table(title=f"{len(rows)} issuers")
            for column in ("id", "name", "address", "did", "key"):
                table.add_column(column, overflow="fold")
            for row in rows:
                problem = key_problem(row, settings)
                key = row.keystore or "the node's key"
                table.add_row(
                    str(row.id),
                    row.name,
                    row.address,
                    row.did or "-",
                    f"{key}" + (" (UNUSABLE)" if problem else ""),
                )
    finally:
        engine.dispose()
    console.print(table)
