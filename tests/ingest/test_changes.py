"""Source hashes: what makes an invoice "as last ingested" before anything is validated."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tasks.ingest.changes import FileStamps, row_keys, source_hashes
from tasks.ingest.extract import read_invoices
from tasks.ingest.staging import _safe_file_hash
from tasks.sample.export import generate_export

TODAY = date(2026, 11, 27)
MARKERS = {"", "outside", "missing"}


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    generate_export(folder, invoices=6, seed_value=2, today=TODAY)
    return folder


def _hashes(folder: Path, frame: pd.DataFrame | None = None) -> dict[tuple[str, str], str]:
    frame = read_invoices(folder).frame if frame is None else frame
    return source_hashes(frame, row_keys(frame), folder)


def test_stamps_name_the_files_the_content_hash_reads(export: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.pdf"
    outside.write_bytes(b"%PDF-1.4 not yours")
    (export / "pdf" / "link-out.pdf").symlink_to(outside)
    target = sorted((export / "pdf").glob("*.pdf"))[0]
    (export / "pdf" / "link-in.pdf").symlink_to(target)
    (export / "folder.pdf").mkdir()
    stamp = FileStamps(export)
    (export / "pdf" / "sub").mkdir()
    (export / "linked-folder").symlink_to(export / "pdf")
    (export / "pdf" / "loop.pdf").symlink_to(export / "pdf" / "loop.pdf")
    first = next(p.name for p in (export / "pdf").glob("F*.pdf"))
    for relative in (
        "",
        "pdf/missing.pdf",
        "../secret.pdf",
        str(outside),
        "pdf/link-out.pdf",
        "pdf/link-in.pdf",
        "folder.pdf",
        "pdf/../pdf/link-in.pdf",
        "pdf/sub/../link-out.pdf",
        "pdf/loop.pdf",
        "pdf/",
        "pdf/.",
        "pdf/..",
        f"./pdf//{first}",
        f"linked-folder/{first}",
        f"pdf/{first}/x.pdf",
        "nowhere/at/all.pdf",
        "pdf/nul\x00.pdf",
    ):
        got, content = stamp(relative), _safe_file_hash(export, relative)
        if content in MARKERS:
            assert got == content, relative
        else:
            assert got not in MARKERS, relative
    assert stamp(f"linked-folder/{first}") == stamp(f"pdf/{first}")
    assert stamp("pdf/link-in.pdf") == stamp(f"pdf/{target.name}")


def test_a_rewritten_or_touched_file_changes_the_source_hash_of_its_invoice(export: Path) -> None:
    before = _hashes(export)
    frame = read_invoices(export).frame
    pdf = export / str(frame["pdf_file"].iloc[0])
    key = row_keys(frame)[0]
    stat = pdf.stat()
    os.utime(pdf, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after = _hashes(export)
    assert after[key] != before[key]
    assert {k: v for k, v in after.items() if k != key} == {
        k: v for k, v in before.items() if k != key
    }


def test_cells_count_but_line_numbers_do_not(export: Path) -> None:
    frame = read_invoices(export).frame
    before = _hashes(export, frame)
    changed = frame.copy()
    changed.loc[0, "comment"] = "corrected"
    assert _hashes(export, changed)[row_keys(frame)[0]] != before[row_keys(frame)[0]]
    assert list(_hashes(export, changed)) == list(before), "export order"

    shifted = frame.copy()
    shifted["_line"] = [str(int(v) + 5) for v in frame["_line"]]
    assert _hashes(export, shifted) == before
