"""`credreg mail deliver`: send the queued e-mails (share links to learners) that are due, each at most once.

`credreg serve` does this in the background every CREDREG_MAIL_POLL_SECONDS when CREDREG_SMTP_HOST is set; this
command is for a node run without it, or cron.
"""

from __future__ import annotations

import typer
from rich.console import Console

from node.learners.mail import deliver_due
from node.settings import Settings
from node.storage.db import make_engine, session_factory

console = Console(stderr=True)
app = typer.Typer(help="E-mail delivery of share links (a retry queue in the database).")


@app.command()
def deliver(limit: int = typer.Option(500, min=1, help="At most this many messages in this run.")) -> None:
    """Send every queued e-mail that is due through CREDREG_SMTP_HOST; print what happened.

    Example: CREDREG_SMTP_HOST=smtp.example.org CREDREG_SMTP_USERNAME=node credreg mail deliver
    """
    settings = Settings()
    if not settings.smtp_host:
        console.print(
            "[red]no SMTP server configured:[/red] set CREDREG_SMTP_HOST (and CREDREG_SMTP_PORT, ...)"
        )
        raise typer.Exit(2)
    engine = make_engine(settings.resolved_database_url)
    try:
        run = deliver_due(session_factory(engine), settings, limit=limit)
    finally:
        engine.dispose()
    print(
        f"sent {run.sent}, retrying {run.retrying}, failed {run.failed}, interrupted {run.interrupted}",
        flush=True,
    )
