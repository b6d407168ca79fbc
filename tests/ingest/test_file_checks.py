"""Whole files refused before they are parsed: size, encoding, a workbook's inflation. Engine-free."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from schemas.export import INVOICE_COLUMNS
from tasks.ingest.complete import merge_complement
from tasks.ingest.extract import CAERP_LIST, find_caerp_table, read_invoices
from tasks.ingest.file_checks import MIB, FileLimits, unsupported_encoding

TEXT = "numero_facture;client\nFC1;Crèche Évasion\n"


@pytest.mark.parametrize(
    ("codec", "name"),
    [
        ("utf-16-le", "UTF-16 LE"),
        ("utf-16-be", "UTF-16 BE"),
        ("utf-32-le", "UTF-32 LE"),
        ("utf-32-be", "UTF-32 BE"),
        ("utf-16", "UTF-16 LE"),
        ("utf-32", "UTF-32 LE"),
    ],
)
def test_utf16_and_utf32_are_named_with_or_without_byte_order_mark(codec: str, name: str) -> None:
    assert unsupported_encoding(TEXT.encode(codec)) == name


def test_a_nul_in_a_utf8_cell_is_no_encoding_of_the_file() -> None:
    """A NUL byte is one cell's fault (`text.control_characters`), not the file's."""
    assert unsupported_encoding(TEXT.replace("FC1", "FC\x001").encode()) is None
    assert unsupported_encoding(TEXT.encode("cp1252")) is None


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "invoices.csv").write_text(TEXT * 100, encoding="utf-8")
    table = read_invoices(tmp_path, FileLimits(max_bytes=1000))
    assert [r.rule for r in table.reasons] == ["file.too_large"]
    assert "CHORUS_ETL_EXPORT_MAX_BYTES" in table.reasons[0].message_en
    assert table.frame.empty


def test_a_workbook_member_inflating_beyond_reason_is_refused_as_a_zip_bomb(
    tmp_path: Path,
) -> None:
    """Under the size limit, but one member inflates about 1000:1, what only a bomb does."""
    with (
        zipfile.ZipFile(tmp_path / "invoices.xlsx", "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/sharedStrings.xml", "w") as stream,
    ):
        for _ in range(2 * MIB // 4096):
            stream.write(b"A" * 4096)
    table = read_invoices(tmp_path)
    assert [r.rule for r in table.reasons] == ["file.compression_ratio"]
    assert "xl/sharedStrings.xml" in table.reasons[0].message_fr


def test_a_workbook_bomb_is_not_opened_to_tell_whether_it_is_a_caerp_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an invoices file, the folder's workbooks are sniffed for CAERP headers: one the
    file checks refuse is passed over unopened, as the reader would refuse it."""
    with (
        zipfile.ZipFile(tmp_path / "export_factures.xlsx", "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/sharedStrings.xml", "w") as stream,
    ):
        for _ in range(2 * MIB // 4096):
            stream.write(b"A" * 4096)
    opened: list[object] = []
    monkeypatch.setattr("openpyxl.load_workbook", lambda *a, **k: opened.append(a))
    assert find_caerp_table(tmp_path, CAERP_LIST, FileLimits()) is None
    assert opened == [], "openpyxl would inflate its shared strings"


def test_an_a_completer_file_over_the_configured_limit_is_refused_unread(tmp_path: Path) -> None:
    """The file accounting drops back in is held to the same configured limits as the export."""
    names = [column.name for column in INVOICE_COLUMNS]
    row = ["FC1" if name == "invoice_number" else "" for name in names]
    (tmp_path / "invoices.csv").write_text(f"{';'.join(names)}\n{';'.join(row)}\n")
    (tmp_path / "export-a-completer.csv").write_text(TEXT * 100, encoding="utf-8")
    limits = FileLimits(max_bytes=1000)
    table = read_invoices(tmp_path, limits)
    merge_complement(table, tmp_path, limits)
    assert [r.rule for r in table.reasons] == ["file.too_large"]
    assert "export-a-completer.csv" in table.reasons[0].message_en


def test_a_caerp_workbook_is_recognised_within_the_configured_limits_not_the_defaults(
    tmp_path: Path,
) -> None:
    """Telling a CAERP export by its header opens the workbook: within the limits the ingest
    reads it with (`FileLimits.of(settings)`), not the built-in ones."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Enseigne", "Numéro de facture", "Montant TTC"])
    path = tmp_path / "factures_2026-12-07.xlsx"
    workbook.save(path)
    size = path.stat().st_size
    assert find_caerp_table(tmp_path, CAERP_LIST, FileLimits(max_bytes=size)) == path
    assert find_caerp_table(tmp_path, CAERP_LIST, FileLimits(max_bytes=size - 1)) is None
