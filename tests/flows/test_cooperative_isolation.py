"""Two cooperatives, one inbox: the ingest stamps each row with its structure's cooperative, reads
each cooperative's own entrepreneurs file, matches the same code E001 to the right person in each,
and the overdue sweep and the alert delivery keep every cooperative's alerts to its own people."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from chorus_etl import db
from chorus_etl.config import get_settings
from chorus_pro.simulator import SimulatorHandle
from flows.alerts import send_alerts
from flows.ingest import ingest
from schemas.warehouse import Alert, Entrepreneur, ExportFile, Invoice, ValidationIssue
from tasks.alerts.outbox import facts_of
from tasks.reconcile import sweep_overdue
from tasks.sample.export import generate_export
from tests.fixtures.isolation import (
    ANTIGONE,
    ARTENREEL,
    BOTH,
    INSTALLATION,
    use_two_cooperatives,
)
from tests.flows.helpers import configure

TODAY = date(2026, 11, 27)
PEOPLE = {
    ANTIGONE.id: ("Alice Antigone", "alice@antigone.example"),
    ARTENREEL.id: ("Bruno Artenréel", "bruno@artenreel.example"),
}
SIRET_OF = {c.id: c.siret for c in BOTH}
COOPERATIVE_OF = {c.siret: c.id for c in BOTH}


def _directory(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["code_entrepreneur", "nom", "email", "siret_fournisseur"])
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _export(folder: Path) -> str:
    """A sample export whose invoices all name entrepreneur E001 but one of Artenréel's, E002;
    without its own directory file, so that each cooperative's file is read. Returns the number
    of that invoice."""
    generate_export(folder, invoices=10, seed_value=11, today=TODAY)
    (folder / "entrepreneurs.csv").unlink()
    table = folder / "invoices.csv"
    rows = list(csv.reader(io.StringIO(table.read_text(encoding="utf-8")), delimiter=";"))
    header, body = rows[0], rows[1:]
    siret, code, number = (
        header.index(c) for c in ("siret_fournisseur", "code_entrepreneur", "numero_facture")
    )
    assert {row[siret] for row in body} == {ANTIGONE.siret, ARTENREEL.siret}, "both structures"
    stranger = next(row[number] for row in body if row[siret] == ARTENREEL.siret)
    for row in body:
        row[code] = "E002" if row[number] == stranger else "E001"
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\n").writerows([header, *body])
    table.write_text(buffer.getvalue(), encoding="utf-8")
    return stranger


@pytest.fixture
def two_cooperatives(
    tmp_path: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    configure(monkeypatch, sqlite_url, simulator)
    monkeypatch.setenv("CHORUS_ETL_ALERT_OUTBOX_DIR", str(tmp_path / "outbox"))
    files = {
        ANTIGONE.id: _directory(
            tmp_path / "antigone.csv",
            [
                ("E001", *PEOPLE[ANTIGONE.id], ANTIGONE.siret),
                # Not Antigone's structure: its file cannot place anyone there.
                ("E002", "Intrus", "intrus@antigone.example", ARTENREEL.siret),
            ],
        ),
        ARTENREEL.id: _directory(
            tmp_path / "artenreel.csv", [("E001", *PEOPLE[ARTENREEL.id], ARTENREEL.siret)]
        ),
    }
    use_two_cooperatives(monkeypatch, tmp_path, files)
    folder = tmp_path / "inbox" / "export-1"
    return folder, _export(folder)


def test_ingest_stamps_each_row_and_matches_each_cooperative_s_e001(
    two_cooperatives: tuple[Path, str], sqlite_url: str
) -> None:
    folder, stranger = two_cooperatives
    report = ingest(folder, today=TODAY)
    assert report["counts"]["invoices"] == 10

    engine = db.make_engine(sqlite_url)
    try:
        with Session(engine) as session:
            invoices = session.exec(select(Invoice)).all()
            assert {(i.supplier_siret, i.cooperative) for i in invoices} == {
                (ANTIGONE.siret, ANTIGONE.id),
                (ARTENREEL.siret, ARTENREEL.id),
            }
            people = session.exec(select(Entrepreneur)).all()
            assert sorted((p.cooperative, p.supplier_siret, p.code, p.email) for p in people) == [
                (ANTIGONE.id, ANTIGONE.siret, "E001", PEOPLE[ANTIGONE.id][1]),
                (ARTENREEL.id, ARTENREEL.siret, "E001", PEOPLE[ARTENREEL.id][1]),
            ]
            for invoice in invoices:
                _facts, entrepreneur = facts_of(session, invoice)
                if invoice.invoice_number == stranger:
                    assert entrepreneur is None
                    continue
                assert entrepreneur is not None
                assert entrepreneur.email == PEOPLE[invoice.cooperative][1], invoice.invoice_number
                assert invoice.state == "ready", invoice.invoice_number
            (refused,) = [i for i in invoices if i.invoice_number == stranger]
            rules = session.exec(
                select(ValidationIssue.rule).where(col(ValidationIssue.invoice_id) == refused.id)
            ).all()
            assert rules == ["entrepreneur.unknown"], "E002 exists only in Antigone's file"
            (export,) = session.exec(select(ExportFile)).all()
            assert export.cooperative == INSTALLATION, "an export of both is the installation's"
    finally:
        engine.dispose()


def test_overdue_alerts_go_to_each_invoice_s_cooperative_and_are_sent_per_cooperative(
    two_cooperatives: tuple[Path, str], sqlite_url: str, tmp_path: Path
) -> None:
    folder, _stranger = two_cooperatives
    ingest(folder, today=TODAY)
    engine = db.make_engine(sqlite_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.update(Invoice)
                .where(col(Invoice.state) == "ready")
                .values(
                    state="deposited",
                    deposit_date=TODAY - timedelta(days=60),
                    current_status="MISE_A_DISPOSITION",
                )
            )
        settings = get_settings()
        late, created = sweep_overdue(engine, settings, TODAY, cooperative=ARTENREEL.id)
        with Session(engine) as session:
            invoices = {i.id: i for i in session.exec(select(Invoice)).all()}
            alerts = session.exec(select(Alert)).all()
        assert late and {invoices[o.invoice_id].cooperative for o in late} == {ARTENREEL.id}
        assert {a.cooperative for a in alerts} == {ARTENREEL.id} and created == len(alerts)

        late, _ = sweep_overdue(engine, settings, TODAY)
        with Session(engine) as session:
            alerts = session.exec(select(Alert)).all()
        deposited = [
            i for i in invoices.values() if i.state == "deposited" and i.invoice_type == "FACTURE"
        ]
        assert {o.invoice_id for o in late} == {i.id for i in deposited}
        assert len(alerts) == 2 * len(deposited), "one for the entrepreneur, one for accounting"
        addresses = {c.id: c.accounting_email for c in BOTH}
        for alert in alerts:
            assert alert.invoice_id is not None
            invoice = invoices[alert.invoice_id]
            assert alert.cooperative == invoice.cooperative
            if alert.audience == "accounting":
                assert alert.recipient == addresses[invoice.cooperative]
            else:
                assert alert.recipient == PEOPLE[invoice.cooperative][1]

        summary = send_alerts(cooperative=ANTIGONE.id)
        with Session(engine) as session:
            alerts = session.exec(select(Alert)).all()
        sent = {a.cooperative for a in alerts if a.status == "sent"}
        assert sent == {ANTIGONE.id} and summary["sent"] == sum(
            1 for a in alerts if a.cooperative == ANTIGONE.id
        )
        assert {a.cooperative for a in alerts if a.status == "pending"} == {ARTENREEL.id}
        assert summary["pending_left"] == 0, "counted for Antigone only"
        written = "\n".join(
            p.read_text(encoding="utf-8") for p in (tmp_path / "outbox").glob("*.eml")
        )
        assert ANTIGONE.accounting_email in written
        assert ARTENREEL.accounting_email not in written
        assert PEOPLE[ARTENREEL.id][1] not in written
    finally:
        engine.dispose()
