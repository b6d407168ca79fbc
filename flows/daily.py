"""`daily` flow: every new export of the inbox → deposit → reconcile → alerts, with one summary."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from chorus_etl.log import get_logger
from chorus_etl.runs import recorded_run
from flows._environment import flow_environment
from flows.alerts import send_alerts
from flows.archive import archive
from flows.deposit import deposit
from flows.ingest import ingest
from flows.reconcile import reconcile
from flows.returns import returns
from tasks.deposit import deposit_fanned_out
from tasks.ingest import pending_exports
from tasks.reconcile import reconcile_fanned_out

log = get_logger(__name__)


@flow(name="daily", log_prints=False, validate_parameters=True)
def daily(inbox: Path | None = None, as_of: date | None = None) -> dict[str, Any]:
    """The whole pipeline once; each stage is its own flow run, visible on its own in the UI."""
    with flow_environment() as (settings, engine):
        folder = inbox or settings.inbox_dir
        summary: dict[str, Any] = {"inbox": str(folder), "exports": []}
        with recorded_run(engine, "daily") as counts:
            for export in pending_exports(engine, folder, settings):
                report = ingest(export.resolve(), today=as_of)
                summary["exports"].append({"export": str(export), "counts": report["counts"]})
            if settings.fan_out:
                summary["deposit"] = deposit_fanned_out(engine, settings)
                reconciled = reconcile_fanned_out(engine, settings, as_of or date.today())
            else:
                summary["deposit"] = deposit()["counts"]
                reconciled = reconcile(as_of=as_of)
            summary["reconcile"] = {
                k: v
                for k, v in reconciled.items()
                if k not in {"suppliers", "runs", "halted", "failed_structures"}
            }
            summary["returns"] = returns()["counts"]  # complements and recyclings asked
            summary["archive"] = archive()["counts"]  # what Chorus Pro received, kept
            summary["alerts"] = send_alerts()
            counts.update(
                exports=len(summary["exports"]),
                deposited=summary["deposit"].get("deposited", 0),
                status_changes=summary["reconcile"]["status_changes"],
                alerts_sent=summary["alerts"]["sent"],
            )
    create_markdown_artifact(
        key="daily-summary",
        markdown=_markdown(summary),
        description="What the daily pipeline did",
    )
    return summary


def _markdown(summary: dict[str, Any]) -> str:
    lines = [f"# Daily pipeline ({summary['inbox']})", "", "## Exports ingested"]
    lines += [
        f"- `{e['export']}`: " + ", ".join(f"{k} {v}" for k, v in sorted(e["counts"].items()) if v)
        for e in summary["exports"]
    ] or ["- none new"]
    lines += ["", "## Deposit", *(f"- {k}: {v}" for k, v in sorted(summary["deposit"].items()))]
    lines += [
        "",
        "## Reconciliation",
        *(f"- {k}: {v}" for k, v in sorted(summary["reconcile"].items())),
    ]
    alerts = summary["alerts"]
    lines += ["", "## Alerts", f"- sent {alerts['sent']}, still pending {alerts['pending_left']}"]
    return "\n".join(lines)
