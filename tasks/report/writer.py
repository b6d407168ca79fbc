"""`chorus-etl report`: the static HTML dashboard, one page for the cooperative, one per entrepreneur.

A plain function, not a Prefect flow: it only reads the warehouse and writes files, needs no retry
or orchestration, and starting Prefect's API would cost more than the report itself on a 100,000
invoice warehouse. Steps: make sure the views exist and carry today's settings, read the views once,
build every page, write them. Entrepreneur pages left from an earlier run for an entrepreneur who
no longer has invoices are removed, so the folder never shows stale figures.

With one cooperative (the single-account settings, or an accounts file of one) the folder is as it
always was: `index.html` and `entrepreneurs/`. With several, each cooperative has its own folder,
`<cooperative>/index.html` and `<cooperative>/entrepreneurs/`, built from its rows only, so that
each folder can be published to its cooperative alone; `index.html` then only links to them.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from tasks.report.data import (
    ReportData,
    ReportError,
    check_views,
    cooperatives_in,
    for_cooperative,
    load_report_data,
    shared_runs,
)
from tasks.report.pages import ENTREPRENEUR_DIR, build_pages, cooperatives_page
from tasks.report.render import render_page
from tasks.report.setting_views import sync_setting_views

__all__ = ["ReportError", "ReportResult", "cooperative_dir", "write_report"]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
#: What every page says at its foot: how a folder is recognised as an earlier dashboard's.
_SIGNATURE = "à partir de l'entrepôt chorus-etl"


@dataclass(frozen=True)
class ReportResult:
    index: Path
    pages: list[Path]
    invoices: int
    entrepreneur_pages: int
    settings_rewritten: bool
    seconds: float
    #: Each cooperative's own page (the index itself with a single cooperative).
    cooperatives: dict[str, Path] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        return {
            "index": str(self.index),
            "pages": [str(p) for p in self.pages],
            "invoices": self.invoices,
            "entrepreneur_pages": self.entrepreneur_pages,
            "settings_rewritten": self.settings_rewritten,
            "seconds": round(self.seconds, 2),
            "cooperatives": {c: str(p) for c, p in self.cooperatives.items()},
        }


def cooperative_dir(cooperative: str) -> str:
    """A cooperative's folder name: its id (a slug in the accounts); anything else, which only
    a hand-edited warehouse could hold, made safe and told apart by a hash suffix."""
    if _SLUG.match(cooperative):
        return cooperative
    safe = re.sub(r"[^a-z0-9_-]", "_", cooperative.lower())[:40]
    return f"{safe}-{hashlib.sha256(cooperative.encode()).hexdigest()[:8]}"


def write_report(
    engine: Engine,
    out_dir: Path,
    *,
    ecb_rate_percent: float,
    buyer_kinds: Mapping[str, str],
    now: datetime | None = None,
    cooperatives: Mapping[str, str] | None = None,
    cooperative: str | None = None,
    as_of: date | None = None,
) -> ReportResult:
    """The dashboards of `cooperatives` (id to name: the accounts'), and of any other
    cooperative the warehouse holds rows of, so that no row goes unreported; with
    `cooperative`, that one's only (the others' folders are left as they are)."""
    started = time.perf_counter()
    check_views(engine)
    rewritten = sync_setting_views(
        engine, ecb_rate_percent=ecb_rate_percent, buyer_kinds=buyer_kinds, as_of=as_of
    )
    data = load_report_data(engine)
    names = dict(cooperatives or {})
    names |= {c: c for c in sorted(cooperatives_in(data)) if c not in names}
    if cooperative is not None and cooperative not in names:
        known = ", ".join(names) or "none"
        raise ReportError(f"no cooperative {cooperative!r} to report on (known: {known})")
    generated = now or datetime.now(UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = _Written()
    if len(names) <= 1:
        only = next(iter(names), None)
        part = data if only is None else for_cooperative(data, only, shared_runs=True)
        label = (cooperatives or {}).get(only or "", "coopérative")
        written.cooperative(out_dir, part, label, generated)
        if only is not None:
            written.index_of[only] = out_dir / "index.html"
        _remove_stale_cooperatives(out_dir, keep=set())
    else:
        chosen = [cooperative] if cooperative is not None else list(names)
        for each in chosen:
            folder = out_dir / cooperative_dir(each)
            part = for_cooperative(data, each, shared_runs=False)
            written.cooperative(folder, part, names[each], generated)
            written.index_of[each] = folder / "index.html"
        links = [(c, names[c], f"{cooperative_dir(c)}/index.html") for c in names]
        overview = cooperatives_page(links, shared_runs(data))
        written.page(out_dir / overview.path, render_page(overview, generated))
        _remove_stale(out_dir / ENTREPRENEUR_DIR, set())
        if cooperative is None:
            _remove_stale_cooperatives(out_dir, keep={cooperative_dir(c) for c in names})
    return ReportResult(
        index=out_dir / "index.html",
        pages=written.pages,
        invoices=written.invoices,
        entrepreneur_pages=written.entrepreneur_pages,
        settings_rewritten=rewritten,
        seconds=time.perf_counter() - started,
        cooperatives=written.index_of,
    )


@dataclass
class _Written:
    pages: list[Path] = field(default_factory=list)
    invoices: int = 0
    entrepreneur_pages: int = 0
    index_of: dict[str, Path] = field(default_factory=dict)

    def page(self, target: Path, html: str) -> None:
        target.write_text(html, encoding="utf-8")
        self.pages.append(target)

    def cooperative(self, folder: Path, data: ReportData, name: str, generated: datetime) -> None:
        """One cooperative's page and its entrepreneurs', into `folder`."""
        (folder / ENTREPRENEUR_DIR).mkdir(parents=True, exist_ok=True)
        mine: set[Path] = set()
        for page in build_pages(data, name):
            target = folder / page.path
            self.page(target, render_page(page, generated))
            mine.add(target)
        self.invoices += len(data.invoices)
        self.entrepreneur_pages += len(mine) - 1
        _remove_stale(folder / ENTREPRENEUR_DIR, mine)


def _remove_stale(folder: Path, keep: set[Path]) -> None:
    for path in folder.glob("*.html"):
        if path not in keep:
            path.unlink()


def _remove_stale_cooperatives(out_dir: Path, keep: set[str]) -> None:
    """Folders of cooperatives reported no more (or of the several-cooperatives layout, when
    there is one cooperative again): their pages would show figures nobody updates. Only
    folders holding a page of ours are touched, and only our pages in them."""
    for folder in out_dir.iterdir():
        index = folder / "index.html"
        if folder.name in keep or folder.name == ENTREPRENEUR_DIR or not index.is_file():
            continue
        if _SIGNATURE not in index.read_text(encoding="utf-8", errors="replace"):
            continue
        _remove_stale(folder / ENTREPRENEUR_DIR, set())
        index.unlink()
        for empty in (folder / ENTREPRENEUR_DIR, folder):
            if empty.is_dir() and not any(empty.iterdir()):
                empty.rmdir()
