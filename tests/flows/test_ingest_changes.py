"""What a later ingest of the same export checks again: only invoices whose rows or files moved.

An invoice recognised by its source hash (raw rows, file stamps) is not validated again; one whose
files were merely touched is re-read and compared by content, and stays unchanged; one whose PDF
bytes changed is replaced, or refused once deposited. The content hash stored when the preflight
digest is reused equals the one computed from the files directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from chorus_etl import db
from chorus_pro.simulator import SimulatorHandle
from flows.ingest import ingest
from tasks.ingest import stages as ingest_tasks
from tasks.ingest import staging
from tasks.ingest.extract import read_invoices
from tasks.ingest.validate import validate_rows
from tasks.sample.export import generate_export
from tests.flows.helpers import configure, dump

TODAY = date(2026, 11, 27)
INVOICES = sa.table(
    "invoice",
    sa.column("invoice_number"),
    sa.column("state"),
    sa.column("content_hash"),
    sa.column("source_hash"),
    sa.column("pdf_path"),
)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    generate_export(folder, invoices=10, seed_value=5, today=TODAY)
    return folder


@pytest.fixture
def validated_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each ingest validated (the flow's tasks run in this process)."""
    counts: list[int] = []
    real: Callable[..., Any] = validate_rows

    def counting(raw: pd.DataFrame, **kwargs: Any) -> Any:
        counts.append(len(raw))
        return real(raw, **kwargs)

    monkeypatch.setattr(ingest_tasks, "validate_rows", counting)
    return counts


def _rows(url: str) -> dict[str, dict[str, Any]]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.select(INVOICES)).mappings().all()
    finally:
        engine.dispose()
    return {r["invoice_number"]: dict(r) for r in rows}


def _execute(url: str, statement: sa.Executable) -> None:
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(statement)
    finally:
        engine.dispose()


def _results(report: dict[str, Any]) -> dict[str, str]:
    return {i["invoice_number"]: i["result"] for i in report["invoices"]}


def test_an_unchanged_export_is_not_validated_again(
    export: Path,
    sqlite_url: str,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    validated_rows: list[int],
) -> None:
    configure(monkeypatch, sqlite_url, simulator)
    rows = len(read_invoices(export).frame)
    ingest(export, today=TODAY)
    second = ingest(export, today=TODAY)
    assert validated_rows == [rows], "the second ingest validates nothing"
    assert set(_results(second).values()) == {"unchanged"}
    assert {i["state"] for i in second["invoices"]} == {"ready"}


def test_touched_files_are_compared_by_content_once_then_recognised(
    export: Path,
    sqlite_url: str,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    validated_rows: list[int],
) -> None:
    configure(monkeypatch, sqlite_url, simulator)
    ingest(export, today=TODAY)
    before, sources = dump(sqlite_url), {n: r["source_hash"] for n, r in _rows(sqlite_url).items()}
    for pdf in (export / "pdf").iterdir():
        stat = pdf.stat()
        os.utime(pdf, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    calls = simulator.control.stats()

    touched = ingest(export, today=TODAY)
    after = dump(sqlite_url)
    third = ingest(export, today=TODAY)

    assert set(_results(touched).values()) == set(_results(third).values()) == {"unchanged"}
    assert simulator.control.stats() == calls, "content unchanged: no directory call"
    refreshed = {n: r["source_hash"] for n, r in _rows(sqlite_url).items()}
    assert all(refreshed[n] != sources[n] for n in sources)
    for table in (before, after):
        for row in table["invoice"]:
            row.pop("source_hash")
    assert after == before, "only the source hashes moved"
    rows = len(read_invoices(export).frame)
    assert validated_rows == [rows, rows], "the third ingest validates nothing"


def test_an_invoice_ingested_before_source_hashes_is_compared_by_content(
    export: Path,
    sqlite_url: str,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    validated_rows: list[int],
) -> None:
    configure(monkeypatch, sqlite_url, simulator)
    ingest(export, today=TODAY)
    _execute(sqlite_url, sa.update(INVOICES).values(source_hash=None))
    again = ingest(export, today=TODAY)
    assert set(_results(again).values()) == {"unchanged"}
    assert all(r["source_hash"] for r in _rows(sqlite_url).values())
    assert validated_rows[1] == validated_rows[0]


def test_new_pdf_bytes_replace_a_ready_invoice_and_are_refused_once_deposited(
    export: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, sqlite_url, simulator)
    ingest(export, today=TODAY)
    stored = _rows(sqlite_url)
    deposited, ready = sorted(stored)[:2]
    _execute(
        sqlite_url,
        sa.update(INVOICES).where(INVOICES.c.invoice_number == deposited).values(state="deposited"),
    )
    for number in (deposited, ready):
        pdf = export / str(stored[number]["pdf_path"])
        pdf.write_bytes(pdf.read_bytes() + b"\n% regenerated\n")

    report = ingest(export, today=TODAY)

    results = _results(report)
    assert results[deposited] == "refused"
    assert results[ready] == "replaced"
    assert {r for n, r in results.items() if n not in (deposited, ready)} == {"unchanged"}
    refused = next(i for i in report["invoices"] if i["invoice_number"] == deposited)
    assert [r["rule"] for r in refused["reasons"]] == ["invoice.deposited_changed"]
    after = _rows(sqlite_url)
    assert after[deposited]["content_hash"] == stored[deposited]["content_hash"]
    assert after[deposited]["state"] == "deposited"
    assert after[ready]["content_hash"] != stored[ready]["content_hash"]


def test_content_hashes_from_preflight_digests_equal_hashing_the_files(
    tmp_path: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "with-errors"
    generate_export(folder, invoices=60, seed_value=7, with_errors=True, today=TODAY)
    configure(monkeypatch, sqlite_url, simulator)
    ingest(folder, today=TODAY)
    drafts = validate_rows(
        read_invoices(folder).frame,
        today=TODAY,
        supplier_sirets=frozenset(),
        entrepreneurs=None,
    )
    stored = _rows(sqlite_url)
    expected = {d.invoice_number: staging.fingerprint(d, folder) for d in drafts}
    assert len(stored) == len(expected)
    assert {n: r["content_hash"] for n, r in stored.items()} == expected
