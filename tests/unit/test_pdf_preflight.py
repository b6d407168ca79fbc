"""The invoice-PDF and attachment preflight: each rule on a crafted file, the process pool's promises
(time budget, crash isolation, order), and hostile bytes that must never raise."""

from __future__ import annotations

import functools
import hashlib
import itertools
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chorus_etl.french import format_euros
from tasks.preflight.pdfs import (
    MAX_PDF_BYTES,
    PdfCheck,
    PdfExpectations,
    check_attachments,
    check_invoice_pdf,
    check_invoice_pdfs,
    read_pdf_text_only,
)
from tasks.preflight.pool import WorkerPool, run_isolated
from tasks.preflight.text import SearchableText
from tasks.sample.pdfs import (
    SampleInvoicePdf,
    example_invoice,
    invoice_pdf_bytes,
    write_attachment,
    write_encrypted_pdf,
    write_invoice_pdf,
    write_scanned_pdf,
    write_truncated_pdf,
)
from tests.fixtures.raw_pdf import assemble
from tests.unit.pdf_worker_hooks import (
    broken_start,
    die_on_37,
    identity,
    kill_worker_on_poison,
    raise_on_poison,
    stuck_out_of_reach_on_poison,
    worker_pid,
)

PDF_RULES = {
    "pdf.missing",
    "pdf.outside_export",
    "pdf.not_pdf",
    "pdf.too_large",
    "pdf.encrypted",
    "pdf.unreadable",
    "pdf.no_text",
    "pdf.image_only_page",
    "pdf.number_missing",
    "pdf.buyer_siret_missing",
    "pdf.engagement_missing",
    "pdf.service_missing",
    "pdf.total_missing",
    "pdf.timeout",
}


def expectations_for(data: SampleInvoicePdf) -> PdfExpectations:
    return PdfExpectations(
        invoice_number=data.invoice_number,
        buyer_siret=data.buyer_siret,
        engagement_number=data.engagement_number,
        service_code=data.buyer_service_code,
        total_ttc_cents=data.total_ttc_cents,
    )


def rules(check: PdfCheck) -> list[str]:
    return [reason.rule for reason in check.reasons]


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "export-2026-11-25"
    (folder / "pdf").mkdir(parents=True)
    return folder


@pytest.fixture
def invoice() -> SampleInvoicePdf:
    return example_invoice()


@pytest.fixture
def good_pdf(export_dir: Path, invoice: SampleInvoicePdf) -> str:
    write_invoice_pdf(export_dir / "pdf" / "FC0142-24.pdf", invoice)
    return "pdf/FC0142-24.pdf"


# --- A minimal PDF writer, for files fpdf2 will not produce -------------------------------------

