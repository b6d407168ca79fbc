"""On-demand backfills: re-drive deposits over a date range; import Chorus Pro's history."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from chorus_etl.accounts import load_accounts
from chorus_etl.chorus_client import ChorusClients
from chorus_etl.log import get_logger
from chorus_etl.runs import recorded_run
from flows._environment import flow_environment
from flows.deposit import deposit
from tasks.alerts import halt_group
from tasks.deposit import ACCESS_REFUSALS
from tasks.reconcile import import_history

log = get_logger(__name__)


@flow(name="backfill-deposits", log_prints=False, validate_parameters=True)
def backfill_deposits(
    date_from: date,
    date_to: date,
    supplier_siret: str | None = None,
    entrepreneur_code: str | None = None,
) -> dict[str, Any]:
    """Every not-yet-deposited invoice dated in the range; safe to run again (exactly once)."""
    if date_to < date_from:
        raise ValueError(f"date_to {date_to} is before date_from {date_from}")
    return deposit(
        supplier_sirets=[supplier_siret] if supplier_siret else None,
        entrepreneur_codes=[entrepreneur_code] if entrepreneur_code else None,
        date_from=date_from,
        date_to=date_to,
    )


@flow(name="backfill-history", log_prints=False, validate_parameters=True)
def backfill_history(date_from: date, date_to: date, window_days: int = 7) -> dict[str, Any]:
    """What Chorus Pro knows for a deposit-date range, window by window, resumable."""
    if date_to < date_from:
        raise ValueError(f"date_to {date_to} is before date_from {date_from}")
    if window_days < 1:
        raise ValueError("window_days must be at least 1")
    with (
        flow_environment() as (settings, engine),
        recorded_run(engine, "backfill-history") as counts,
        ChorusClients(settings) as clients,
    ):
        accounts = load_accounts(settings)
        syncs = []
        halted = []
        for group in accounts.groups():
            try:
                api = clients.for_account(accounts.account(group.sirets[0]))
                structures = {s.identifiant: s.idStructureCPP for s in api.supplier_structures()}
                syncs += [
                    import_history(
                        engine,
                        api,
                        siret,
                        structures[siret],
                        date_from,
                        date_to,
                        window_days,
                        accounts.accounting_email(siret),
                        group.cooperative,
                    )
                    for siret in group.sirets
                    if siret in structures
                ]
            except ACCESS_REFUSALS as exc:
                halted.append(halt_group(engine, accounts, group, "rattrapage", exc))
        summary: dict[str, Any] = {
            "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat(),
            "suppliers": [s.as_dict() for s in syncs],
            "invoices_seen": sum(s.results for s in syncs),
            "external_created": sum(s.external_created for s in syncs),
            "new_events": sum(s.new_events for s in syncs),
            "halted": halted,
        }
        counts.update({k: v for k, v in summary.items() if isinstance(v, int)})
    return summary
