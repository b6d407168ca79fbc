"""`chorus-etl db …`: create and upgrade the warehouse schema."""

from __future__ import annotations

import typer
from sqlalchemy.engine import make_url

from chorus_etl import db
from chorus_etl.config import get_settings
from chorus_etl.log import configure_logging
from cli.output import emit

app = typer.Typer(help="Manage the warehouse database.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    revision: str = typer.Argument("head", help="Target Alembic revision."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
) -> None:
    """Create the warehouse or bring it to the latest schema; running it twice changes nothing."""
    settings = get_settings()
    configure_logging(settings)
    before = db.current_revision(settings.database_url)
    db.upgrade(settings.database_url, revision)
    after = db.current_revision(settings.database_url)
    safe_url = make_url(settings.database_url).render_as_string(hide_password=True)
    emit(
        {"database": safe_url, "from_revision": before, "to_revision": after},
        as_json=as_json,
        human=(
            f"Warehouse {safe_url} already at revision {after}."
            if before == after
            else f"Warehouse {safe_url} upgraded from {before or 'empty'} to {after}."
        ),
    )
