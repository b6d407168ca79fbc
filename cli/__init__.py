"""The `chorus-etl` command: one Typer app, one module per command group."""

from __future__ import annotations

import os

# Before Prefect is imported: a first run migrates Prefect's own database, which can take longer
# than Prefect's 20 s default on a small machine; and no telemetry from the cooperative's servers.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "chorus_etl")
os.environ.setdefault("CHORUS_ETL_LOG_STREAM", "stderr")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")

import typer

from cli import (
    alerts,
    archive,
    db,
    demo,
    deposit,
    doctor,
    facturx,
    ingest,
    invoices,
    reconcile,
    report,
    returns,
    sample,
    simulator,
    waits,
)

app = typer.Typer(
    name="chorus-etl",
    help="Deposit the cooperatives' invoices on Chorus Pro, track their statuses, alert on rejections.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db.app, name="db")
app.add_typer(simulator.app, name="simulator")
app.add_typer(alerts.app, name="alerts")
app.add_typer(archive.app, name="archive")
app.command("sample-export")(sample.sample_export)
app.command("ingest")(ingest.ingest)
app.command("deposit")(deposit.deposit)
app.command("reconcile")(reconcile.reconcile)
app.command("demo")(demo.demo)
app.command("doctor")(doctor.doctor)
app.command("report")(report.report)
app.command("facturx")(facturx.facturx)
app.command("invoices")(invoices.invoices)
app.command("invoice")(invoices.invoice)
app.command("waits")(waits.waits)
app.command("complete")(returns.complete)
app.command("recycle")(returns.recycle)


def main() -> None:
    app()
