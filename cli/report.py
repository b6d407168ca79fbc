"""`chorus-etl report OUT_DIR`: write the static HTML dashboard from the warehouse views."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from cli.output import emit


def report(
    out_dir: Path = typer.Argument(
        ..., file_okay=False, help="Folder for the pages (created if needed)."
    ),
    cooperative: str | None = typer.Option(
        None, "--cooperative", help="Only this cooperative's dashboard (an id of the accounts)."
    ),
    as_of: datetime | None = typer.Option(
        None,
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Judge lateness on this date, as the pipeline's runs for it did (default: today).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
) -> None:
    """One page for the cooperative (index.html), one per entrepreneur showing only their
    invoices; self-contained HTML that opens offline. With several cooperatives, one folder
    each (OUT_DIR/<cooperative>/), built from its invoices only, and index.html linking them."""
    from chorus_etl import db
    from chorus_etl.config import get_settings
    from chorus_etl.cooperatives import cooperative_names
    from chorus_etl.log import configure_logging
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
            cooperatives=cooperative_names(settings),
            cooperative=cooperative,
            as_of=as_of.date() if as_of else None,
        )
    except ReportError as exc:
        typer.echo(f"report: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if any(page != result.index for page in result.cooperatives.values()):
        where = "".join(f"\n  {c}: {p}" for c, p in result.cooperatives.items())
        human = (
            f"Dashboards: {result.index}{where}\n"
            f"{len(result.pages)} pages written ({result.entrepreneur_pages} entrepreneur pages "
            f"in each cooperative's entrepreneurs/ folder) for {result.invoices} invoices in "
            f"{result.seconds:.1f} s."
        )
    else:
        human = (
            f"Dashboard: {result.index}\n"
            f"{len(result.pages)} pages written (the cooperative's and "
            f"{result.entrepreneur_pages} entrepreneur pages in {out_dir / 'entrepreneurs'}) "
            f"for {result.invoices} invoices in {result.seconds:.1f} s."
        )
    emit(result.summary(), as_json=as_json, human=human)
