"""`chorus-etl demo` (`make demo`): the pipeline end to end on the built-in simulator."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from chorus_etl.cli.console_progress import make_progress


def demo(
    workdir: Path = typer.Option(Path("var/demo"), help="Where the demo writes everything."),
    invoices: int = typer.Option(60, min=5, help="Invoices in the sample export."),
    days: int = typer.Option(90, min=1, help="Simulated days after the first deposit."),
    step_days: int = typer.Option(3, min=1, help="Days between two nightly runs."),
) -> None:
    """Simulator, sample export with errors, daily pipeline, ~90 simulated nights, summary."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from chorus_etl.demo import run_demo

    console = Console()
    console.print(
        "[bold]Chorus Pro pipeline demo[/bold]: local simulator, sample export with errors, "
        f"daily pipeline, then {days} simulated days of nightly reconciliation."
    )
    with make_progress() as bar:
        nights = bar.add_task("nightly runs", total=max(1, days // step_days))
        result = run_demo(
            workdir.resolve(),
            invoices=invoices,
            days=days,
            step_days=step_days,
            on_step=lambda done, total: bar.update(nights, completed=done, total=total),
        )
    states = Table("invoice state", "count", title="Invoices by state")
    for state, count in sorted(result.states.items()):
        states.add_row(state, str(count))
    statuses = Table("Chorus Pro status", "count", title="Deposited invoices by status")
    for status, count in result.statuses.most_common():
        statuses.add_row(status, str(count))
    alerts = Table("alert", "messages", title="Alerts (entrepreneur + accounting copies)")
    for kind, count in sorted(result.alerts.items()):
        alerts.add_row(kind, str(count))
    console.print(states, statuses, alerts)
    if result.overdue:
        late = Table(
            "invoice", "buyer", "deposited", "delay", "days late", "interest", title="Overdue"
        )
        for item in result.overdue[:15]:
            late.add_row(
                item["invoice"],
                item["buyer"] or "",
                str(item["deposited"]),
                f"{item['delay_days']} d",
                str(item["days_late"]),
                f"{item['interest_cents'] / 100:.2f} €",
            )
        console.print(late)
    console.print(
        f"Export with {result.rejected_rows} refused invoices: {result.export}\n"
        f"Warehouse: {result.warehouse_url}\n"
        f"Alert outbox: {result.outbox} ({result.emails} e-mails written as .eml files)\n"
        + (f"Dashboard: {result.dashboard}\n" if result.dashboard else "")
        + f"Simulated days: {result.simulated_days}",
        highlight=False,
    )
