"""Backfills: deposits re-driven safely twice; a history import interrupted and resumed."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from chorus_etl import db
from chorus_pro.simulator import SimulatorHandle, seed
from flows.backfill import backfill_deposits, backfill_history
from flows.ingest import ingest
from schemas.warehouse import Invoice
from tasks.reconcile.history import progress_key
from tasks.sample.export import generate_export
from tests.flows.helpers import configure, dump

TODAY = date(2026, 11, 27)


def test_a_deposit_backfill_run_twice_deposits_each_invoice_once(
    tmp_path: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "export"
    generate_export(folder, invoices=20, seed_value=5, today=TODAY)
    configure(monkeypatch, sqlite_url, simulator)
    ingest(folder, today=TODAY)
    since = TODAY - timedelta(days=20)
    first = backfill_deposits(date_from=since, date_to=TODAY)
    second = backfill_deposits(date_from=since, date_to=TODAY)
    engine = db.make_engine(sqlite_url)
    with engine.connect() as connection:
        in_range = connection.execute(
            sa.select(sa.func.count())
            .select_from(Invoice)
            .where(sa.column("invoice_date") >= since)
        ).scalar_one()
        deposited = connection.execute(
            sa.select(sa.func.count()).select_from(Invoice).where(sa.column("state") == "deposited")
        ).scalar_one()
    engine.dispose()
    assert first["counts"].get("deposited") == in_range == deposited
    assert second["counts"].get("deposited", 0) == 0
    submissions = simulator.control.store()["submissions"]
    assert len(submissions) == in_range
    assert {s["count"] for s in submissions} == {1}


def _portal_invoices(simulator: SimulatorHandle, count: int) -> None:
    """Invoices deposited by hand over several weeks, before the pipeline existed."""
    buyer = seed.SCHILTIGHEIM
    for index in range(count):
        simulator.control.manual_invoice(
            supplier_siret=seed.ANTIGONE.siret if index % 2 else seed.ARTENREEL.siret,
            numeroFacture=f"PORTAIL-{index:03d}",
            codeDestinataire=buyer.siret,
            codeServiceExecutant="28E",
            codeServiceFournisseur="ANT-E001" if index % 2 else "ART-E001",
            montantHtTotal=100.0 + index,
            montantTVA=20.0,
        )
        simulator.control.advance(days=2)


def _run_history(
    monkeypatch: pytest.MonkeyPatch, url: str, simulator: SimulatorHandle, start: date, end: date
) -> dict[str, Any]:
    configure(monkeypatch, url, simulator)
    return backfill_history(date_from=start, date_to=end, window_days=5)


def test_an_interrupted_history_backfill_resumes_to_the_same_warehouse(
    tmp_path: Path, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = date.fromisoformat(simulator.control.clock()["today"])
    _portal_invoices(simulator, 20)
    end = date.fromisoformat(simulator.control.clock()["today"])
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    whole = _run_history(monkeypatch, reference, simulator, start, end)
    assert whole["external_created"] == 20

    resumed = f"sqlite:///{tmp_path / 'resumed.db'}"
    configure(monkeypatch, resumed, simulator)
    db.upgrade(resumed)
    key = progress_key(seed.ANTIGONE.siret, start, end)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            backfill_history(date_from=start, date_to=end, window_days=5)
        except BaseException as exc:  # the interruption under test
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    engine = db.make_engine(resumed)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.is_alive():
        with engine.connect() as connection:
            done = connection.execute(
                sa.text("SELECT count(*) FROM sync_watermark WHERE key = :k"), {"k": key}
            ).scalar_one()
        if done:
            simulator.control.set_faults(rate_503=1.0, paths=["/cpro/factures/v1/rechercher"])
            break
        time.sleep(0.01)
    worker.join(timeout=120)
    engine.dispose()
    assert failure, "the import was interrupted half-way"
    simulator.control.set_faults()
    partial = dump(resumed)
    assert 0 < len(partial["invoice"]) < 20

    _run_history(monkeypatch, resumed, simulator, start, end)
    reference_rows = dump(reference)
    resumed_rows = dump(resumed)
    strip = {"id", "invoice_id", "created_at", "updated_at", "recorded_at"}
    for table in ("invoice", "status_event"):
        assert [
            {k: v for k, v in row.items() if k not in strip} for row in resumed_rows[table]
        ] == [{k: v for k, v in row.items() if k not in strip} for row in reference_rows[table]]
