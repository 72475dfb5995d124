"""`credreg db ...` and `credreg token ...` commands.

``app`` holds both groups (``db``, ``token``); ``db_app`` and ``token_app`` are exposed too so the main
CLI can mount them wherever it likes (``app.add_typer(db_app, name="db")``).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from node.auth.tokens import IssuerError, create_token, get_or_create_issuer, list_tokens, revoke_token
from node.settings import Settings, get_settings
from node.storage.db import current_revision, make_engine, session_factory, session_scope, upgrade
from node.storage.models import TokenRole

app = typer.Typer(help="Database and API token administration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
token_app = typer.Typer(help="API bearer tokens (only their SHA-256 is stored).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")

console = Console()
err = Console(stderr=True)


def _settings(database_url: str | None) -> Settings:
    return Settings(database_url=database_url) if database_url else get_settings()


_ROLE_OPT = typer.Option(TokenRole.issuer, "--role", help="issuer (may issue) or reader (read-only)")
DbOpt = typer.Option(None, "--database-url", envvar="CREDREG_DATABASE_URL", help="SQLAlchemy URL")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head"), database_url: str | None = DbOpt) -> None:
    """Apply migrations (creates the schema on an empty database)."""
    s = _settings(database_url)
    engine = make_engine(s.resolved_database_url)
    try:
        upgrade(engine, revision)
        console.print(f"schema at [bold]{current_revision(engine)}[/bold] ({engine.url.render_as_string()})")
    finally:
        engine.dispose()


@db_app.command("current")
def db_current(database_url: str | None = DbOpt) -> None:
    """Show the schema revision."""
    engine = make_engine(_settings(database_url).resolved_database_url)
    try:
        console.print(current_revision(engine) or "(empty)")
    finally:
        engine.dispose()


@db_app.command("backup")
def db_backup(
    out: Path = typer.Argument(
        ..., help="Where to write the copy (a SQLite file, or a pg_dump custom-format file)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT if it exists."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    database_url: str | None = DbOpt,
) -> None:
    """Take a consistent copy of the node's database, while the node runs (what `credreg audit` wants).

    SQLite: the online backup API, page by page; the copy is one self-contained file (rollback-journal mode,
    no -wal beside it), checked with PRAGMA quick_check. A plain cp of a running node's file is not a copy:
    its last transactions may still be in the -wal file. PostgreSQL: pg_dump (custom format, one snapshot;
    the password goes through PGPASSWORD, never the command line); restore it with pg_restore.

    Example: credreg db backup backups/node-2026-12-01.db --database-url sqlite:///data/credreg.db
    """
    from node.storage.backup import BackupError, backup_database

    url = _settings(database_url).database_url
    assert url, "Settings fills in the SQLite default"
    with Progress(
        TextColumn("backing up"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("backup", total=None)
        try:
            result = backup_database(
                url, out, lambda done, total: bar.update(task, completed=done, total=total), force=force
            )
        except BackupError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    unit = "pages" if result.kind == "sqlite" else "tables"
    console.print(
        f"{result.kind} backup written to {result.path} ({result.bytes:,} bytes, {result.units} {unit})"
        + (f"; {result.note}" if result.note else "")
    )


@token_app.command("create")
def token_create(
    issuer: str = typer.Option(..., "--issuer", help="issuer name (created if new)"),
    address: str = typer.Option(..., "--address", help="the issuer's 0x signing address"),
    did: str | None = typer.Option(None, "--did"),
    role: TokenRole = _ROLE_OPT,
    label: str | None = typer.Option(None, "--label"),
    database_url: str | None = DbOpt,
) -> None:
    """Create a token; the plaintext is printed once (stdout, alone on its line)."""
    engine = make_engine(_settings(database_url).resolved_database_url)
    try:
        with session_scope(session_factory(engine)) as session:
            iss = get_or_create_issuer(session, issuer, address, did)
            assert iss.id is not None  # a stored issuer
            new = create_token(session, iss.id, role, label)
            token_id, prefix = new.record.id, new.record.prefix
    except IssuerError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    err.print(
        f"token {token_id} ({prefix}...) for issuer {issuer}, role {role.value}; store it now, "
        "it is not shown again:"
    )
    print(new.token)


@token_app.command("list")
def token_list(database_url: str | None = DbOpt) -> None:
    """List tokens (prefix only)."""
    engine = make_engine(_settings(database_url).resolved_database_url)
    try:
        with session_factory(engine)() as session:
            rows = list_tokens(session)
    finally:
        engine.dispose()
    table = Table("id", "prefix", "issuer", "address", "role", "label", "created", "revoked")
    for tok, iss in rows:
        table.add_row(
            str(tok.id),
            tok.prefix + "...",
            iss.name,
            iss.address,
            tok.role,
            tok.label or "",
            tok.created_at.isoformat(timespec="seconds"),
            tok.revoked_at.isoformat(timespec="seconds") if tok.revoked_at else "",
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token: str = typer.Argument(..., help="token id, display prefix or the full token"),
    database_url: str | None = DbOpt,
) -> None:
    """Revoke a token (takes effect on the next request)."""
    engine = make_engine(_settings(database_url).resolved_database_url)
    try:
        with session_scope(session_factory(engine)) as session:
            tok = revoke_token(session, token)
            if tok is None:
                err.print(f"[red]error:[/red] no token {token!r}")
                raise typer.Exit(1)
            assert tok.revoked_at is not None  # revoke_token sets it
            console.print(
                f"token {tok.id} ({tok.prefix}...) revoked at {tok.revoked_at.isoformat(timespec='seconds')}"
            )
    except IssuerError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
