"""The archive over HTTP: each deposited invoice's documents downloaded once, byte for byte,
hashed in the warehouse, verified; an HTTP 413 split away; a backfill that resumes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chorus_pro.client import ChorusProClient
from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import ANTIGONE
from schemas.warehouse import ArchiveFile, Invoice
from tasks.archive import lacking, verify_archive
from tests.archive.conftest import DOWNLOAD, deposited, fetch, pdf_bytes


def _files(engine: Engine) -> dict[str, ArchiveFile]:
    with Session(engine) as session:
        return {f.path: f for f in session.exec(select(ArchiveFile)).all()}


def _calls(simulator: SimulatorHandle) -> int:
    return int(simulator.control.stats()["requests"].get(DOWNLOAD, 0))


def test_each_invoice_is_downloaded_once_as_deposited_with_its_hashes(
    any_warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle, tmp_path: Path
) -> None:
    deposited(any_warehouse, client, "A-001", attachment=b"%PDF-1.4 PV de reception")
    deposited(any_warehouse, client, "A/002")
    simulator.control.reset_stats()
    root = tmp_path / "archive"

    report = fetch(any_warehouse, client, root)

    assert (report.invoices, report.calls, report.failed) == (2, 1, [])
    folder = root / "cooproduction" / ANTIGONE.siret / "2026"
    assert (folder / "A-001" / "A-001.pdf").read_bytes() == pdf_bytes("A-001")
    assert (folder / "A-001" / "1-PV-A-001.pdf").read_bytes() == b"%PDF-1.4 PV de reception"
    assert (folder / "A_002" / "A_002.pdf").read_bytes() == pdf_bytes("A/002")
    files = _files(any_warehouse)
    assert sorted(files) == [
        f"cooproduction/{ANTIGONE.siret}/2026/A-001/1-PV-A-001.pdf",
        f"cooproduction/{ANTIGONE.siret}/2026/A-001/A-001.pdf",
        f"cooproduction/{ANTIGONE.siret}/2026/A-001/depot.json",
        f"cooproduction/{ANTIGONE.siret}/2026/A_002/A_002.pdf",
        f"cooproduction/{ANTIGONE.siret}/2026/A_002/depot.json",
    ]
    for path, row in files.items():
        content = (root / path).read_bytes()
        assert (row.sha256, row.size_bytes) == (hashlib.sha256(content).hexdigest(), len(content))
    record = json.loads((folder / "A-001" / "depot.json").read_text(encoding="utf-8"))
    with Session(any_warehouse) as session:
        invoice = session.exec(select(Invoice).where(Invoice.invoice_number == "A-001")).one()
    assert record["empreinteCertificatDepot"] == invoice.certificate_fingerprint
    assert record["identifiantFactureCPP"] == invoice.chorus_invoice_id
    assert verify_archive(any_warehouse, root).ok

    again = fetch(any_warehouse, client, root)

    assert (again.invoices, again.calls) == (0, 0)
    assert _calls(simulator) == 1, "a rerun downloads nothing"


def test_a_tampered_file_and_a_missing_one_are_reported(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle, tmp_path: Path
) -> None:
    deposited(warehouse, client, "T-001")
    deposited(warehouse, client, "T-002")
    root = tmp_path / "archive"
    fetch(warehouse, client, root)
    deposited(warehouse, client, "T-003")
    folder = root / "cooproduction" / ANTIGONE.siret / "2026"
    (folder / "T-001" / "T-001.pdf").write_bytes(b"%PDF-1.4 une autre facture")
    (folder / "T-002" / "depot.json").unlink()

    report = verify_archive(warehouse, root)

    assert not report.ok
    assert report.checked == 4
    assert [(a["invoice_number"], a["path"].rsplit("/", 1)[1]) for a in report.altered] == [
        ("T-001", "T-001.pdf")
    ]
    assert [(m["invoice_number"], m["path"].rsplit("/", 1)[1]) for m in report.missing] == [
        ("T-002", "depot.json")
    ]
    assert report.not_fetched == [{"supplier_siret": ANTIGONE.siret, "invoice_number": "T-003"}]


def test_an_answer_over_the_limit_is_split_then_fetched_without_attachments(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle, tmp_path: Path
) -> None:
    """Chorus Pro answers HTTP 413 above 120 MB (here: 400 bytes): the call is halved, an
    invoice too large with its attachments is kept without them and says so; one too large
    alone is reported, keeps no archive and is asked again next run."""
    deposited(warehouse, client, "L-001")
    deposited(warehouse, client, "L-002", attachment=b"%PDF-1.4 " + b"x" * 400)
    simulator.control.set_config(max_download_bytes=400)
    simulator.control.reset_stats()
    root = tmp_path / "archive"

    report = fetch(warehouse, client, root)

    assert report.splits == 1
    assert report.without_attachments == ["L-002"]
    assert (report.invoices, report.too_large, report.failed) == (2, [], [])
    assert _calls(simulator) == 4  # both, L-001, L-002 with, L-002 without its attachment
    files = _files(warehouse)
    kept = [p.rsplit("/", 1)[1] for p in files if "/L-002/" in p]
    assert sorted(kept) == ["L-002.pdf", "depot.json"]
    assert {f.note for p, f in files.items() if "/L-002/" in p} == {
        "pièces jointes non téléchargées : l'ensemble dépasse les 120 Mo que Chorus Pro envoie "
        "en une fois (HTTP 413)"
    }
    assert all(f.note is None for p, f in files.items() if "/L-001/" in p)

    deposited(warehouse, client, "L-003")
    simulator.control.set_config(max_download_bytes=10)
    too_large = fetch(warehouse, client, root)
    assert too_large.too_large == ["L-003"]
    assert [i.invoice_number for i in lacking(warehouse)] == ["L-003"]


def test_the_backfill_resumes_where_it_stopped(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle, tmp_path: Path
) -> None:
    for n in range(5):
        deposited(warehouse, client, f"B-00{n}")
    root = tmp_path / "archive"
    simulator.control.reset_stats()

    first = fetch(warehouse, client, root, limit=2, batch_size=1)
    assert first.invoices == 2
    assert [i.invoice_number for i in lacking(warehouse)] == ["B-002", "B-003", "B-004"]

    rest = fetch(warehouse, client, root, batch_size=1)

    assert rest.invoices == 3
    assert _calls(simulator) == 5, "every invoice downloaded once over both runs"
    assert lacking(warehouse) == []
    assert verify_archive(warehouse, root).ok
