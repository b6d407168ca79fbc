"""Report: static HTML dashboards from the warehouse views, one page for the cooperative and one
per entrepreneur, written by `chorus-etl report` and by the nightly flow."""

from tasks.report.dashboard import render_dashboard
from tasks.report.writer import ReportError, ReportResult, write_report

__all__ = ["ReportError", "ReportResult", "render_dashboard", "write_report"]
