"""Import what Chorus Pro already knows (invoices deposited by hand before the pipeline existed).

The deposit-date range is walked in windows, one paginated search per window and supplier; the
end of the last completed window is stored, so a run that fails half-way resumes where it stopped
and ends with the same warehouse as a run that never failed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.engine import Engine

from chorus_etl import progress
from chorus_etl.log import get_logger
from chorus_pro.api import ChorusProApi
from schemas.payloads import InvoiceSearchCriteria
from tasks.reconcile import statuses

log = get_logger(__name__)


def progress_key(supplier_siret: str, date_from: date, date_to: date) -> str:
    return f"history:{supplier_siret}:{date_from.isoformat()}:{date_to.isoformat()}"


def windows(date_from: date, date_to: date, days: int) -> list[tuple[date, date]]:
    spans = []
    start = date_from
    while start <= date_to:
        end = min(start + timedelta(days=days - 1), date_to)
        spans.append((start, end))
        start = end + timedelta(days=1)
    return spans


@task(name="import-history", cache_policy=NO_CACHE)
def import_history(
    engine: Engine,
    api: ChorusProApi,
    supplier_siret: str,
    id_fournisseur: int,
    date_from: date,
    date_to: date,
    window_days: int,
    accounting_email: str,
    cooperative: str,
) -> statuses.SupplierSync:
    """Every window not yet done for this supplier and range; progress committed per window
    (invoices found join `cooperative`, the structure's)."""
    key = progress_key(supplier_siret, date_from, date_to)
    done_until = statuses.read_watermark(engine, key)
    sync = statuses.SupplierSync(supplier_siret, watermark_before=done_until)
    todo = [
        (start, end)
        for start, end in windows(date_from, date_to, window_days)
        if done_until is None or datetime.combine(end, time(), UTC) > done_until
    ]
    progress.start(f"history {supplier_siret}", len(todo))
    for start, end in todo:
        criteria = InvoiceSearchCriteria(
            idFournisseur=id_fournisseur, periodeDateDepotDu=start, periodeDateDepotAu=end
        )
        items = list(api.iter_invoices(criteria, page_size=statuses.PAGE_SIZE))
        sync.api_calls += 1
        sync.results += len(items)
        observations = [
            (i, [(i.statut, i.dateHeureEtatCourant, i.commentaireEtatCourant, "search")])
            if i.statut and i.dateHeureEtatCourant
            else (i, [])
            for i in items
        ]
        statuses.apply_statuses(
            engine, supplier_siret, observations, sync, accounting_email, cooperative
        )
        statuses.move_watermark(engine, key, datetime.combine(end, time(), UTC))
        progress.advance(f"history {supplier_siret}")
        log.info(
            "history.window_done",
            supplier=supplier_siret,
            start=start,
            end=end,
            invoices=len(items),
        )
    sync.watermark_after = statuses.read_watermark(engine, key)
    return sync
