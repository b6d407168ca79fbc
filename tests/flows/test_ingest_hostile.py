"""Hostile exports: a bad cell costs its own invoice a reason, a bad file its own export, never
the run.

One export of six good invoices is generated per module; each test copies it, spoils one invoice
(or a whole file) as a spreadsheet, an accounting tool or a hostile hand could, and checks that
the spoiled one gets its reason while everything else goes on as usual.
"""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlmodel import col

from chorus_etl.config import reset_settings_cache
from chorus_pro.simulator import SimulatorHandle
from flows.daily import daily
from flows.ingest import ingest
from schemas.export import FIELD_LIMIT
from schemas.warehouse import Entrepreneur, ExportFile, Invoice, ValidationIssue
from tasks.sample.export import MANIFEST, generate_export
from tests.flows.helpers import configure, edit_csv, edit_export, rows_of

TODAY = date(2026, 11, 27)
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def good_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exports") / "export"
    generate_export(folder, invoices=6, seed_value=11, today=TODAY)
    return folder


def _numbers(folder: Path) -> list[str]:
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return [str(i["invoice_number"]) for i in manifest["invoices"]]


@dataclass(frozen=True)
class Inbox:
    """A copy of the good export in an inbox, the pipeline pointed at `url` and the simulator."""

    folder: Path
    numbers: list[str]
    url: str

    @property
    def root(self) -> Path:
        return self.folder.parent


@pytest.fixture
def db_url(request: pytest.FixtureRequest) -> str:
    """SQLite, unless a test asks for engines by parameter (`indirect=True`)."""
    engine = getattr(request, "param", "sqlite")
    return str(request.getfixturevalue(f"{engine}_url"))


@pytest.fixture
def inbox(
    good_export: Path,
    tmp_path: Path,
    db_url: str,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> Inbox:
    folder = tmp_path / "inbox" / "export-1-good"
    shutil.copytree(good_export, folder)
    configure(monkeypatch, db_url, simulator)
    return Inbox(folder, _numbers(folder), db_url)


def _outcomes(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(o["invoice_number"]): o for o in report["invoices"]}


def _others_ready(outcomes: dict[str, dict[str, Any]], spoiled: str) -> None:
    """Every invoice of the export but the spoiled one is staged as if nothing happened."""
    assert len(outcomes) == 6
    others = [o for number, o in outcomes.items() if number != spoiled]
    assert {(o["state"], len(o["reasons"]), len(o["warnings"])) for o in others} == {
        ("ready", 0, 0)
    }


def _first_line(folder: Path, number: str) -> int:
    with (folder / "invoices.csv").open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter=";")
        return next(line for line, row in enumerate(rows, start=1) if row[0] == number)


def test_a_line_break_in_a_buyer_name_becomes_a_space_with_a_warning(inbox: Inbox) -> None:
    """A multi-line spreadsheet cell used to reach the alerts' e-mail subject; the invoice stays
    ready, the entrepreneur is told, and the warehouse holds one line."""
    folder, spoiled = inbox.folder, inbox.numbers[0]
    edit_export(folder, spoiled, client="MAIRIE DE\r\nSCHILTIGHEIM\tSERVICE\nCULTURE")

    outcomes = _outcomes(ingest(folder, today=TODAY))

    _others_ready(outcomes, spoiled)
    got = outcomes[spoiled]
    assert (got["state"], got["reasons"]) == ("ready", [])
    one_line = "MAIRIE DE SCHILTIGHEIM SERVICE CULTURE"
    assert [(w["rule"], w["column"], w["value"]) for w in got["warnings"]] == [
        ("text.line_break", "buyer_name", one_line)
    ]
    (row,) = rows_of(inbox.url, Invoice, col(Invoice.invoice_number) == spoiled)
    assert row.buyer_name == one_line
    (issue,) = rows_of(inbox.url, ValidationIssue, col(ValidationIssue.invoice_id) == row.id)
    assert (issue.rule, issue.severity) == ("text.line_break", "warning")
    assert "retours à la ligne" in issue.message_fr


