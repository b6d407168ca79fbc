"""The nightly flow's last stage: regenerate the static dashboard from the warehouse views."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from prefect import task
from prefect.artifacts import create_link_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy.engine import Engine

from chorus_etl.cooperatives import cooperative_names
from chorus_etl.log import get_logger
from chorus_etl.settings import Settings
from tasks.report.writer import cooperative_dir, write_report

log = get_logger(__name__)


@task(name="render-dashboard", cache_policy=NO_CACHE)
def render_dashboard(
    engine: Engine, settings: Settings, cooperative: str | None = None, as_of: date | None = None
) -> Path:
    """Every cooperative's dashboard under `settings.dashboard_dir` (or one's, with
    `cooperative`), lateness judged on `as_of` (the run's date; None: today); returns the
    index, which links to each when there are several."""
    result = write_report(
        engine,
        settings.dashboard_dir,
        ecb_rate_percent=settings.ecb_rate_percent,
        buyer_kinds=settings.buyer_kinds,
        cooperatives=cooperative_names(settings),
        cooperative=cooperative,
        as_of=as_of,
    )
    index = result.index.resolve()
    key, shown = "dashboard", index
    if cooperative is not None:
        # Artifact keys allow lowercase letters, digits and dashes only.
        key = "dashboard-" + re.sub(r"[^a-z0-9-]", "-", cooperative_dir(cooperative))
        shown = result.cooperatives[cooperative].resolve()
    create_link_artifact(
        key=key,
        link=shown.as_uri(),
        link_text="Tableau de bord Chorus Pro",
        description=f"{result.invoices} invoices, {result.entrepreneur_pages} entrepreneur pages",
    )
    log.info(
        "dashboard.written",
        index=str(index),
        pages=len(result.pages),
        cooperatives=sorted(result.cooperatives),
    )
    return index
