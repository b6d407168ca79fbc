"""Ingest acceptance: bad input detected with the right rule, idempotent, outage-safe."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from chorus_etl import db
from chorus_pro.simulator import SimulatorHandle
from flows.ingest import ingest
from schemas.warehouse import Invoice, ValidationIssue
from tasks.sample.export import MANIFEST, generate_export
from tests.flows.helpers import configure, dump

TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def export_with_errors(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exports") / "export-2026-11-25"
    generate_export(folder, invoices=90, seed_value=7, with_errors=True, today=TODAY)
    return folder


def _expected(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return {(i["supplier_siret"], i["invoice_number"]): i for i in manifest["invoices"]}


def test_every_kind_of_bad_input_is_detected_and_good_invoices_are_ready(
    export_with_errors: Path,
    sqlite_url: str,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(monkeypatch, sqlite_url, simulator)
    report = ingest(export_with_errors, today=TODAY)
    expected = _expected(export_with_errors)
    outcomes = {(i["supplier_siret"], i["invoice_number"]): i for i in report["invoices"]}
    assert set(outcomes) == set(expected)
    kinds_seen: set[str] = set()
    for key, want in expected.items():
        got = outcomes[key]
        rules = {r["rule"] for r in got["reasons"]}
        if want["expected"] == "ready":
            assert got["state"] == "ready", (key, got["reasons"])
            assert rules == set()
        else:
            assert got["state"] == "invalid", key
            assert rules & set(want["rules"]), (key, want["expected"], rules)
            kinds_seen.add(want["expected"])
    assert kinds_seen == {
        "bad_siret",
        "missing_engagement",
        "wrong_total",
        "duplicate_number",
        "scanned_pdf",
        "encrypted_pdf",
        "truncated_pdf",
        "pdf_mismatch",
        "path_escape",
    }
    engine = db.make_engine(sqlite_url)
    with engine.connect() as connection:
        issues = connection.execute(
            sa.select(sa.func.count()).select_from(ValidationIssue)
        ).scalar()
        invalid = connection.execute(
            sa.select(sa.func.count()).select_from(Invoice).where(col(Invoice.state) == "invalid")
        ).scalar()
    engine.dispose()
    assert invalid == sum(1 for i in expected.values() if i["expected"] != "ready")
    assert issues is not None and invalid is not None and issues >= invalid


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
def test_ingesting_the_same_export_twice_leaves_the_warehouse_identical(
    engine_name: str,
    export_with_errors: Path,
    request: pytest.FixtureRequest,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = str(request.getfixturevalue(f"{engine_name}_url"))
    configure(monkeypatch, url, simulator)
    first = ingest(export_with_errors, today=TODAY)
    before = dump(url)
    calls_before = simulator.control.stats()
    second = ingest(export_with_errors, today=TODAY)
    assert dump(url) == before
    assert second["counts"]["unchanged"] == first["counts"]["invoices"]
    assert simulator.control.stats() == calls_before, "an unchanged export asks Chorus nothing"


def test_directory_outage_leaves_invoices_waiting_not_invalid(
    tmp_path: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "export"
    generate_export(folder, invoices=12, seed_value=3, today=TODAY)
    configure(monkeypatch, sqlite_url, simulator)
    simulator.control.set_faults(rate_503=1.0, paths=["/cpro/structures"])
    during = ingest(folder, today=TODAY)
    assert {i["result"] for i in during["invoices"]} == {"waiting"}
    assert all(
        r["rule"] == "directory.unavailable" for i in during["invoices"] for r in i["reasons"]
    )
    engine = db.make_engine(sqlite_url)
    with engine.connect() as connection:
        stored = connection.execute(sa.select(sa.func.count()).select_from(Invoice)).scalar()
    engine.dispose()
    assert stored == 0, "nothing is marked invalid (or ready) while the directory is down"

    simulator.control.set_faults()
    after = ingest(folder, today=TODAY)
    assert {i["state"] for i in after["invoices"]} == {"ready"}
    assert len(after["invoices"]) == len(during["invoices"])


def test_corrected_reexport_replaces_an_invalid_invoice(
    tmp_path: Path,
    export_with_errors: Path,
    sqlite_url: str,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(export_with_errors, folder)
    configure(monkeypatch, sqlite_url, simulator)
    ingest(folder, today=TODAY)
    expected = _expected(folder)
    wrong_total = next(k for k, v in expected.items() if v["expected"] == "wrong_total")
    text = (folder / "invoices.csv").read_bytes().decode("cp1252")
    lines = text.splitlines()
    fixed = []
    for line in lines:
        cells = line.split(";")
        if cells[0] == wrong_total[1] and cells[4] == wrong_total[0]:
            base, vat = (float(c.replace(",", ".")) for c in cells[13:15])
            cells[15] = f"{base + vat:.2f}".replace(".", ",")
        fixed.append(";".join(cells))
    (folder / "invoices.csv").write_bytes(("\r\n".join(fixed) + "\r\n").encode("cp1252"))
    report = ingest(folder, today=TODAY)
    outcome = next(
        i for i in report["invoices"] if (i["supplier_siret"], i["invoice_number"]) == wrong_total
    )
    assert outcome["result"] == "replaced"
    assert outcome["state"] == "ready"
    assert report["counts"]["replaced"] == 1
