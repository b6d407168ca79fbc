"""The nightly flow's last stage: regenerate the static dashboard from the warehouse views."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_link_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy.engine import Engine

from chorus_etl.log import get_logger
from chorus_etl.settings import Settings
from tasks.report.writer import write_report

log = get_logger(__name__)


@task(name="render-dashboard", cache_policy=NO_CACHE)
def render_dashboard(engine: Engine, settings: Settings) -> Path:
    result = write_report(
        engine,
        settings.dashboard_dir,
        ecb_rate_percent=settings.ecb_rate_percent,
        buyer_kinds=settings.buyer_kinds,
    )
    index = result.index.resolve()
    create_link_artifact(
        key="dashboard",
        link=index.as_uri(),
        link_text="Tableau de bord Chorus Pro",
        description=f"{result.invoices} invoices, {result.entrepreneur_pages} entrepreneur pages",
    )
    log.info("dashboard.written", index=str(index), pages=len(result.pages))
    return index
