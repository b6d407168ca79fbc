"""One reconciliation over one account group, and the fanned-out nightly: the protocol's order,
for the flows to loop over.

Factur-X fluxes are followed first: an invoice they integrated is then `deposited` when its
status is read, instead of a `submitting` one. Then one search per structure of the group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine

from chorus_etl.accounts import AccountGroup, load_accounts
from chorus_etl.chorus_client import ChorusClients
from chorus_etl.fanout import run_per_structure
from chorus_etl.log import get_logger
from chorus_etl.runs import current_flow_run_id, runs_counts
from chorus_etl.settings import Settings
from tasks.deposit import (
    DepositOutcome,
    make_depositor,
    record_deposit_waits,
    resolve_submitting,
    select_awaiting_flux,
)
from tasks.reconcile.stages import reconcile_supplier, sweep_overdue
from tasks.reconcile.statuses import SupplierSync

log = get_logger(__name__)


@dataclass
class GroupReconcile:
    suppliers: list[SupplierSync] = field(default_factory=list)
    followed: list[DepositOutcome] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def reconcile_group(
    engine: Engine, settings: Settings, clients: ChorusClients, group: AccountGroup, today: date
) -> GroupReconcile:
    """Factur-X fluxes first: an invoice they integrated is then `deposited` when its status is
    read, instead of a `submitting` one."""
    result = GroupReconcile()
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
_SUMMED = (
    "api_calls",
    "new_events",
    "status_changes",
    "external_created",
    "matched_on_chorus",
    "conflicts",
    "alerts",
)


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
