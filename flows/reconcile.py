"""`reconcile` flow: Chorus Pro statuses into the warehouse, with alerts; the nightly job."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from sqlalchemy.engine import Engine

from chorus_etl.accounts import AccountGroup, load_accounts
from chorus_etl.chorus_client import ChorusClients
from chorus_etl.fanout import run_per_structure
from chorus_etl.log import get_logger
from chorus_etl.runs import current_flow_run_id, recorded_run, runs_counts
from chorus_etl.settings import Settings
from flows.environment import flow_environment
from tasks.alerts import halt_group
from tasks.deposit import (
    ACCESS_REFUSALS,
    DepositOutcome,
    DepositResult,
    make_depositor,
    record_deposit_waits,
    resolve_submitting,
    select_awaiting_flux,
)
from tasks.reconcile import SupplierSync, reconcile_supplier, sweep_overdue

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
                    result = _reconcile_group(engine, settings, clients, group, today)
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


@dataclass
class _GroupResult:
    suppliers: list[SupplierSync] = field(default_factory=list)
    followed: list[DepositOutcome] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _reconcile_group(
    engine: Engine, settings: Settings, clients: ChorusClients, group: AccountGroup, today: date
) -> _GroupResult:
    """Factur-X fluxes first: an invoice they integrated is then `deposited` when its status is
    read, instead of a `submitting` one."""
    result = _GroupResult()
    accounting = load_accounts(settings).accounting_email(group.sirets[0])
    api = clients.for_account(load_accounts(settings).account(group.sirets[0]))
    awaiting = select_awaiting_flux(engine, group.sirets)
    if awaiting:
        with make_depositor(engine, api, settings, accounting_email=accounting) as depositor:
            result.followed = resolve_submitting(depositor, awaiting, settings.deposit_concurrency)
        record_deposit_waits(engine, result.followed, settings)
    structures = {s.identifiant: s.idStructureCPP for s in api.supplier_structures()}
    for siret in group.sirets:
        if siret not in structures:
            log.error("reconcile.supplier_not_attached", supplier=siret, login=group.login)
            result.missing.append(siret)
            continue
        result.suppliers.append(
            reconcile_supplier(
                engine, api, settings, siret, structures[siret], today, accounting_email=accounting
            )
        )
    return result


#: The per-structure deployment of this flow (deployments/prefect.yaml).
PER_STRUCTURE_DEPLOYMENT = "reconcile/reconcile-structure"
_SUMMED = ("api_calls", "new_events", "status_changes", "external_created", "alerts")


def reconcile_fanned_out(engine: Engine, settings: Settings, today: date) -> dict[str, Any]:
    """One `reconcile-structure` run per structure on the workers, then the sweep, here, once.

    The children's counts come back through the warehouse (each records its run), not through
    Prefect results, which this pipeline does not persist.
    """
    parent = current_flow_run_id() or "local"
    children = run_per_structure(
        PER_STRUCTURE_DEPLOYMENT,
        load_accounts(settings).sirets(),
        {"as_of": today.isoformat(), "sweep": False},
        key=f"reconcile:{parent}:{today.isoformat()}",
        timeout_seconds=settings.fan_out_timeout_minutes * 60,
    )
    counts = runs_counts(engine, [str(c.flow_run_id) for c in children])
    late, overdue_alerts = sweep_overdue(engine, settings, today)
    found = [counts.get(str(c.flow_run_id), {}) for c in children]
    summary: dict[str, Any] = {k: sum(int(f.get(k, 0)) for f in found) for k in _SUMMED}
    summary["alerts"] += overdue_alerts
    summary.update(
        as_of=today.isoformat(),
        overdue=len(late),
        halted_structures=sum(int(f.get("halted_structures", 0)) for f in found),
        runs=[
            {"siret": c.siret, "flow_run_id": str(c.flow_run_id), "state": c.state}
            for c in children
        ],
        failed_structures=[c.siret for c in children if not c.completed],
    )
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
