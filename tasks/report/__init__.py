"""Report: static HTML dashboards from the warehouse views, per cooperative one page for it and one
per entrepreneur (each built from its own rows only), written by `chorus-etl report` and by the
nightly flow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tasks.report.writer import ReportError, ReportResult, write_report

if TYPE_CHECKING:
    from tasks.report.dashboard import render_dashboard

__all__ = ["ReportError", "ReportResult", "render_dashboard", "write_report"]


def __getattr__(name: str) -> Any:
    """`render_dashboard`, the nightly flow's Prefect task, imported on first use: `chorus-etl
    report` writes the pages without importing Prefect (a second of a fresh interpreter's start
    on the reference machine)."""
    if name == "render_dashboard":
        from tasks.report.dashboard import render_dashboard

        return render_dashboard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