def test_a_cell_over_the_field_limit_refuses_its_invoice_not_the_file(inbox: Inbox) -> None:
    """The csv module refused the whole file for one cell over 128 KiB (`field larger than field
    limit`); now the cell's invoice is refused, naming the column, its line and the limit."""
    folder, spoiled = inbox.folder, inbox.numbers[1]
    edit_export(folder, spoiled, commentaire="x" * (200 * 1024))
    line = _first_line(folder, spoiled)

    report = ingest(folder, today=TODAY)

    assert report["file_reasons"] == []
    outcomes = _outcomes(report)
    _others_ready(outcomes, spoiled)
    assert outcomes[spoiled]["state"] == "invalid"
    (too_long,) = [r for r in outcomes[spoiled]["reasons"] if r["rule"] == "field.too_long"]
    assert too_long["column"] == "comment"
    assert too_long["message_en"] == (
        f"line {line}: comment is {200 * 1024} characters long, over the limit of {FIELD_LIMIT}"
    )
    assert f"Ligne {line} : la colonne comment" in too_long["message_fr"]
    assert str(FIELD_LIMIT) in too_long["message_fr"]
    (row,) = rows_of(inbox.url, Invoice, col(Invoice.invoice_number) == spoiled)
    assert row.comment is not None and len(row.comment) <= 2000


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_control_characters_refuse_their_invoice_on_both_engines(inbox: Inbox) -> None:
    """A NUL byte made PostgreSQL refuse the whole ingest (and SQLite store it silently); an
    escape sequence would reach a terminal. Each is replaced by U+FFFD and refuses its invoice;
    a directory line with one is left out, with its reason, and the others are kept."""
    folder, spoiled, url = inbox.folder, inbox.numbers[2], inbox.url
    edit_export(folder, spoiled, client="MAIRIE\x00DE SCHILTIGHEIM", commentaire="\x1b[2JVoir\x07")
    with (folder / "invoices.csv").open(encoding="utf-8") as handle:
        used = {row["code_entrepreneur"] for row in csv.DictReader(handle, delimiter=";")}
    with (folder / "entrepreneurs.csv").open(encoding="utf-8") as handle:
        codes = [row["code_entrepreneur"] for row in csv.DictReader(handle, delimiter=";")]
    unused = next(code for code in codes if code not in used)
    edit_csv(folder / "entrepreneurs.csv", "code_entrepreneur", unused, nom="Zoé\x00Martin")

    report = ingest(folder, today=TODAY)

    outcomes = _outcomes(report)
    _others_ready(outcomes, spoiled)
    got = outcomes[spoiled]
    assert got["state"] == "invalid"
    controls = {r["column"]: r for r in got["reasons"] if r["rule"] == "text.control_characters"}
    assert set(controls) == {"buyer_name", "comment"}
    assert controls["buyer_name"]["value"] == "MAIRIE\ufffdDE SCHILTIGHEIM"
    assert "U+0000" in controls["buyer_name"]["message_en"]
    assert "U+0007, U+001B" in controls["comment"]["message_fr"]
    (row,) = rows_of(url, Invoice, col(Invoice.invoice_number) == spoiled)
    assert (row.state, row.buyer_name) == ("invalid", "MAIRIE\ufffdDE SCHILTIGHEIM")
    stored = rows_of(url, ValidationIssue, col(ValidationIssue.invoice_id) == row.id)
    assert {i.rule for i in stored} >= {"text.control_characters"}
    assert [r["rule"] for r in report["file_reasons"]] == ["text.control_characters"]
    directory = {e.code for e in rows_of(url, Entrepreneur)}
    assert unused not in directory and used <= directory


def _daily_with_a_bad_export(inbox: Inbox, spoil: Callable[[Path], None]) -> ExportFile:
    """The inbox with a second export (other invoices, spoiled by `spoil`) through the daily
    pipeline: the good export's invoices deposited, the bad one refused whole; its record."""
    bad = inbox.root / "export-2-bad"
    generate_export(bad, invoices=3, seed_value=12, today=TODAY)
    spoil(bad)
    summary = daily(inbox=inbox.root, as_of=TODAY)
    counts = {Path(e["export"]).name: e["counts"] for e in summary["exports"]}
    assert counts["export-1-good"]["state_ready"] == 6
    assert summary["deposit"]["deposited"] == 6
    assert (counts["export-2-bad"]["invoices"], counts["export-2-bad"]["file_errors"]) == (0, 1)
    (record,) = rows_of(inbox.url, ExportFile, col(ExportFile.path) == str(bad.resolve()))
    assert {i.invoice_number for i in rows_of(inbox.url, Invoice)} == set(inbox.numbers)
    return record


def _as_inflating_workbook(folder: Path) -> None:
    """The export's invoice table as a workbook whose first comment is 2 MiB of one letter, a few
    kilobytes on disk as a zip bomb is, only smaller. openpyxl cuts a cell to Excel's 32,767
    characters: the letters are streamed into the sheet's zip member instead, never held whole."""
    with (folder / "invoices.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    marker = "INFLATE-HERE"
    rows[1][rows[0].index("commentaire")] = marker
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in rows:
        sheet.append(row)
    plain = folder / "plain.xlsx"
    workbook.save(plain)
    with (
        zipfile.ZipFile(plain) as source,
        zipfile.ZipFile(folder / "invoices.xlsx", "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            data = source.read(member)
            if marker.encode() not in data:
                target.writestr(member, data)
                continue
            before, after = data.split(marker.encode())
            with target.open(member.filename, "w") as stream:
                stream.write(before)
                for _ in range(2 * MIB // 4096):
                    stream.write(b"A" * 4096)
                stream.write(after)
    plain.unlink()
    (folder / "invoices.csv").unlink()
    assert (folder / "invoices.xlsx").stat().st_size < 64 * 1024


def test_an_xlsx_inflating_beyond_the_limit_is_refused_and_the_inbox_goes_on(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 0.4 MB workbook whose one cell inflated to 400 MiB took 2.1 GB to read: its zip
    directory is read first, and the file refused unopened (the limit lowered to 1 MiB here)."""
    monkeypatch.setenv("CHORUS_ETL_XLSX_MAX_UNCOMPRESSED_BYTES", str(MIB))
    reset_settings_cache()

    record = _daily_with_a_bad_export(inbox, _as_inflating_workbook)

    assert record.error is not None
    assert "invoices.xlsx inflates to" in record.error
    assert f"over the limit of {MIB} (CHORUS_ETL_XLSX_MAX_UNCOMPRESSED_BYTES)" in record.error


def _as_utf16(folder: Path) -> None:
    """What Excel's "Unicode text" gives: UTF-16 little-endian with its byte-order mark."""
    path = folder / "invoices.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))


def test_a_utf16_csv_is_refused_naming_its_encoding_and_the_inbox_goes_on(inbox: Inbox) -> None:
    """It was refused as lacking every required column; now the reason names its encoding and
    those the reader takes."""
    record = _daily_with_a_bad_export(inbox, _as_utf16)

    assert record.error == (
        "invoices.csv is encoded in UTF-16 LE; supported encodings: UTF-8 (with or without BOM), "
        "Windows-1252 / ISO-8859-15"
    )
