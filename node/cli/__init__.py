"""The `credreg` command: one Typer app with a sub-command group per concern; the composition root of the node.

`credreg verify` takes a fast path: it imports only `anchoring` (the standalone verifier), so it starts quickly
and works in an install without the node's web and database stack (`pip install credreg`). Every other command
needs the node (`pip install 'credreg[node]'`).
"""

from __future__ import annotations

import sys
from typing import Any

import typer

__all__ = ["build_app", "main"]


def build_app() -> typer.Typer:
    """The full command tree (imports the node, the API and their dependencies)."""
    from anchoring import cli as verify_cli
    from anchoring.scheme.strict_json import safe_recursion_limit
    from node.cli import audit, batches, chain, db, hsm, issue, issuer, mail, registry, revoke, serve, share

    assert hsm.keys_app is registry.keys_app  # importing hsm adds `keys hsm-list` / `keys hsm-new`

    safe_recursion_limit()  # py_ecc (imported above through the eth libraries) raises it to 100,000
    _redact_logs()

    app = typer.Typer(
        help="credreg: a blockchain-anchored credential registry node for micro-credentials.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,  # locals may hold keys and passwords
    )
    app.add_typer(chain.app, name="chain")
    app.add_typer(db.db_app, name="db")
    app.add_typer(db.token_app, name="token")
    app.add_typer(batches.app, name="batches")
    app.command()(serve.serve)
    app.command()(serve.pipeline)
    app.command()(serve.dev)
    app.command()(issue.issue)
    app.command()(revoke.revoke)
    app.add_typer(share.app, name="share")
    app.add_typer(mail.app, name="mail")
    app.add_typer(registry.registry_app, name="registry")
    app.add_typer(issuer.app, name="issuer")
    app.add_typer(registry.keys_app, name="keys")
    app.command()(audit.audit)
    app.command(
        name="verify",
        help=verify_cli.command.help,
        short_help=verify_cli.command.short_help,
        add_help_option=False,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(_verify)
    return app


def _redact_logs() -> None:
    """Scrub the configured RPC URL from every log line of this process (see ``node.logs``)."""
    from node.logs import redact_logs
    from node.settings import get_settings

    try:
        redact_logs(get_settings().rpc_url)
    except Exception:  # noqa: BLE001, S110 - bad settings are reported by the command that reads them
        pass


def _verify(ctx: typer.Context) -> None:
    # the standalone verifier is a click command of its own (anchoring/cli.py): its arguments go to it as given
    from anchoring.cli import command

    command.main(args=ctx.args, prog_name="credreg verify")


def main() -> None:
    """Entry point of the `credreg` console script."""
    args = sys.argv[1:]
    if args[:1] == ["verify"]:
        from anchoring.cli import run
        from anchoring.scheme.strict_json import safe_recursion_limit

        safe_recursion_limit()

        run(args[1:], prog_name="credreg verify")
        return
    try:
        app = build_app()
    except ModuleNotFoundError as exc:
        sys.stderr.write(
            f"credreg: this command needs the node's dependencies ({exc.name} is not installed): "
            "pip install 'credreg[node]'\n"
        )
        raise SystemExit(2) from None
    app()


def __getattr__(name: str) -> Any:
    if name == "app":  # `from node.cli import app` (tests, CliRunner): the full tree, built on first use
        return build_app()
    raise AttributeError(name)
