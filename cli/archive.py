"""`chorus-etl archive fetch|verify`: what Chorus Pro received, kept as proof.

`fetch` downloads the documents of every deposited invoice that has no archive yet (the daily
and nightly flows do it after each deposit; by hand it is the backfill of older deposits, which
resumes where it stopped). `verify` re-hashes the archive against the warehouse, without asking
Chorus Pro anything.
"""

from __future__ import annotations

from typing import Any

import typer

from cli.output import emit, friendly_errors

app = typer.Typer(
    help="Keep each deposited invoice as Chorus Pro holds it (telecharger/groupe), and check it.",
    no_args_is_help=True,
)
_STRUCTURE = typer.Option([], "--structure", help="Supplier SIRET (repeatable).")
_JSON = typer.Option(False, "--json", help="Print a machine-readable summary.")


@app.command("fetch")
@friendly_errors
def fetch(
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="At most this many invoices this time (a backfill in steps)."
    ),
    structure: list[str] = _STRUCTURE,
    as_json: bool = _JSON,
) -> None:
    """Download what the archive lacks: each deposited invoice's documents, once."""
    from flows.archive import archive

    summary: dict[str, Any] = archive(limit=limit, supplier_sirets=structure or None)
    counts = summary["counts"]
    lines = [", ".join(f"{k}: {v}" for k, v in counts.items() if v) or "nothing to fetch"]
    lines += [
        f"kept without attachments (over 120 MB): {n}" for n in summary["without_attachments"]
    ]
    lines += [
        f"too large even alone (HTTP 413), retried next run: {n}" for n in summary["too_large"]
    ]
    lines += [f"not fetched, retried next run: {n}" for n in summary["failed"]]
    emit(summary, as_json=as_json, human="\n".join(lines))


@app.command("verify")
def verify(structure: list[str] = _STRUCTURE, as_json: bool = _JSON) -> None:
    """Re-hash every archived file: list what is missing or altered (exit 1), and the deposited
    invoices not archived yet."""
    from chorus_etl.config import get_settings
    from cli.invoices import _warehouse
    from tasks.archive import verify_archive

    settings = get_settings()
    engine = _warehouse("archive verify")
    try:
        report = verify_archive(engine, settings.archive_dir, structure or None)
    finally:
        engine.dispose()
    emit(report.as_dict(), as_json=as_json, human=_human(report.as_dict()))
    if not report.ok:
        raise typer.Exit(1)


def _human(report: dict[str, Any]) -> str:
    lines = [f"{report['checked']} files checked"]
    for label, key in (("MISSING", "missing"), ("ALTERED", "altered")):
        lines += [
            f"{label}  {item['supplier_siret']} {item['invoice_number']}  {item['path']}"
            for item in report[key]
        ]
    if report["not_fetched"]:
        lines.append(
            f"{len(report['not_fetched'])} deposited invoices not archived yet "
            "(`chorus-etl archive fetch`)"
        )
    lines.append("archive intact" if report["ok"] else "archive NOT intact")
    return "\n".join(lines)
