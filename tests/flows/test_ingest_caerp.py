"""CAERP exports: the CAERP-shaped and the contract-shaped sample exports of the same invoices stage
the same invoices; what the export lacks is read from the PDFs; what cannot be found goes to the
"à compléter" CSV, and once accounting filled it and dropped it in the export's folder, the
invoices ingest."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader, PdfWriter

from chorus_etl import db
from chorus_pro.simulator import SimulatorHandle
from flows.ingest import ingest
from schemas.warehouse import Invoice, InvoiceVatLine
from tasks.preflight import strip_embedded_xml
from tasks.sample.caerp import CUSTOMERS_FILE, LIST_FILE, generate_caerp_export
from tasks.sample.export import generate_export
from tests.flows.helpers import configure

TODAY = date(2026, 11, 27)
COMPARED = (
    "state",
    "invoice_type",
    "original_invoice_number",
    "entrepreneur_code",
    "buyer_siret",
    "buyer_service_code",
    "engagement_number",
    "amount_ht_cents",
    "amount_vat_cents",
    "total_ttc_cents",
)


def _staged(database_url: str) -> dict[tuple[str, str], dict[str, Any]]:
    engine = db.make_engine(database_url)
    invoices = Invoice.__table__  # type: ignore[attr-defined]
    lines = InvoiceVatLine.__table__  # type: ignore[attr-defined]
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.select(invoices)).mappings().all()
            vat = connection.execute(sa.select(lines)).mappings().all()
    finally:
        engine.dispose()
    by_id: dict[int, list[tuple[int, int, int]]] = {}
    for line in vat:
        by_id.setdefault(line["invoice_id"], []).append(
            (line["rate_bp"], line["base_cents"], line["vat_cents"])
        )
    return {
        (r["supplier_siret"], r["invoice_number"]): {
            **{name: r[name] for name in COMPARED},
            "vat_lines": sorted(by_id.get(r["id"], [])),
        }
        for r in rows
    }


def _ingest_both(
    tmp_path: Path,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    invoices: int,
) -> tuple[
    dict[tuple[str, str], dict[str, Any]], dict[tuple[str, str], dict[str, Any]], dict[str, Any]
]:
    staged = []
    report: dict[str, Any] = {}
    for layout in ("contract", "caerp"):
        folder = tmp_path / layout / "export-2026-11-25"
        write = generate_caerp_export if layout == "caerp" else generate_export
        write(folder, invoices=invoices, seed_value=5, with_errors=True, today=TODAY)
        url = f"sqlite:///{tmp_path / layout}.db"
        configure(monkeypatch, url, simulator)
        monkeypatch.setenv("CHORUS_ETL_VAR_DIR", str(tmp_path / f"var-{layout}"))
        db.upgrade(url)
        report = ingest(folder, today=TODAY)
        staged.append(_staged(url))
    return staged[0], staged[1], report


def _assert_same(contract: dict[Any, Any], caerp: dict[Any, Any]) -> None:
    assert set(caerp) == set(contract)
    differing = {
        key: {
            f: (contract[key][f], caerp[key][f])
            for f in contract[key]
            if contract[key][f] != caerp[key][f]
        }
        for key in contract
        if contract[key] != caerp[key]
    }
    assert not differing, differing
    states = {row["state"] for row in contract.values()}
    assert states == {"ready", "invalid"}
    assert any(row["invoice_type"] == "AVOIR" and row["state"] == "ready" for row in caerp.values())
    assert any(len(row["vat_lines"]) > 1 for row in caerp.values())
    assert any(row["engagement_number"] for row in caerp.values())
    assert any(row["buyer_service_code"] for row in caerp.values())


def test_caerp_and_contract_exports_of_the_same_invoices_stage_the_same(
    tmp_path: Path, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract, caerp, report = _ingest_both(tmp_path, simulator, monkeypatch, 60)
    _assert_same(contract, caerp)
    sources = [i["sources"] for i in report["invoices"]]
    assert {"buyer_siret": "customers file"} in [
        {k: v for k, v in s.items() if k == "buyer_siret"} for s in sources
    ]
    assert any(s.get("buyer_siret") == "export" for s in sources)  # "SIRET client" in the object
    assert any(s.get("original_invoice_number") == "pdf text" for s in sources)


@pytest.mark.slow
def test_200_invoices_stage_the_same_in_both_layouts(
    tmp_path: Path, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract, caerp, _report = _ingest_both(tmp_path, simulator, monkeypatch, 200)
    assert len(caerp) >= 200
    _assert_same(contract, caerp)


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"))


def _printed_otherwise(pdf: bytes, old: str, new: str) -> bytes:
    """The PDF with `old` printed as `new` in its pages' text, and no embedded XML."""
    try:
        reader = PdfReader(io.BytesIO(strip_embedded_xml(pdf)))
        writer = PdfWriter(clone_from=reader)
    except Exception:
        return pdf  # the sample's broken PDFs stay broken
    for page in writer.pages:
        contents = page.get_contents()
        if contents is not None:
            contents.set_data(contents.get_data().replace(old.encode(), new.encode()))
            page.replace_contents(contents)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_what_cannot_be_found_is_asked_of_accounting_then_ingests(
    tmp_path: Path, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "inbox" / "caerp-2026-11"
    generate_caerp_export(folder, invoices=12, seed_value=3, today=TODAY)
    # One customer's SIRET becomes a SIREN in the customers file, and its invoices print the SIRET
    # under no keyword (no "N° d'identification"), nor embed it: nothing gives it.
    customers = _rows(folder / CUSTOMERS_FILE)
    target = next(c for c in customers if c["Numéro SIRET (ou SIREN)"])
    siret = target["Numéro SIRET (ou SIREN)"]
    text = (folder / CUSTOMERS_FILE).read_text(encoding="utf-8")
    (folder / CUSTOMERS_FILE).write_text(text.replace(f'"{siret}"', f'"{siret[:9]}"'), "utf-8")
    for pdf in folder.rglob("*.pdf"):
        if pdf.stat().st_size:
            pdf.write_bytes(_printed_otherwise(pdf.read_bytes(), "identification", "dossier"))
    url = f"sqlite:///{tmp_path / 'w.db'}"
    configure(monkeypatch, url, simulator)
    monkeypatch.setenv("CHORUS_ETL_VAR_DIR", str(tmp_path / "var"))
    db.upgrade(url)
    report = ingest(folder, today=TODAY)
    concerned = {
        i["invoice_number"]
        for i in report["invoices"]
        if any(r["rule"] == "buyer_siret.siren_only" for r in i["reasons"])
    }
    listed = {
        r["Numéro de facture"]
        for r in _rows(folder / LIST_FILE)
        if r["Client"] == target["Raison sociale"]
    }
    assert concerned and concerned <= listed
    to_complete = Path(report["to_complete"])
    assert to_complete.parent == tmp_path / "var" / "a-completer"
    rows = _rows(to_complete)
    assert {r["numero_facture"] for r in rows} >= concerned
    for row in rows:
        if row["numero_facture"] in concerned:
            assert row["siret_client"] == ""
            assert "SIREN" in row["raisons"]
            row["siret_client"] = siret
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=";")
    writer.writeheader()
    writer.writerows(rows)
    (folder / "export-a-completer.csv").write_text(buffer.getvalue(), encoding="utf-8")
    again = ingest(folder, today=TODAY)
    outcomes = {i["invoice_number"]: i for i in again["invoices"]}
    for number in concerned:
        assert outcomes[number]["state"] == "ready", outcomes[number]["reasons"]
        assert outcomes[number]["sources"]["buyer_siret"] == "complement"
    assert _staged(url)[next(k for k in _staged(url) if k[1] in concerned)]["buyer_siret"] == siret
