"""Returned invoices answered from exports: a `complements/NUMBER/` folder completes a suspended
invoice, a re-export changing only routing fields recycles one, any other change is refused with
the reason a buyer would give; the daily flow's returns stage sends each once."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import col

from chorus_etl import db
from chorus_etl.settings import Settings
from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import ANTIGONE, SCHILTIGHEIM
from flows.deposit import deposit
from flows.ingest import ingest
from flows.returns import returns
from schemas.warehouse import Invoice, ReturnAction, StalledWait
from tasks.returns import ReturnOrder, place_order
from tasks.sample.export import generate_export
from tests.flows.helpers import configure, rows_of
from tests.returns.conftest import COMPLETER, chorus_client, returned

TODAY = date(2026, 11, 27)


def _rows(folder: Path) -> list[dict[str, str]]:
    text = (folder / "invoices.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def _write(folder: Path, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=";", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (folder / "invoices.csv").write_text(buffer.getvalue(), encoding="utf-8")


def test_an_export_asks_and_the_returns_flow_answers_each_once(
    tmp_path: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tmp_path / "export"
    generate_export(first, invoices=6, seed_value=5, today=TODAY)
    configure(monkeypatch, sqlite_url, simulator)
    ingest(first, today=TODAY)
    assert deposit()["counts"].get("deposited") == 6
    rows = _rows(first)
    to_recycle, suspended, other, misrouted = sorted(
        {r["numero_facture"] for r in rows if r["type_facture"] == "FACTURE"}
    )[:4]
    chorus = {i.invoice_number: int(i.chorus_invoice_id or 0) for i in rows_of(sqlite_url, Invoice)}
    simulator.control.set_status(chorus[to_recycle], "A_RECYCLER", "Service exécutant erroné.")
    simulator.control.set_status(chorus[suspended], "SUSPENDUE", "Bon de livraison manquant.")
    simulator.control.set_status(chorus[misrouted], "A_RECYCLER", "Service exécutant erroné.")

    again = tmp_path / "export-2"
    shutil.copytree(first, again)
    for row in rows:
        if row["numero_facture"] == to_recycle:
            row.update(
                siret_client=SCHILTIGHEIM.siret,
                client=SCHILTIGHEIM.name,
                code_service="28E",
                numero_engagement="",
            )
        elif row["numero_facture"] == other:
            row["date_facture"] = "2026-11-01"
        elif row["numero_facture"] == misrouted:  # a service the buyer does not have
            row.update(
                siret_client=SCHILTIGHEIM.siret, client=SCHILTIGHEIM.name, code_service="99Z"
            )
    _write(again, rows)
    complements = again / "complements" / suspended
    complements.mkdir(parents=True)
    (complements / "bon-de-livraison.pdf").write_bytes(b"%PDF-1.4\n% BL signe\n")
    (complements / "commentaire.txt").write_text("Voici le bon de livraison signé.\n")

    report = ingest(again, today=TODAY)

    results = {i["invoice_number"]: i for i in report["invoices"]}
    assert results[to_recycle]["result"] == "recycle_requested"
    assert results[other]["result"] == "refused"
    (refusal,) = results[other]["reasons"]
    assert refusal["rule"] == "invoice.deposited_changed"
    assert "la date de facture" in refusal["message_fr"]
    assert "avoir" in refusal["message_fr"]
    assert report["complements"]["recorded"] == [suspended]
    assert results[misrouted]["result"] == "refused"
    assert [r["rule"] for r in results[misrouted]["reasons"]] == ["service.unknown"]

    summary = returns()

    assert summary["counts"] == {"done": 2}
    store = {i["numeroFacture"]: i for i in simulator.control.store()["invoices"]}
    assert [a["code"] for a in store[to_recycle]["actions"]] == ["RECYCLER"]
    assert store[to_recycle]["codeServiceExecutant"] == "28E"
    assert [a["code"] for a in store[suspended]["actions"]] == ["COMPLETER"]
    assert store[suspended]["statut"] == "COMPLETEE"
    assert all(not store[n]["actions"] for n in store if n not in {to_recycle, suspended})
    assert store[misrouted]["statut"] == "A_RECYCLER", "a routing the directory refuses is not sent"
    (recycled,) = rows_of(sqlite_url, Invoice, col(Invoice.invoice_number) == to_recycle)
    assert (recycled.buyer_siret, recycled.buyer_service_code) == (SCHILTIGHEIM.siret, "28E")

    # The same export read again asks nothing more, and nothing more is sent.
    reread = ingest(again, today=TODAY)
    assert {i["invoice_number"]: i["result"] for i in reread["invoices"]}[to_recycle] == (
        "unchanged"
    )
    assert reread["complements"]["already"] == [suspended]
    assert returns()["counts"] == {}
    assert len(rows_of(sqlite_url, ReturnAction)) == 2


def test_an_answer_chorus_pro_keeps_failing_is_a_bounded_wait_then_sent_once(
    sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, sqlite_url, simulator)
    db.upgrade(sqlite_url)
    engine = db.make_engine(sqlite_url)
    with chorus_client(simulator) as client:
        r = returned(engine, client, simulator, "W-001", "SUSPENDUE")
    placed = place_order(
        engine, Settings(), None, ReturnOrder(kind="complete", number="W-001", comment="BL joint")
    )
    assert placed.action_id is not None
    engine.dispose()
    simulator.control.set_faults(rate_503=1.0, paths=[COMPLETER], retry_after_seconds=0)

    assert returns()["counts"] == {"retry_later": 1}
    (wait,) = rows_of(sqlite_url, StalledWait)
    assert (wait.kind, wait.subject) == ("return", f"{ANTIGONE.siret}:W-001:{placed.action_id}")

    simulator.control.set_faults()
    assert returns()["counts"] == {"done": 1}
    assert rows_of(sqlite_url, StalledWait) == []
    assert r.actions_on_chorus() == ["COMPLETER"]
