"""`chorus-etl report`: the static HTML dashboard, one page for the cooperative, one per entrepreneur.

A plain function, not a Prefect flow: it only reads the warehouse and writes files, needs no retry
or orchestration, and starting Prefect's API would cost more than the report itself on a 100,000
invoice warehouse. Steps: make sure the views exist and carry today's settings, read the views once,
build every page, write them. Entrepreneur pages left from an earlier run for an entrepreneur who
no longer has invoices are removed, so the folder never shows stale figures.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from tasks.report.data import ReportError, check_views, load_report_data
from tasks.report.pages import ENTREPRENEUR_DIR, build_pages
from tasks.report.render import render_page
from tasks.report.setting_views import sync_setting_views

__all__ = ["ReportError", "ReportResult", "write_report"]


@dataclass(frozen=True)
class ReportResult:
    index: Path
    pages: list[Path]
    invoices: int
    entrepreneur_pages: int
    settings_rewritten: bool
    seconds: float

    def summary(self) -> dict[str, object]:
        return {
            "index": str(self.index),
            "pages": [str(p) for p in self.pages],
            "invoices": self.invoices,
            "entrepreneur_pages": self.entrepreneur_pages,
            "settings_rewritten": self.settings_rewritten,
            "seconds": round(self.seconds, 2),
        }


def write_report(
    engine: Engine,
    out_dir: Path,
    *,
    ecb_rate_percent: float,
    buyer_kinds: Mapping[str, str],
    now: datetime | None = None,
) -> ReportResult:
    started = time.perf_counter()
    check_views(engine)
    rewritten = sync_setting_views(
        engine, ecb_rate_percent=ecb_rate_percent, buyer_kinds=buyer_kinds
    )
    data = load_report_data(engine)
    generated = now or datetime.now(UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ENTREPRENEUR_DIR).mkdir(exist_ok=True)
    written: list[Path] = []
    for page in build_pages(data):
        target = out_dir / page.path
        target.write_text(render_page(page, generated), encoding="utf-8")
        written.append(target)
    _remove_stale(out_dir / ENTREPRENEUR_DIR, set(written))
    return ReportResult(
        index=written[0],
        pages=written,
        invoices=len(data.invoices),
        entrepreneur_pages=len(written) - 1,
        settings_rewritten=rewritten,
        seconds=time.perf_counter() - started,
    )


def _remove_stale(folder: Path, keep: set[Path]) -> None:
    for path in folder.glob("*.html"):
        if path not in keep:
            path.unlink()
