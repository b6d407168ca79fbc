"""`reconcile` flow: Chorus Pro statuses into the warehouse, with alerts; the nightly job."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from chorus_etl.chorus_client import chorus_pro_client
from chorus_etl.log import get_logger
from chorus_etl.runs import flow_environment, recorded_run
from tasks.deposit import (
    DepositResult,
    make_depositor,
    resolve_submitting,
    select_awaiting_flux,
)
from tasks.reconcile import reconcile_supplier, sweep_overdue

log = get_logger(__name__)


@flow(name="reconcile", log_prints=False, validate_parameters=True)
def reconcile(as_of: date | None = None) -> dict[str, Any]:
    """One search per supplier structure since its watermark, then the overdue sweep."""
    with flow_environment() as (settings, engine):
        today = as_of or date.today()
        with (
            recorded_run(engine, "reconcile") as counts,
            chorus_pro_client(settings) as api,
        ):
            # Factur-X fluxes first: an invoice they integrated is then `deposited` when its
            # status is read below, instead of a `submitting` one.
            awaiting = select_awaiting_flux(engine)
            followed = (
                resolve_submitting(
                    make_depositor(engine, api, settings), awaiting, settings.deposit_concurrency
                )
                if awaiting
                else []
            )
            structures = {s.identifiant: s.idStructureCPP for s in api.supplier_structures()}
            suppliers = []
            for siret in settings.supplier_sirets:
                if siret not in structures:
                    log.error("reconcile.supplier_not_attached", supplier=siret)
                    continue
                suppliers.append(
                    reconcile_supplier(engine, api, settings, siret, structures[siret], today)
                )
            late, overdue_alerts = sweep_overdue(engine, settings, today)
            summary: dict[str, Any] = {
                "as_of": today.isoformat(),
                "suppliers": [s.as_dict() for s in suppliers],
                "api_calls": 1 + sum(s.api_calls for s in suppliers),
                "new_events": sum(s.new_events for s in suppliers),
                "status_changes": sum(s.status_changes for s in suppliers),
                "external_created": sum(s.external_created for s in suppliers),
                "alerts": sum(s.alerts for s in suppliers) + overdue_alerts,
                "overdue": len(late),
                "missing_suppliers": sorted(set(settings.supplier_sirets) - set(structures)),
                "fluxes_followed": len(followed),
                "fluxes_settled": sum(
                    1 for o in followed if o.result is not DepositResult.AWAITING
                ),
            }
            counts.update({k: v for k, v in summary.items() if isinstance(v, int)})
    _publish(summary)
    return summary


def _publish(summary: dict[str, Any]) -> None:
    lines = [
        f"# Nightly reconciliation, {summary['as_of']}",
        "",
        f"- status changes: **{summary['status_changes']}** ({summary['new_events']} new events)",
        f"- alerts queued: **{summary['alerts']}**",
        f"- overdue invoices: **{summary['overdue']}**",
        f"- invoices found on Chorus Pro only (deposited by hand): {summary['external_created']}",
        f"- API calls: {summary['api_calls']}",
    ]
    lines += [
        f"- supplier {s} is not attached to the technical account"
        for s in summary["missing_suppliers"]
    ]
    create_markdown_artifact(
        key="reconcile-summary", markdown="\n".join(lines), description="Nightly summary"
    )
