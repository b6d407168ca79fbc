"""The archive stage as a Prefect task: what deposited invoices lack, downloaded once."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.engine import Engine

from chorus_etl.chorus_client import ChorusClients
from chorus_etl.log import get_logger
from chorus_etl.settings import Settings
from tasks.alerts import stalls
from tasks.archive.fetch import Archiver, FetchReport, ToArchive, lacking

log = get_logger(__name__)

#: Invoices whose archive could not be fetched: retried at every run, a bounded wait.


def _subject(item: ToArchive) -> str:
    return f"{item.supplier_siret}:{item.invoice_number}"


@task(name="fetch-archives", cache_policy=NO_CACHE)
def fetch_archives(
    engine: Engine,
    settings: Settings,
    clients: ChorusClients,
    limit: int | None = None,
    sirets: list[str] | None = None,
) -> FetchReport:
    """Every deposited invoice without an archive (or the first `limit`), each with its
    structure's own technical account; run again, it resumes where it stopped."""
    items = lacking(engine, sirets=sirets, limit=limit)
    archiver = Archiver(
        engine,
        settings.archive_dir,
        clients.for_structure,
        form=settings.archive_format,
        attachments=settings.archive_attachments,
        batch_size=settings.archive_batch_size,
    )
    report = archiver.fetch(items)
    stalls.record_waits(
        engine,
        stalls.ARCHIVE,
        [
            stalls.Wait(
                subject=_subject(item),
                cooperative=item.cooperative,
                label=stalls.invoice_label(item.supplier_siret, item.invoice_number),
                error=error,
            )
            for item, error in report.left
        ],
        settled=[_subject(item) for item in report.kept],
        bounds=stalls.WaitBounds.from_settings(settings),
        settings=settings,
    )
    log.info("archive.fetched", lacking=len(items), **report.counts())
    return report
