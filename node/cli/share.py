"""`credreg share create|list|revoke`: the learner's share links, through a node's API (HTTP only, like
`credreg revoke`: it works against any node). The link is printed once; the node keeps only its hash."""

from __future__ import annotations

import httpx
import typer
from rich.console import Console

from node.cli.issue import problem_text

console = Console(stderr=True)
app = typer.Typer(help="Share links for learners: a private URL per credential (page, PDF, wallet download).")

_URL = typer.Option("http://127.0.0.1:8000", envvar="CREDREG_URL", help="The node's base URL.")
_TOKEN = typer.Option(
    ..., envvar="CREDREG_TOKEN", help="Issuer API token (env CREDREG_TOKEN).", show_default=False
)


def _call(method: str, url: str, token: str, json: dict | None = None) -> httpx.Response:
    try:
        r = httpx.request(method, url, json=json, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    except httpx.HTTPError as exc:
        console.print(f"[red]cannot reach the node:[/red] {exc}")
        raise typer.Exit(1) from None
    if r.status_code >= 400:
        console.print(f"[red]{problem_text(r)}[/red]")
        raise typer.Exit(1)
    return r


@app.command()
def create(
    digest: str = typer.Argument(..., help="The credential's digest (0x...).", show_default=False),
    days: int = typer.Option(None, "--days", help="Expire the link after this many days (default: never)."),
    label: str = typer.Option(None, help="A note about the link (who it is for)."),
    email: str = typer.Option(None, "--email", help="E-mail the link to the learner (queued, sent once)."),
    url: str = _URL,
    token: str = _TOKEN,
) -> None:
    """Make a share link for a credential and print it (shown once).

    Example: credreg share create 0xabc... --days 365 --email learner@example.org
    """
    body: dict = {
        k: v for k, v in {"expiresInDays": days, "label": label, "sendTo": email}.items() if v is not None
    }
    r = _call("POST", f"{url.rstrip('/')}/v1/credentials/{digest}/share-links", token, body)
    out = r.json()
    print(out["url"], flush=True)
    expiry = out.get("expiresAt") or "never"
    console.print(f"share link {out['id']} (expires: {expiry})")
    if out.get("delivery"):
        console.print(f"e-mail queued to {email} (Message-ID {out['delivery']['messageId']})")


@app.command(name="list")
def list_links(
    digest: str = typer.Argument(..., help="The credential's digest (0x...).", show_default=False),
    url: str = _URL,
    token: str = _TOKEN,
) -> None:
    """List a credential's share links (their URLs are not kept, only their state).

    Example: credreg share list 0xabc...
    """
    r = _call("GET", f"{url.rstrip('/')}/v1/credentials/{digest}/share-links", token)
    for link in r.json():
        state = (
            "revoked"
            if link["revokedAt"]
            else f"expires {link['expiresAt']}"
            if link["expiresAt"]
            else "active"
        )
        print(f"{link['id']}\t{state}\t{link['createdAt']}\t{link['label'] or ''}")


@app.command()
def revoke(
    digest: str = typer.Argument(..., help="The credential's digest (0x...).", show_default=False),
    link_id: int = typer.Argument(..., help="The link's id (from `credreg share list`).", show_default=False),
    url: str = _URL,
    token: str = _TOKEN,
) -> None:
    """Withdraw a share link for good: its URL answers 410 Gone from then on.

    Example: credreg share revoke 0xabc... 3
    """
    r = _call("DELETE", f"{url.rstrip('/')}/v1/credentials/{digest}/share-links/{link_id}", token)
    console.print(f"share link {link_id} withdrawn at {r.json()['revokedAt']}")
