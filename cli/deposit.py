"""`chorus-etl deposit`: send `ready` invoices to Chorus Pro, with a progress bar and a summary."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from chorus_etl import progress
from chorus_etl.untrusted import printable
from cli.console_progress import RichReporter, make_progress
from cli.output import emit, friendly_errors, plain


@friendly_errors
def deposit(
    supplier: list[str] = typer.Option([], "--supplier", help="Supplier SIRET (repeatable)."),
    entrepreneur: list[str] = typer.Option([], "--entrepreneur", help="Entrepreneur code."),
    invoice: list[str] = typer.Option([], "--invoice", help="Invoice number (repeatable)."),
    date_from: datetime | None = typer.Option(None, "--from", formats=["%Y-%m-%d"]),
    date_to: datetime | None = typer.Option(None, "--to", formats=["%Y-%m-%d"]),
    dry_run: bool = typer.Option(False, "--dry-run", help="Build and print, send nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
) -> None:
    """Deposit every `ready` invoice (or those matching the filters), exactly once."""
    from flows.deposit import deposit as deposit_flow

    parameters: dict[str, Any] = {
        "supplier_sirets": supplier,
        "entrepreneur_codes": entrepreneur,
        "invoice_numbers": invoice,
        "date_from": date_from.date() if date_from else None,
        "date_to": date_to.date() if date_to else None,
        "dry_run": dry_run,
    }
    summary = run(deposit_flow, parameters, as_json, dry_run)
    if summary["halted"]:
        # The other structures were deposited; these wait, `ready`, for their access to be fixed.
        for halted in summary["halted"]:
            typer.echo(
                printable(
                    f"Deposit stopped for {', '.join(halted['sirets'])} "
                    f"(technical account {halted['login']}): {halted['error']}"
                ),
                err=True,
            )
        typer.echo("Run `chorus-etl doctor` to find which step fails and how to fix it.", err=True)
        raise typer.Exit(2)


def run(
    deposit_flow: Any, parameters: dict[str, Any], as_json: bool, dry_run: bool
) -> dict[str, Any]:
    if as_json:
        summary: dict[str, Any] = deposit_flow(**parameters)
        emit(summary, as_json=True, human="")
        return summary
    with make_progress() as bar, progress.reporting(RichReporter(bar)):
        summary = deposit_flow(**parameters)
    _print(summary, dry_run)
    return summary


def _print(summary: dict[str, Any], dry_run: bool) -> None:
    console = Console()
    counts = summary["counts"]
    console.print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items()) if v), highlight=False)
    if dry_run:
        for item in summary["invoices"]:
            console.print(plain(f"{item['supplier_siret']} {item['invoice_number']}", style="bold"))
            console.print_json(json.dumps(item.get("payload") or {}, ensure_ascii=False))
        return
    problems = [
        i for i in summary["invoices"] if i["result"] not in {"deposited", "found_existing"}
    ]
    if problems:
        table = Table("supplier", "invoice", "result", "detail", title="Not deposited")
        for item in problems:
            table.add_row(
                plain(item["supplier_siret"]),
                plain(item["invoice_number"]),
                item["result"],
                plain(item["detail"]),
            )
        console.print(table)