_IMAGE = b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length 4 >>\nstream\n\x00\xff\xff\x00\nendstream"
_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def raw_pdf(*contents: bytes) -> bytes:
    """A PDF with one page per content stream; pages may use font /F1 and image /Im1."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", _FONT, _IMAGE]
    kids = []
    for content in contents:
        compressed = zlib.compress(content)
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(compressed)
            + compressed
            + b"\nendstream"
        )
        xobjects = b"/XObject << /Im1 4 0 R >>" if b"/Im1" in content else b""
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> %s >> >>" % (len(objects), xobjects)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    return assemble(objects)


def text_content(*lines: str) -> bytes:
    body = b"".join(
        b"(%s) Tj 0 -14 Td " % line.encode("cp1252").replace(b"(", b"\\(").replace(b")", b"\\)")
        for line in lines
    )
    return b"BT /F1 11 Tf 50 800 Td " + body + b"ET"


IMAGE_CONTENT = b"q 500 0 0 700 40 60 cm /Im1 Do Q"
INLINE_IMAGE_CONTENT = b"q 500 0 0 700 40 60 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x00\xff\xff\x00 EI Q"


def text_bomb_content() -> bytes:
    """Valid, a few kilobytes compressed, and slow: pypdf interprets each text operator in Python
    (seconds for these, on any machine)."""
    return b"BT /F1 12 Tf 72 720 Td " + b"(a) Tj " * 400_000 + b"ET"


# --- The good invoice ----------------------------------------------------------------------------


def test_the_sample_invoice_passes_and_is_measured(
    export_dir: Path, good_pdf: str, invoice
) -> None:
    check = check_invoice_pdf(export_dir, good_pdf, expectations_for(invoice))
    content = (export_dir / good_pdf).read_bytes()
    assert check.reasons == []
    assert check.ok
    assert check.size_bytes == len(content)
    assert check.sha256 == hashlib.sha256(content).hexdigest()
    assert check.page_count == 1


def test_references_that_are_absent_from_the_invoice_are_not_required(
    export_dir: Path, invoice: SampleInvoicePdf
) -> None:
    bare = replace(invoice, engagement_number=None, buyer_service_code=None)
    write_invoice_pdf(export_dir / "pdf" / "bare.pdf", bare)
    assert check_invoice_pdf(export_dir, "pdf/bare.pdf", expectations_for(bare)).ok


@pytest.mark.parametrize(
    ("change", "rule", "column"),
    [
        ({"invoice_number": "FC0143-24"}, "pdf.number_missing", "invoice_number"),
        ({"invoice_number": "FC0142-2"}, "pdf.number_missing", "invoice_number"),
        ({"buyer_siret": "21830001000015"}, "pdf.buyer_siret_missing", "buyer_siret"),
        ({"engagement_number": "1300099999"}, "pdf.engagement_missing", "engagement_number"),
        ({"service_code": "29F"}, "pdf.service_missing", "buyer_service_code"),
        ({"total_ttc_cents": 185107}, "pdf.total_missing", "total_ttc"),
        ({"total_ttc_cents": 85106}, "pdf.total_missing", "total_ttc"),
    ],
)
def test_an_export_that_disagrees_with_the_pdf_is_refused(
    export_dir: Path, good_pdf: str, invoice, change: dict[str, object], rule: str, column: str
) -> None:
    expected = replace(expectations_for(invoice), **change)  # type: ignore[arg-type]
    check = check_invoice_pdf(export_dir, good_pdf, expected)
    assert rules(check) == [rule]
    reason = check.reasons[0]
    assert reason.column == column
    assert reason.message_fr and reason.message_en


def test_the_missing_total_is_quoted_the_french_way(
    export_dir: Path, good_pdf: str, invoice
) -> None:
    expected = replace(expectations_for(invoice), total_ttc_cents=123456)
    (reason,) = check_invoice_pdf(export_dir, good_pdf, expected).reasons
    assert "1\u00a0234,56\u00a0€" in reason.message_fr
    assert reason.value == "1234.56"


@pytest.mark.parametrize(
    "total_line",
    [
        "Total TTC : 1 234,56 €",
        "Total TTC : 1234,56",
        "Total TTC : 1 234.56 EUR",
        "Total TTC : 1234.56",
        "Total TTC : 1.234,56 €",
        "Total TTC : 1\u00a0234,56\u00a0€",
    ],
)
def test_a_pdf_spelling_the_total_any_usual_way_passes(export_dir: Path, total_line: str) -> None:
    lines = ("Facture n° F-7", "SIRET client : 218 300 010 00015", total_line)
    (export_dir / "pdf" / "f7.pdf").write_bytes(raw_pdf(text_content(*lines)))
    expected = PdfExpectations("F-7", "21830001000015", None, None, 123456)
    assert check_invoice_pdf(export_dir, "pdf/f7.pdf", expected).ok


# --- Finding values in extracted text -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Total TTC : 1 234,56 €",
        "Total TTC : 1\u00a0234,56\u00a0€",
        "Total TTC : 1\u202f234,56\u202f€",
        "Total TTC : 1\u2009234,56 EUR",
        "Total TTC:1234,56",
        "Total TTC 1 234.56",
        "TOTAL TTC 1234.56 eur",
        "Total TTC : 1.234,56 €",
        "Qté 2 1 234,56 €",
    ],
)
def test_french_and_international_spellings_of_an_amount_are_found(text: str) -> None:
    assert SearchableText(text).has_amount(123456)


@pytest.mark.parametrize(
    "text",
    ["Total TTC : 11 234,56 €", "Total TTC : 1 234,567", "Total TTC : 1 234,65 €", "234,56"],
)
def test_other_amounts_are_not_mistaken_for_it(text: str) -> None:
    assert not SearchableText(text).has_amount(123456)


def test_a_part_of_an_amount_is_not_an_amount() -> None:
    assert not SearchableText("Total TTC : 1 234,56 €").has_amount(23456)


def test_whole_euros_count_when_the_currency_follows() -> None:
    assert SearchableText("Total TTC : 1 200 €").has_amount(120000)
    assert not SearchableText("Quantité 1200").has_amount(120000)


@pytest.mark.parametrize(
    "text",
    [
        "SIRET client : 21830001000015",
        "SIRET destinataire : 218 300 010 00015",
        "SIRET client : 218.300.010.00015",
        "SIRET\u00a0client\u00a0: 218\u00a0300\u00a0010\u00a000015",
    ],
)
def test_a_siret_is_found_grouped_or_not(text: str) -> None:
    assert SearchableText(text).has_siret("21830001000015")


def test_a_longer_number_is_not_the_siret() -> None:
    assert not SearchableText("n° 2183000100001577").has_siret("21830001000015")


@pytest.mark.parametrize(
    "text",
    [
        "Facture n° FC0142-24",
        "FACTURE N°FC0142-24.",
        "Facture FC0142 -24",
        "Facture FC0142\u201124",
    ],
)
def test_an_invoice_number_is_found_despite_extraction_quirks(text: str) -> None:
    assert SearchableText(text).has_reference("FC0142-24")


@pytest.mark.parametrize("text", ["Facture n° FC0142-245", "Facture n° XFC0142-24"])
def test_a_longer_reference_is_another_reference(text: str) -> None:
    assert not SearchableText(text).has_reference("FC0142-24")


def test_amounts_are_formatted_the_french_way() -> None:
    assert format_euros(123456) == "1\u00a0234,56\u00a0€"
    assert format_euros(5) == "0,05\u00a0€"


# --- Paths -----------------------------------------------------------------------------------------


def test_a_missing_file_or_a_folder_is_reported(export_dir: Path, invoice) -> None:
    expected = expectations_for(invoice)
    assert rules(check_invoice_pdf(export_dir, "pdf/absent.pdf", expected)) == ["pdf.missing"]
    assert rules(check_invoice_pdf(export_dir, "pdf", expected)) == ["pdf.missing"]
    assert rules(check_invoice_pdf(export_dir, "", expected)) == ["pdf.missing"]


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../secret.pdf", "pdf/../../secret.pdf", "C:\\factures\\x.pdf", "..\\x.pdf"],
)
def test_paths_leaving_the_export_are_refused(export_dir: Path, invoice, path: str) -> None:
    write_invoice_pdf(export_dir.parent / "secret.pdf", invoice)
    check = check_invoice_pdf(export_dir, path, expectations_for(invoice))
    assert rules(check) == ["pdf.outside_export"]
    assert check.sha256 is None


def test_a_symlink_out_of_the_export_is_refused(export_dir: Path, tmp_path: Path, invoice) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_invoice_pdf(outside / "real.pdf", invoice)
    (export_dir / "pdf" / "link.pdf").symlink_to(outside / "real.pdf")
    (export_dir / "linked-dir").symlink_to(outside, target_is_directory=True)
    expected = expectations_for(invoice)
    assert rules(check_invoice_pdf(export_dir, "pdf/link.pdf", expected)) == ["pdf.outside_export"]
    assert rules(check_invoice_pdf(export_dir, "linked-dir/real.pdf", expected)) == [
        "pdf.outside_export"
    ]


def test_a_symlink_within_the_export_and_windows_separators_are_fine(
    export_dir: Path, good_pdf: str, invoice
) -> None:
    (export_dir / "alias.pdf").symlink_to(export_dir / good_pdf)
    expected = expectations_for(invoice)
    assert check_invoice_pdf(export_dir, "alias.pdf", expected).ok
    assert check_invoice_pdf(export_dir, "pdf\\FC0142-24.pdf", expected).ok


# --- Files that are not readable invoices ------------------------------------------------------------


def test_a_file_that_is_not_a_pdf_is_refused(export_dir: Path, invoice) -> None:
    (export_dir / "pdf" / "facture.pdf").write_text("Facture FC0142-24\n", encoding="utf-8")
    (export_dir / "pdf" / "vide.pdf").write_bytes(b"")
    expected = expectations_for(invoice)
    assert rules(check_invoice_pdf(export_dir, "pdf/facture.pdf", expected)) == ["pdf.not_pdf"]
    assert rules(check_invoice_pdf(export_dir, "pdf/vide.pdf", expected)) == ["pdf.not_pdf"]


def test_a_pdf_over_10_mb_is_refused_without_being_parsed(export_dir: Path, invoice) -> None:
    path = export_dir / "pdf" / "lourd.pdf"
    with path.open("wb") as handle:
        handle.write(invoice_pdf_bytes(invoice))
        handle.truncate(MAX_PDF_BYTES + 1)  # sparse: no disk is spent
    check = check_invoice_pdf(export_dir, "pdf/lourd.pdf", expectations_for(invoice))
    assert rules(check) == ["pdf.too_large"]
    assert check.size_bytes == MAX_PDF_BYTES + 1
    assert check.sha256 is not None
    assert check.page_count is None
    assert "au-delà des 10 Mo acceptés par Chorus Pro" in check.reasons[0].message_fr


@pytest.mark.parametrize(
    ("user_password", "algorithm"), [("", "AES-256"), ("secret", "AES-256"), ("", "RC4-128")]
)
def test_an_encrypted_pdf_is_refused_even_with_an_empty_password(
    export_dir: Path, invoice, user_password: str, algorithm: str
) -> None:
    write_encrypted_pdf(
        export_dir / "pdf" / "protege.pdf",
        invoice,
        user_password=user_password,
        algorithm=algorithm,
    )
    check = check_invoice_pdf(export_dir, "pdf/protege.pdf", expectations_for(invoice))
    assert rules(check) == ["pdf.encrypted"]


def test_a_truncated_or_corrupt_pdf_is_unreadable(export_dir: Path, invoice) -> None:
    write_truncated_pdf(export_dir / "pdf" / "coupe.pdf", invoice)
    (export_dir / "pdf" / "bruit.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    (export_dir / "pdf" / "zero-page.pdf").write_bytes(raw_pdf())
    expected = expectations_for(invoice)
    for name in ("coupe.pdf", "bruit.pdf", "zero-page.pdf"):
        assert rules(check_invoice_pdf(export_dir, f"pdf/{name}", expected)) == ["pdf.unreadable"]


def test_a_scan_is_refused_with_the_guides_advice(export_dir: Path, invoice) -> None:
    write_scanned_pdf(export_dir / "pdf" / "scan.pdf", invoice)
    check = check_invoice_pdf(export_dir, "pdf/scan.pdf", expectations_for(invoice))
    assert rules(check) == ["pdf.no_text"]
    assert (
        "Déposez vos factures au format PDF (pas de scans, ni d'images)"
        in check.reasons[0].message_fr
    )
    assert check.page_count == 1


def test_a_blank_page_has_no_text_either(export_dir: Path, invoice) -> None:
    (export_dir / "pdf" / "blanc.pdf").write_bytes(raw_pdf(b""))
    assert rules(check_invoice_pdf(export_dir, "pdf/blanc.pdf", expectations_for(invoice))) == [
        "pdf.no_text"
    ]


def test_a_scanned_page_behind_a_typed_cover_is_refused(export_dir: Path, invoice) -> None:
    write_scanned_pdf(export_dir / "pdf" / "scan.pdf", invoice, text_cover=True)
    check = check_invoice_pdf(export_dir, "pdf/scan.pdf", expectations_for(invoice))
    assert rules(check)[0] == "pdf.image_only_page"
    assert "page 2" in check.reasons[0].message_en


def test_image_pages_are_found_whether_the_image_is_an_object_or_inline(
    export_dir: Path,
) -> None:
    text = text_content("Facture n° F-7", "SIRET client : 21830001000015", "Total TTC : 10,00 €")
    (export_dir / "pdf" / "mixte.pdf").write_bytes(
        raw_pdf(text, IMAGE_CONTENT, INLINE_IMAGE_CONTENT, IMAGE_CONTENT)
    )
    check = check_invoice_pdf(
        export_dir, "pdf/mixte.pdf", PdfExpectations("F-7", "21830001000015", None, None, 1000)
    )
    assert rules(check) == ["pdf.image_only_page", "pdf.image_only_page"]
    assert check.page_count == 4  # the fourth page is beyond what Chorus Pro reads


def test_the_benchmark_yardstick_reads_the_text(export_dir: Path, good_pdf: str) -> None:
    assert read_pdf_text_only(export_dir / good_pdf) > 100


# --- Attachments -------------------------------------------------------------------------------------


def test_attachments_are_planned_with_type_and_upper_case_extension(
    export_dir: Path, invoice
) -> None:
    for name in ("PV-0142.pdf", "detail.csv", "note.txt"):
        write_attachment(export_dir / "pdf" / "annexes" / name, invoice)
    paths = ["pdf/annexes/PV-0142.pdf", " pdf/annexes/detail.csv", "", "pdf/annexes/note.txt"]
    check = check_attachments(export_dir, paths, pdf_size=3000)
    assert check.ok
    assert [(p.upload_name, p.extension, p.mime_type) for p in check.planned] == [
        ("PV-0142.pdf", "PDF", "application/pdf"),
        ("detail.csv", "CSV", "text/csv"),
        ("note.txt", "TXT", "text/plain"),
    ]
    assert not any(p.renamed for p in check.planned)
    assert check.planned[0].source_path == (export_dir / "pdf/annexes/PV-0142.pdf").resolve()
    assert check.total_bytes == 3000 + sum(p.size_bytes for p in check.planned)


def test_long_or_clashing_names_are_renamed_not_refused(export_dir: Path) -> None:
    long_name = "Procès-verbal de réception des ateliers de médiation – décembre.pdf"
    (export_dir / "a").mkdir()
    (export_dir / "b").mkdir()
    for folder in ("a", "b"):
        (export_dir / folder / long_name).write_bytes(b"%PDF-1.4 annexe")
        (export_dir / folder / "PV.pdf").write_bytes(b"%PDF-1.4 annexe")
    paths = [f"a/{long_name}", f"b/{long_name}", "a/PV.pdf", "b/PV.pdf"]
    check = check_attachments(export_dir, paths, pdf_size=0)
    assert check.ok
    names = [p.upload_name for p in check.planned]
    assert len(set(map(str.casefold, names))) == 4
    assert all(len(name) <= 50 and name.isascii() for name in names)
    assert names[0].startswith("Proces-verbal_de_reception") and names[0].endswith(".pdf")
    assert names[1].endswith("-2.pdf")
    assert names[2:] == ["PV.pdf", "PV-2.pdf"]
    assert [p.renamed for p in check.planned] == [True, True, False, True]
    assert check.planned[0].original_name == long_name


def test_attachment_rules(export_dir: Path, tmp_path: Path) -> None:
    (export_dir / "annexes").mkdir()
    (export_dir / "annexes" / "virus.exe").write_bytes(b"MZ")
    (export_dir / "annexes" / "LISEZMOI").write_bytes(b"texte")
    (export_dir / "annexes" / "vide.pdf").write_bytes(b"")
    with (export_dir / "annexes" / "enorme.zip").open("wb") as handle:
        handle.truncate(10 * 1024 * 1024 + 1)
    (tmp_path / "dehors.pdf").write_bytes(b"%PDF-1.4")
    (export_dir / "annexes" / "lien.pdf").symlink_to(tmp_path / "dehors.pdf")
    paths = [
        "annexes/absente.pdf",
        "../dehors.pdf",
        "annexes/lien.pdf",
        "annexes/virus.exe",
        "annexes/LISEZMOI",
        "annexes/vide.pdf",
        "annexes/enorme.zip",
    ]
    check = check_attachments(export_dir, paths, pdf_size=1000)
    assert [(r.rule, r.value) for r in check.reasons] == [
        ("attachment.missing", "annexes/absente.pdf"),
        ("attachment.outside_export", "../dehors.pdf"),
        ("attachment.outside_export", "annexes/lien.pdf"),
        ("attachment.extension_not_allowed", "annexes/virus.exe"),
        ("attachment.extension_not_allowed", "annexes/LISEZMOI"),
        ("attachment.empty", "annexes/vide.pdf"),
        ("attachment.too_large", "annexes/enorme.zip"),
    ]
    assert all(r.column == "attachments" and r.message_fr for r in check.reasons)
    assert check.planned == []


def test_the_invoice_and_its_attachments_must_stay_under_120_mb(export_dir: Path) -> None:
    (export_dir / "annexe.pdf").write_bytes(b"%PDF-1.4 annexe")
    fits = check_attachments(export_dir, ["annexe.pdf"], pdf_size=120 * 1024 * 1024 - 15)
    assert fits.ok
    over = check_attachments(export_dir, ["annexe.pdf"], pdf_size=120 * 1024 * 1024 - 14)
    assert [r.rule for r in over.reasons] == ["attachment.total_too_large"]
    assert len(over.planned) == 1


# --- The process pool --------------------------------------------------------------------------------


@pytest.fixture
def batch(export_dir: Path, invoice: SampleInvoicePdf) -> list[tuple[Path, str, PdfExpectations]]:
    """Nine good invoices with a poison file in the middle, plus a scan and a missing file."""
    jobs = []
    for number in range(9):
        data = replace(invoice, invoice_number=f"FC{number:04d}-24")
        name = "pdf/poison.pdf" if number == 4 else f"pdf/{data.invoice_number}.pdf"
        write_invoice_pdf(export_dir / name, data)
        jobs.append((export_dir, name, expectations_for(data)))
    write_scanned_pdf(export_dir / "pdf" / "scan.pdf", invoice)
    jobs.append((export_dir, "pdf/scan.pdf", expectations_for(invoice)))
    jobs.append((export_dir, "pdf/absent.pdf", expectations_for(invoice)))
    return jobs


def test_the_pool_gives_the_same_verdicts_in_the_same_order(batch) -> None:
    assert check_invoice_pdfs(batch, workers=2) == [check_invoice_pdf(*job) for job in batch]


def test_the_pool_takes_an_empty_batch() -> None:
    assert check_invoice_pdfs([]) == []


@pytest.mark.parametrize(
    ("hook", "detail"),
    [(kill_worker_on_poison, "exit code -9"), (raise_on_poison, "RuntimeError: a bug")],
)
def test_a_dying_worker_costs_only_its_file(batch, hook, detail: str) -> None:
    results = check_invoice_pdfs(batch, workers=2, check=hook)
    assert rules(results[4]) == ["pdf.unreadable"]
    assert detail in results[4].reasons[0].message_en
    others = [check for i, check in enumerate(results) if i != 4]
    assert others == [check_invoice_pdf(*job) for i, job in enumerate(batch) if i != 4]


def test_a_file_over_its_time_budget_gets_a_timeout(export_dir: Path, batch) -> None:
    (export_dir / "pdf" / "bombe.pdf").write_bytes(raw_pdf(text_bomb_content()))
    jobs = [batch[0], (export_dir, "pdf/bombe.pdf", batch[0][2]), batch[1]]
    results = check_invoice_pdfs(jobs, workers=1, timeout_seconds=1)
    assert [rules(check) for check in results] == [[], ["pdf.timeout"], []]
    assert "1 s" in results[1].reasons[0].message_en


def test_a_worker_stuck_out_of_the_alarms_reach_is_killed(batch) -> None:
    results = check_invoice_pdfs(
        batch, workers=2, timeout_seconds=1, check=stuck_out_of_reach_on_poison
    )
    assert rules(results[4]) == ["pdf.timeout"]
    assert all(check.ok for check in results[:4] + results[5:9])


def test_workers_that_cannot_start_fail_the_batch_rather_than_its_files() -> None:
    with pytest.raises(RuntimeError, match="while starting"):
        run_isolated(
            identity,
            [1, 2, 3],
            workers=2,
            timeout_seconds=5,
            on_timeout=lambda job: -1,
            on_crash=lambda job, what: -2,
            initializer=broken_start,
        )


def test_the_pool_runs_any_importable_function_in_order() -> None:
    jobs = list(range(50))
    results = run_isolated(
        identity,
        jobs,
        workers=2,
        timeout_seconds=5,
        on_timeout=lambda job: -1,
        on_crash=lambda job, what: -2,
    )
    assert results == jobs


def test_a_pool_keeps_its_workers_between_batches() -> None:
    with WorkerPool(worker_pid, workers=2, timeout_seconds=5) as pool:
        first = pool.run(list(range(20)), on_timeout=lambda job: -1, on_crash=lambda job, w: -2)
        assert sorted(set(first)) == sorted(pool.worker_pids)
        second = pool.run(list(range(20)), on_timeout=lambda job: -1, on_crash=lambda job, w: -2)
        assert set(second) == set(first)
        assert len(set(first)) == 2


def test_a_worker_dying_with_its_next_chunk_queued_costs_only_its_job() -> None:
    """Each worker is sent its next chunk before it finishes the current one: the jobs it held
    but never ran go to the other worker."""
    jobs = list(range(300))
    with WorkerPool(die_on_37, workers=2, timeout_seconds=5) as pool:
        results = pool.run(jobs, on_timeout=lambda job: -1, on_crash=lambda job, what: -2)
    assert results == [-2 if job == 37 else job for job in jobs]


def test_progress_is_reported_as_jobs_complete() -> None:
    done: list[int] = []
    with WorkerPool(identity, workers=2, timeout_seconds=5) as pool:
        results = pool.run(
            list(range(100)),
            on_timeout=lambda job: -1,
            on_crash=lambda job, w: -2,
            on_progress=done.append,
            progress_every=30,
        )
    assert results == list(range(100))
    assert done == sorted(done)
    assert done and done[0] >= 30 and done[-1] <= 100
    assert all(b - a >= 30 for a, b in itertools.pairwise(done))


def test_a_relative_export_folder_is_read_from_the_callers_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invoice
) -> None:
    monkeypatch.chdir(tmp_path)
    write_invoice_pdf(tmp_path / "export" / "f.pdf", invoice)
    (check,) = check_invoice_pdfs([(Path("export"), "f.pdf", expectations_for(invoice))])
    assert check.ok


# --- Hostile bytes -----------------------------------------------------------------------------------


@functools.cache
def _valid_pdf() -> bytes:
    return invoice_pdf_bytes(example_invoice())


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


def _assert_never_raises(folder: Path, content: bytes) -> None:
    (folder / "x.pdf").write_bytes(content)
    check = check_invoice_pdf(folder, "x.pdf", expectations_for(example_invoice()))
    assert isinstance(check, PdfCheck)
    assert {reason.rule for reason in check.reasons} <= PDF_RULES


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content=st.one_of(
        st.binary(max_size=4096), st.binary(max_size=2048).map(lambda b: b"%PDF-1.7\n" + b)
    )
)
def test_random_bytes_never_raise(hostile_dir: Path, content: bytes) -> None:
    _assert_never_raises(hostile_dir, content)


_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 64)),
)


def _mutate(content: bytes, mutations: list[tuple[str, int, int]]) -> bytes:
    data = bytearray(content)
    for kind, position, value in mutations:
        at = position % max(1, len(data))
        if kind == "flip" and data:
            data[at] ^= value
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = bytes([value]) * (1 + value % 7)
        elif kind == "delete":
            del data[at : at + value]
    return bytes(data)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations=st.lists(_mutation, min_size=1, max_size=6))
def test_mutations_of_a_valid_pdf_never_raise(hostile_dir: Path, mutations) -> None:
    _assert_never_raises(hostile_dir, _mutate(_valid_pdf(), mutations))
