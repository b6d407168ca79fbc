"""Report: static HTML dashboards from the warehouse views, per cooperative one page for it and one
per entrepreneur (each built from its own rows only), written by `chorus-etl report` and by the
nightly flow."""

from tasks.report.dashboard import render_dashboard
from tasks.report.writer import ReportError, ReportResult, write_report

__all__ = ["ReportError", "ReportResult", "render_dashboard", "write_report"]
