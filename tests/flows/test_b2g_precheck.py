"""The public-sector pre-check comes first, in both deposit modes: an invoice breaking a BR-FR-CPRO
rule is `invalid` at ingest with the rule in its reason and nothing reaches Chorus Pro; the very
same invoice sent anyway (made `ready` by hand, the pre-check bypassed) is refused by Chorus Pro
(the simulator) with REJ_CONT_B2G and the same rule."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from chorus_etl import db
from chorus_etl.config import reset_settings_cache
from chorus_etl.settings import ARTENREEL_SIRET
from chorus_pro.simulator import SimulatorHandle
from flows.deposit import deposit
from flows.ingest import ingest
from flows.reconcile import reconcile
from schemas.warehouse import Invoice, ValidationIssue
from tasks.sample.export import generate_export
from tests.flows.helpers import configure

pytestmark = pytest.mark.prefect

TODAY = date(2026, 11, 27)
#: 1,500 characters: BR-FR-CPRO-42 allows 1,024 in a note, the export contract 2,000.
COMMENT = "Ateliers d'écriture menés du 3 au 28 novembre, salle des fêtes. " * 24


def _give_a_long_comment(folder: Path) -> str:
    """The first Artenréel invoice of the export gets a comment longer than a note may be."""
    path = folder / "invoices.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    number = next(r["numero_facture"] for r in rows if r["siret_fournisseur"] == ARTENREEL_SIRET)
    for row in rows:
        if row["numero_facture"] == number:
            row["commentaire"] = COMMENT
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    return number


def _invoice(url: str, number: str) -> dict[str, object]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                sa.select(Invoice).where(
                    sa.column("invoice_number") == number,
                    sa.column("supplier_siret") == ARTENREEL_SIRET,
                )
            ).one()
            found = dict(row._mapping)
            found["rules"] = set(
                connection.execute(
                    sa.select(sa.column("rule"))
                    .select_from(ValidationIssue)
                    .where(sa.column("invoice_id") == found["id"])
                ).scalars()
            )
            return found
    finally:
        engine.dispose()


def _bypass_the_precheck(url: str, invoice_id: object) -> None:
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.update(Invoice).where(sa.column("id") == invoice_id).values(state="ready")
            )
    finally:
        engine.dispose()


def _sent(simulator: SimulatorHandle, number: str) -> int:
    store = simulator.control.store()
    attempts = [a for a in store["attempts"] if a.get("numeroFacture") == number]
    fluxes = [f for f in store["flux"] if f"_{number}_" in f["nomFichier"]]
    return len(attempts) + len(fluxes)


@pytest.mark.parametrize("mode", ["pdf", "facturx"])
def test_the_precheck_refuses_at_ingest_what_chorus_pro_refuses_with_rej_cont_b2g(
    tmp_path: Path,
    sqlite_url: str,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    folder = tmp_path / "export"
    generate_export(folder, invoices=8, seed_value=31, today=TODAY)
    number = _give_a_long_comment(folder)
    configure(monkeypatch, sqlite_url, simulator)
    monkeypatch.setenv("CHORUS_ETL_DEPOSIT_MODES", json.dumps({ARTENREEL_SIRET: mode}))
    reset_settings_cache()

    ingest(folder, today=TODAY)
    victim = _invoice(sqlite_url, number)
    assert victim["state"] == "invalid"
    assert victim["rules"] == {"b2g.cpro-42"}
    deposit(supplier_sirets=[ARTENREEL_SIRET])
    reconcile(as_of=TODAY)
    assert _sent(simulator, number) == 0, "the pre-check kept it from Chorus Pro"

    _bypass_the_precheck(sqlite_url, victim["id"])
    deposit(supplier_sirets=[ARTENREEL_SIRET], invoice_numbers=[number])
    reconcile(as_of=TODAY)  # a flux's refusal is read from its report
    refused = _invoice(sqlite_url, number)
    assert _sent(simulator, number) == 1
    assert refused["state"] == "deposit_failed"
    assert str(refused["deposit_error_label"]).startswith("REJ_CONT_B2G - BR-FR-CPRO-42 : ")
