"""`archive` flow: the documents of deposited invoices that lack them, from Chorus Pro, once."""

from __future__ import annotations

from typing import Any

from prefect import flow

from chorus_etl.chorus_client import ChorusClients
from chorus_etl.runs import recorded_run
from flows._environment import flow_environment
from tasks.archive import fetch_archives


@flow(name="archive", log_prints=False, validate_parameters=True)
def archive(limit: int | None = None, supplier_sirets: list[str] | None = None) -> dict[str, Any]:
    """After the deposits (daily) and the night's fluxes (nightly); by hand, the backfill of
    older deposits (`chorus-etl archive fetch`), `limit` invoices at a time if asked."""
    with (
        flow_environment() as (settings, engine),
        recorded_run(engine, "archive") as counts,
        ChorusClients(settings) as clients,
    ):
        report = fetch_archives(engine, settings, clients, limit, supplier_sirets)
        counts.update(report.counts())
    return report.as_dict()
