"""`nightly` flow: reconciliation and alert delivery, the job scheduled every night."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from chorus_etl.runs import flow_environment, recorded_run
from flows.alerts import send_alerts
from flows.reconcile import reconcile
from tasks.report import render_dashboard


@flow(name="nightly", log_prints=False, validate_parameters=True)
def nightly(as_of: date | None = None) -> dict[str, Any]:
    """Statuses first, so that tonight's rejections are in tonight's alerts."""
    with flow_environment() as (settings, engine), recorded_run(engine, "nightly") as counts:
        summary = reconcile(as_of=as_of)
        summary["alerts_delivery"] = send_alerts()
        summary["dashboard"] = str(render_dashboard(engine, settings))
        counts.update(
            status_changes=summary["status_changes"],
            alerts_sent=summary["alerts_delivery"]["sent"],
            overdue=summary["overdue"],
        )
    return summary
