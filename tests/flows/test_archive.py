"""The archive in the daily run and from the command line: every invoice the run deposited is
kept once; `chorus-etl archive verify` says whether the archive is intact."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chorus_etl import db
from chorus_etl.config import reset_settings_cache
from chorus_etl.settings import ANTIGONE_SIRET
from chorus_pro.simulator import SimulatorHandle
from cli import app
from flows.archive import archive
from flows.daily import daily
from schemas.warehouse import ArchiveFile, Invoice, StalledWait
from tasks.sample.export import generate_export
from tests.archive.conftest import deposited
from tests.flows.helpers import configure, rows_of
from tests.returns.conftest import chorus_client

TODAY = date(2026, 11, 27)
DOWNLOAD = "/cpro/factures/v1/telecharger/groupe"


def test_the_daily_run_keeps_what_it_deposited_and_verify_reports_a_tampered_file(
    tmp_path: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    generate_export(inbox / "export-1", invoices=5, seed_value=8, today=TODAY)
    configure(monkeypatch, sqlite_url, simulator)
    archive = tmp_path / "archive"
    monkeypatch.setenv("CHORUS_ETL_ARCHIVE_DIR", str(archive))
    monkeypatch.setenv("CHORUS_ETL_ALERT_OUTBOX_DIR", str(tmp_path / "outbox"))
    reset_settings_cache()

    summary = daily(inbox=inbox, as_of=TODAY)

    assert summary["deposit"]["deposited"] == 5
    assert summary["archive"]["archived"] == 5
    invoices = rows_of(sqlite_url, Invoice)
    kept = rows_of(sqlite_url, ArchiveFile)
    assert {f.invoice_id for f in kept} == {i.id for i in invoices}
    for invoice in invoices:
        folder = (
            archive / "cooproduction" / invoice.supplier_siret / "2026" / invoice.invoice_number
        )
        assert (folder / f"{invoice.invoice_number}.pdf").is_file()
        # The deposit kept soumettre's certificate fingerprint; the archive says it too.
        assert re.fullmatch(r"[0-9a-f]{64}", invoice.certificate_fingerprint or "")
        record = json.loads((folder / "depot.json").read_text(encoding="utf-8"))
        assert record["empreinteCertificatDepot"] == invoice.certificate_fingerprint
    structures = {i.supplier_siret for i in invoices}
    assert simulator.control.stats()["requests"][DOWNLOAD] == len(structures)  # one call each
    runner = CliRunner()

    fetched = runner.invoke(app, ["archive", "fetch", "--json"])
    assert fetched.exit_code == 0, fetched.output
    assert json.loads(fetched.output)["counts"]["archived"] == 0
    assert simulator.control.stats()["requests"][DOWNLOAD] == len(structures), "nothing again"

    intact = runner.invoke(app, ["archive", "verify"])
    assert intact.exit_code == 0, intact.output
    assert "archive intact" in intact.output
    victim = archive / kept[0].path
    victim.write_bytes(victim.read_bytes() + b"\n% modifie")
    tampered = runner.invoke(app, ["archive", "verify", "--json"])
    assert tampered.exit_code == 1
    (altered,) = json.loads(tampered.output)["altered"]
    assert altered["path"] == kept[0].path


def test_an_archive_that_cannot_be_fetched_is_a_bounded_wait(
    tmp_path: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, sqlite_url, simulator)
    monkeypatch.setenv("CHORUS_ETL_ARCHIVE_DIR", str(tmp_path / "archive"))
    reset_settings_cache()
    db.upgrade(sqlite_url)
    engine = db.make_engine(sqlite_url)
    with chorus_client(simulator) as client:
        deposited(engine, client, "W-001")
    engine.dispose()
    simulator.control.set_faults(rate_503=1.0, paths=[DOWNLOAD], retry_after_seconds=0)

    failed = archive()

    assert failed["failed"] == ["W-001"]
    (wait,) = rows_of(sqlite_url, StalledWait)
    assert (wait.kind, wait.subject) == ("archive", f"{ANTIGONE_SIRET}:W-001")
    assert "503" in (wait.last_error or "")

    simulator.control.set_faults()
    assert archive()["counts"]["archived"] == 1
    assert rows_of(sqlite_url, StalledWait) == []
