"""`reconcile` flow: Chorus Pro statuses into the warehouse, with alerts; the nightly job."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from chorus_etl.accounts import load_accounts
from chorus_etl.chorus_client import ChorusClients
from chorus_etl.log import get_logger
from chorus_etl.runs import recorded_run
from flows._environment import flow_environment
from tasks.alerts import halt_group
from tasks.deposit import (
    ACCESS_REFUSALS,
    DepositOutcome,
    DepositResult,
)
from tasks.reconcile import SupplierSync, reconcile_group, sweep_overdue

log = get_logger(__name__)


@flow(name="reconcile", log_prints=False, validate_parameters=True)
def reconcile(
    as_of: date | None = None,
    supplier_sirets: list[str] | None = None,
    sweep: bool = True,
) -> dict[str, Any]:
    """One search per supplier structure since its watermark, account by account, then the
    overdue sweep (`sweep=False` when a parent run sweeps once for every structure)."""
    with flow_environment() as (settings, engine):
        today = as_of or date.today()
        accounts = load_accounts(settings)
        suppliers: list[SupplierSync] = []
        followed: list[DepositOutcome] = []
        missing: list[str] = []
        halted: list[dict[str, Any]] = []
        listing_calls = 0
        with (
            recorded_run(
                engine, "reconcile", cooperative=accounts.sole_cooperative(supplier_sirets)
            ) as counts,
            ChorusClients(settings) as clients,
        ):
            for group in accounts.groups(supplier_sirets or None):
                try:
                    result = reconcile_group(engine, settings, clients, group, today)
                except ACCESS_REFUSALS as exc:
                    halted.append(halt_group(engine, accounts, group, "suivi", exc, today))
                    continue
                followed += result.followed
                suppliers += result.suppliers
                missing += result.missing
                listing_calls += 1
            late, overdue_alerts = sweep_overdue(engine, settings, today) if sweep else ([], 0)
            summary: dict[str, Any] = {
                "as_of": today.isoformat(),
                "suppliers": [s.as_dict() for s in suppliers],
                "api_calls": listing_calls + sum(s.api_calls for s in suppliers),
                "new_events": sum(s.new_events for s in suppliers),
                "status_changes": sum(s.status_changes for s in suppliers),
                "external_created": sum(s.external_created for s in suppliers),
                "matched_on_chorus": sum(s.matched_on_chorus for s in suppliers),
                "conflicts": sum(s.conflicts for s in suppliers),
                "alerts": sum(s.alerts for s in suppliers)
                + overdue_alerts
                + sum(h["alerts"] for h in halted),
                "overdue": len(late),
                "missing_suppliers": sorted(missing),
                "halted": halted,
                "halted_structures": sum(len(h["sirets"]) for h in halted),
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
        f"- supplier {s} is not attached to its technical account"
        for s in summary["missing_suppliers"]
    ]
    lines += [
        f"- **halted** {', '.join(h['sirets'])} ({h['login']}): {h['error']}"
        for h in summary["halted"]
    ]
    create_markdown_artifact(
        key="reconcile-summary", markdown="\n".join(lines), description="Nightly summary"
    )
