"""`send-alerts` flow: delivers the pending rows of the alert outbox, each exactly once."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from chorus_etl.log import get_logger
from chorus_etl.runs import recorded_run
from flows._environment import flow_environment
from tasks.alerts import send_pending_alerts

log = get_logger(__name__)


@flow(name="send-alerts", log_prints=False)
def send_alerts(cooperative: str | None = None) -> dict[str, Any]:
    """Undelivered alerts stay pending with their reason and are retried by the next run, so a
    failed delivery leaves the run completed; the summary and the artifact show what is left.
    With `cooperative`, only that cooperative's alerts are delivered."""
    with (
        flow_environment() as (settings, engine),
        recorded_run(engine, "send-alerts", cooperative=cooperative) as counts,
    ):
        summary = send_pending_alerts(engine, settings, cooperative=cooperative).as_dict()
        counts.update(summary)
    _publish(summary)
    return summary


def _publish(summary: dict[str, Any]) -> None:
    by_kind = summary["by_kind"]
    assert isinstance(by_kind, dict)
    lines = [
        "# Alerts",
        "",
        *(
            f"- **{name}**: {summary[name]}"
            for name in ("sent", "failed", "pending_left", "digests", "undeliverable")
        ),
    ]
    if by_kind:
        lines += ["", "| kind | sent |", "| --- | --- |"]
        lines += [f"| {kind} | {count} |" for kind, count in sorted(by_kind.items())]
    create_markdown_artifact(
        key="alerts-summary", markdown="\n".join(lines), description="Last alert delivery run"
    )
