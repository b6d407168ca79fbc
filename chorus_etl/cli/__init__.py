"""The `chorus-etl` command: one Typer app, one module per command group."""

from __future__ import annotations

import typer

from chorus_etl.cli import db, simulator

app = typer.Typer(
    name="chorus-etl",
    help="Deposit the cooperatives' invoices on Chorus Pro, track their statuses, alert on rejections.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db.app, name="db")
app.add_typer(simulator.app, name="simulator")


def main() -> None:
    app()
