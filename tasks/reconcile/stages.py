"""The reconciliation stages as Prefect tasks: per supplier structure, then the overdue sweep."""

from __future__ import annotations

from datetime import date, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.engine import Engine

from chorus_etl.accounts import load_accounts
from chorus_etl.cooperatives import cooperative_of
from chorus_etl.log import get_logger
from chorus_etl.settings import Settings
from chorus_pro.api import ChorusProApi
from tasks.reconcile import overdue, password_expiry, statuses

log = get_logger(__name__)


@task(name="reconcile-supplier", cache_policy=NO_CACHE)
def reconcile_supplier(
    engine: Engine,
    api: ChorusProApi,
    settings: Settings,
    supplier_siret: str,
    id_fournisseur: int,
    as_of: date,
    accounting_email: str | None = None,
) -> statuses.SupplierSync:
    """`accounting_email`: the structure's cooperative's; the single-account setting's by default."""
    accounting_email = accounting_email or settings.alert_accounting_email
    cooperative = cooperative_of(supplier_siret, settings)
    sync = statuses.reconcile_supplier(
        engine,
        api,
        supplier_siret,
        id_fournisseur,
        overlap=timedelta(minutes=settings.reconcile_overlap_minutes),
        accounting_email=accounting_email,
        cooperative=cooperative,
        detail=settings.reconcile_detail,
    )
    sync.alerts += password_expiry.queue_if_expiring(
        engine,
        structure=supplier_siret,
        expires_on=password_expiry.expiry_date(api, id_fournisseur),
        as_of=as_of,
        warning_days=settings.password_warning_days,
        accounting_email=accounting_email,
        cooperative=cooperative,
    )
    sync.api_calls += 1
    return sync


@task(name="sweep-overdue", cache_policy=NO_CACHE)
def sweep_overdue(
    engine: Engine, settings: Settings, as_of: date, cooperative: str | None = None
) -> tuple[list[overdue.Overdue], int]:
    """Late invoices of one cooperative, or of all; each accounting alert goes to the invoice's
    own cooperative's accounting."""
    late = overdue.find_overdue(
        engine, as_of, settings.buyer_kinds, settings.ecb_rate_percent, cooperative=cooperative
    )
    created = overdue.queue_overdue_alerts(
        engine,
        late,
        accounting_email=settings.alert_accounting_email,
        ecb_rate_percent=settings.ecb_rate_percent,
        accounting_emails={c.id: c.accounting_email for c in load_accounts(settings).cooperatives},
    )
    log.info("reconcile.overdue", overdue=len(late), alerts=created, cooperative=cooperative)
    return late, created
