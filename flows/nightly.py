"""`nightly` flow: reconciliation and alert delivery, the job scheduled every night."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from chorus_etl.runs import recorded_run
from flows._environment import flow_environment
from flows.alerts import send_alerts
from flows.archive import archive
from flows.reconcile import reconcile
from tasks.reconcile import reconcile_fanned_out
from tasks.report import render_dashboard


@flow(name="nightly", log_prints=False, validate_parameters=True)
def nightly(as_of: date | None = None) -> dict[str, Any]:
    """Statuses first, so that tonight's rejections are in tonight's alerts. With fan-out, each
    structure is reconciled by a run of its own on whichever worker is free."""
    with flow_environment() as (settings, engine), recorded_run(engine, "nightly") as counts:
        if settings.fan_out:
            summary = reconcile_fanned_out(engine, settings, as_of or date.today())
        else:
            summary = reconcile(as_of=as_of)
        summary["archive"] = archive()["counts"]  # the night's integrated fluxes, the backfill
        summary["alerts_delivery"] = send_alerts()
        summary["dashboard"] = str(render_dashboard(engine, settings, as_of=as_of))
        counts.update(
            status_changes=summary["status_changes"],
            alerts_sent=summary["alerts_delivery"]["sent"],
            overdue=summary["overdue"],
            halted_structures=summary["halted_structures"],
        )
        failed = summary.get("failed_structures") or []
        if failed:
            # Everyone else's statuses, alerts and dashboards are done; the run says what is not.
            raise RuntimeError(f"the reconciliation of {', '.join(failed)} did not complete")
    return summary
