"""The `credreg` command: one Typer app with a sub-command group per concern."""

from __future__ import annotations

import typer

from node import cli_audit, cli_chain, cli_issue, cli_node, cli_registry, cli_revoke, cli_serve, cli_verify

app = typer.Typer(
    help="credreg: a blockchain-anchored credential registry node for micro-credentials.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold keys and passwords
)
app.add_typer(cli_chain.app, name="chain")
app.add_typer(cli_node.db_app, name="db")
app.add_typer(cli_node.token_app, name="token")
app.command()(cli_serve.serve)
app.command()(cli_serve.dev)
app.command()(cli_issue.issue)
app.command()(cli_revoke.revoke)
app.add_typer(cli_registry.registry_app, name="registry")
app.add_typer(cli_registry.keys_app, name="keys")
app.command()(cli_audit.audit)
app.command(name="verify")(cli_verify.verify)


if __name__ == "__main__":
    app()
