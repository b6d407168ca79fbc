"""`chorus-etl ingest DIR`: read one export into the warehouse and say what became of each invoice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from cli.output import emit, friendly_errors, plain


@friendly_errors
def ingest(
    export_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="Export folder."),
    as_json: bool = typer.Option(
        False, "--json", help="One JSON document, one object per invoice."
    ),
) -> None:
    """Validate an export, check buyers and PDFs, stage every invoice `ready` or `invalid`."""
    from flows.ingest import ingest as ingest_flow

    report: dict[str, Any] = ingest_flow(export_dir.resolve())
    if as_json:
        emit(report, as_json=True, human="")
    else:
        _print_summary(report)
    if report["file_reasons"] and not report["invoices"]:
        raise typer.Exit(1)


def _print_summary(report: dict[str, Any]) -> None:
    """Everything the export holds (numbers, column names, the values reasons quote) is printed
    as plain text: never markup nor an escape sequence."""
    console = Console(highlight=False)
    counts = report["counts"]
    console.print(plain(f"Ingest of {report['export_dir']}", style="bold"))
    console.print(", ".join(f"{name}: {value}" for name, value in sorted(counts.items()) if value))
    for reason in report["file_reasons"]:
        console.print(plain("file error ", style="red") + plain(reason["message_en"]))
    complements = report.get("complements") or {}
    for number in complements.get("recorded", []):
        console.print(plain(f"complements of {number}: to be sent to Chorus Pro"))
    for number, reasons in (complements.get("refused") or {}).items():
        console.print(
            plain(f"complements of {number} refused ", style="red") + plain(" ".join(reasons))
        )
    if report["ignored_columns"]:
        console.print(plain(f"ignored columns: {', '.join(report['ignored_columns'])}"))
    refused = [i for i in report["invoices"] if i["reasons"] and i["result"] != "unchanged"]
    if refused:
        table = Table("supplier", "invoice", "state", "rule", "reason", title="Invoices refused")
        for invoice in refused:
            for reason in invoice["reasons"]:
                table.add_row(
                    plain(invoice["supplier_siret"]),
                    plain(invoice["invoice_number"]),
                    invoice["state"] or invoice["result"],
                    reason["rule"],
                    plain(reason["message_en"]),
                )
        console.print(table)
    warned = [i for i in report["invoices"] if i.get("warnings") and i["result"] != "unchanged"]
    if warned:
        table = Table(
            "supplier", "invoice", "rule", "warning", title="Warnings (the invoice stays ready)"
        )
        for invoice in warned:
            for warning in invoice["warnings"]:
                table.add_row(
                    plain(invoice["supplier_siret"]),
                    plain(invoice["invoice_number"]),
                    warning["rule"],
                    plain(warning["message_en"]),
                )
        console.print(table)
