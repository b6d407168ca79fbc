"""Whole files refused before they are parsed. Engine-free."""

from __future__ import annotations

from pathlib import Path

from tasks.ingest.extract import read_invoices
from tasks.ingest.file_checks import FileLimits

TEXT = "numero_facture;client\nFC1;Crèche Évasion\n"


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "invoices.csv").write_text(TEXT * 100, encoding="utf-8")
    table = read_invoices(tmp_path, FileLimits(max_bytes=1000))
    assert [r.rule for r in table.reasons] == ["file.too_large"]
    assert "CHORUS_ETL_EXPORT_MAX_BYTES" in table.reasons[0].message_en
    assert table.frame.empty
