"""Reconciliation acceptance: 90 simulated days, idempotent nights, external invoices."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from chorus_etl import db
from chorus_etl.config import reset_settings_cache
from chorus_pro.simulator import SimulatorHandle
from flows.deposit import deposit
from flows.ingest import ingest
from flows.reconcile import reconcile
from schemas.warehouse import Alert, Entrepreneur, Invoice, StatusEvent
from tasks.reconcile import statuses
from tasks.reconcile.statuses import ALERTED
from tasks.sample.export import generate_export
from tests.flows.helpers import configure

TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exports") / "export"
    generate_export(folder, invoices=40, seed_value=21, today=TODAY)
    return folder


@pytest.fixture
def deposited(
    export: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> str:
    configure(monkeypatch, sqlite_url, simulator)
    ingest(export, today=TODAY)
    summary = deposit()
    assert summary["counts"].get("deposited") == 40
    return sqlite_url


def _sim_today(simulator: SimulatorHandle) -> date:
    return date.fromisoformat(simulator.control.clock()["today"])


def _parse(at: str) -> datetime:
    return datetime.fromisoformat(at).astimezone(UTC).replace(second=0, microsecond=0)


def test_ninety_nights_mirror_the_simulator_and_alert_the_right_people(
    deposited: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHORUS_ETL_RECONCILE_DETAIL", "true")
    reset_settings_cache()
    # Every third night: with the history read, a night that sees three days misses nothing.
    for _ in range(30):
        simulator.control.advance(days=3)
        reconcile(as_of=_sim_today(simulator))

    remote = {i["numeroFacture"]: i for i in simulator.control.store()["invoices"]}
    engine = db.make_engine(deposited)
    with Session(engine) as session:
        invoices = {i.invoice_number: i for i in session.exec(select(Invoice)).all()}
        events = session.exec(select(StatusEvent)).all()
        alerts = session.exec(select(Alert)).all()
        people = {(e.supplier_siret, e.code): e.email for e in session.exec(select(Entrepreneur))}
    engine.dispose()

    assert set(invoices) == set(remote)
    for number, invoice in invoices.items():
        assert invoice.current_status == remote[number]["statut"], number
    local_events = Counter((e.invoice_id, e.status, e.status_at) for e in events)
    assert set(local_events.values()) == {1}
    ids = {i.invoice_number: i.id for i in invoices.values()}
    expected_events = {
        (ids[number], h["statut"], _parse(h["at"]))
        for number, item in remote.items()
        for h in item["history"]
    }
    assert set(local_events) == expected_events

    statuses = Counter(e.status for e in events)
    assert statuses["MISE_EN_PAIEMENT"] > 0
    assert statuses["REJETEE"] + statuses["SUSPENDUE"] + statuses["A_RECYCLER"] > 0
    by_invoice = {i.id: i for i in invoices.values()}
    alerted_events = [e for e in events if e.status in ALERTED]
    status_alerts = [a for a in alerts if a.kind in {s.lower() for s in ALERTED}]
    assert len(status_alerts) == 2 * len(alerted_events)
    for event in alerted_events:
        invoice = by_invoice[event.invoice_id]
        mine = [
            a
            for a in status_alerts
            if a.invoice_id == invoice.id and a.kind == event.status.lower()
        ]
        assert sorted(a.audience for a in mine) == ["accounting", "entrepreneur"]
        entrepreneur = next(a for a in mine if a.audience == "entrepreneur")
        assert (
            entrepreneur.recipient
            == people[(invoice.supplier_siret, invoice.entrepreneur_code or "")]
        )
        assert invoice.invoice_number in entrepreneur.subject
    for alert in status_alerts:
        if alert.audience == "entrepreneur":
            invoice = by_invoice[alert.invoice_id]
            assert (
                alert.recipient == people[(invoice.supplier_siret, invoice.entrepreneur_code or "")]
            )


def test_three_runs_on_the_same_day_change_nothing_the_second_and_third_time(
    deposited: str, simulator: SimulatorHandle
) -> None:
    simulator.control.advance(days=25)
    as_of = _sim_today(simulator)
    first = reconcile(as_of=as_of)
    assert first["new_events"] > 0
    engine = db.make_engine(deposited)

    def snapshot() -> tuple[int, int]:
        with engine.connect() as connection:
            return (
                connection.execute(
                    sa.select(sa.func.count()).select_from(StatusEvent)
                ).scalar_one(),
                connection.execute(sa.select(sa.func.count()).select_from(Alert)).scalar_one(),
            )

    after_first = snapshot()
    for _ in range(2):
        again = reconcile(as_of=as_of)
        assert (again["new_events"], again["alerts"], again["status_changes"]) == (0, 0, 0)
        assert snapshot() == after_first
    engine.dispose()


def test_invoices_deposited_by_hand_become_external_and_are_attributed(
    deposited: str, simulator: SimulatorHandle
) -> None:
    simulator.control.manual_invoice(
        supplier_siret="51858054300107",
        numeroFacture="MANUEL-0001",
        codeDestinataire="21670447800017",
        codeServiceExecutant="28E",
        codeServiceFournisseur="ANT-E003",
        montantHtTotal=100.0,
        montantTVA=20.0,
    )
    summary = reconcile(as_of=_sim_today(simulator))
    assert summary["external_created"] == 1
    engine = db.make_engine(deposited)
    with Session(engine) as session:
        external = session.exec(
            select(Invoice).where(col(Invoice.invoice_number) == "MANUEL-0001")
        ).one()
    engine.dispose()
    assert external.state == "external"
    assert external.entrepreneur_code == "ANT-E003"
    assert external.total_ttc_cents == 12000
    assert external.chorus_invoice_id is not None


def test_one_search_per_structure_not_one_call_per_invoice(
    deposited: str, simulator: SimulatorHandle
) -> None:
    simulator.control.advance(days=30)
    simulator.control.reset_stats()
    reconcile(as_of=_sim_today(simulator))
    requests = simulator.control.stats()["requests"]
    searches = sum(n for path, n in requests.items() if path.endswith("/rechercher/fournisseur"))
    history = sum(n for path, n in requests.items() if path.endswith("/consulter/historique"))
    assert searches == 2
    assert history == 0


def test_pages_are_written_as_they_come_and_a_run_stopped_between_two_is_made_whole_next_time(
    deposited: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next page is asked for while one is written, each page in its own transaction; the
    watermark moves only once all are written, so the next run reads the rest again."""
    simulator.control.advance(days=25)
    as_of = _sim_today(simulator)
    monkeypatch.setattr(statuses, "PAGE_SIZE", 7)
    written = statuses.apply_statuses
    pages: list[int] = []

    def fail_on_third_page(*args: Any, **kwargs: Any) -> None:
        pages.append(len(args[2]))
        if len(pages) == 3:
            raise RuntimeError("the warehouse went away")
        written(*args, **kwargs)

    engine = db.make_engine(deposited)
    with Session(engine) as session:
        sirets = sorted(set(session.exec(select(Invoice.supplier_siret)).all()))
    before = {s: statuses.read_watermark(engine, statuses.watermark_key(s)) for s in sirets}
    monkeypatch.setattr(statuses, "apply_statuses", fail_on_third_page)
    with pytest.raises(RuntimeError, match="went away"):
        reconcile(as_of=as_of)
    assert pages[:2] == [7, 7]
    with Session(engine) as session:
        partial = len(session.exec(select(StatusEvent).where(StatusEvent.source == "search")).all())
    assert partial > 0
    assert {s: statuses.read_watermark(engine, statuses.watermark_key(s)) for s in sirets} == before

    monkeypatch.setattr(statuses, "apply_statuses", written)
    summary = reconcile(as_of=as_of)
    assert summary["api_calls"] > 2 * len(sirets)
    remote = {i["numeroFacture"]: i for i in simulator.control.store()["invoices"]}
    with Session(engine) as session:
        invoices = session.exec(select(Invoice)).all()
        events = session.exec(select(StatusEvent)).all()
    after = {s: statuses.read_watermark(engine, statuses.watermark_key(s)) for s in sirets}
    engine.dispose()
    assert {i.invoice_number: i.current_status for i in invoices} == {
        number: item["statut"] for number, item in remote.items()
    }
    assert len(events) == len({(e.invoice_id, e.status, e.status_at) for e in events})
    assert all(after[s] is not None and after[s] != before[s] for s in sirets)
