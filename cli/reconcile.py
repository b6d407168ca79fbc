"""`chorus-etl reconcile`: read Chorus Pro statuses into the warehouse and queue alerts."""

from __future__ import annotations

from datetime import datetime

import typer

from chorus_etl.untrusted import printable
from cli.output import emit, friendly_errors


@friendly_errors
def reconcile(
    as_of: datetime | None = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="Date for the overdue rule (default: today)."
    ),
    supplier: list[str] = typer.Option(
        [], "--supplier", help="Only this supplier SIRET (repeatable); default: every structure."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
) -> None:
    """One search per supplier structure since the last run; new statuses, alerts, overdue.
    Exits 2 when Chorus Pro refused a structure's account (the others are reconciled)."""
    from flows.reconcile import reconcile as reconcile_flow

    summary = reconcile_flow(
        as_of=as_of.date() if as_of else None, supplier_sirets=supplier or None
    )
    emit(
        summary,
        as_json=as_json,
        human=(
            f"{summary['status_changes']} status changes, {summary['alerts']} alerts queued, "
            f"{summary['overdue']} overdue invoices, {summary['external_created']} found only on "
            f"Chorus Pro; {summary['api_calls']} API calls."
        ),
    )
    for halted in summary["halted"]:
        typer.echo(
            printable(
                f"Reconciliation stopped for {', '.join(halted['sirets'])} "
                f"(technical account {halted['login']}): {halted['error']}"
            ),
            err=True,
        )
    if summary["halted"]:
        typer.echo("Run `chorus-etl doctor` to find which step fails and how to fix it.", err=True)
        raise typer.Exit(2)
