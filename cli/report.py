"""`chorus-etl report OUT_DIR`: write the static HTML dashboard from the warehouse views."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.output import emit


def report(
    out_dir: Path = typer.Argument(
        ..., file_okay=False, help="Folder for the pages (created if needed)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
) -> None:
    """One page for the cooperative (index.html), one per entrepreneur showing only their
    invoices; self-contained HTML that opens offline."""
    from chorus_etl import db
    from chorus_etl.log import configure_logging
    from chorus_etl.settings import get_settings
    from tasks.report.writer import ReportError, write_report

    settings = get_settings()
    configure_logging(settings)
    engine = db.make_engine(settings.database_url)
    try:
        result = write_report(
            engine,
            out_dir,
            ecb_rate_percent=settings.ecb_rate_percent,
            buyer_kinds=settings.buyer_kinds,
        )
    except ReportError as exc:
        typer.echo(f"report: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    emit(
        result.summary(),
        as_json=as_json,
        human=(
            f"Dashboard: {result.index}\n"
            f"{len(result.pages)} pages written (the cooperative's and "
            f"{result.entrepreneur_pages} entrepreneur pages in {out_dir / 'entrepreneurs'}) "
            f"for {result.invoices} invoices in {result.seconds:.1f} s."
        ),
    )
