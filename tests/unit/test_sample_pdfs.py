"""The sample invoice PDFs: small, deterministic, legally complete, and consistent with the export."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from tasks.sample.pdfs import (
    DEFAULT_EXEMPTION,
    SampleLine,
    example_invoice,
    invoice_pdf_bytes,
    write_attachment,
    write_encrypted_pdf,
    write_invoice_pdf,
    write_scanned_pdf,
    write_truncated_pdf,
)


def page_text(content: bytes, page: int = 0) -> str:
    return PdfReader(BytesIO(content)).pages[page].extract_text()


def test_the_invoice_is_small_and_the_same_bytes_every_time(tmp_path: Path) -> None:
    write_invoice_pdf(tmp_path / "a" / "FC0142-24.pdf", example_invoice())
    content = (tmp_path / "a" / "FC0142-24.pdf").read_bytes()
    assert content.startswith(b"%PDF-")
    # The embedded font's used glyphs, the sRGB profile and the PDF/A metadata included.
    assert len(content) < 32 * 1024
    assert content == invoice_pdf_bytes(example_invoice())


def test_the_invoice_carries_the_keywords_and_the_legal_mentions() -> None:
    text = page_text(invoice_pdf_bytes(example_invoice())).replace("\n", " ")
    for expected in (
        "Facture n° FC0142-24",
        "SIRET client : 21670447800017",
        "Code service : 28E",
        "Engagement (EJ / bon de commande) : 1300012345",
        "Total TTC :",
        "1\u00a0851,06\u00a0€",
        "SIRET : 51858054300107",
        "N° TVA intracommunautaire : FR60518580543",
        "Camille Martin",
        "Date d'échéance : 25/12/2026",
        "TVA 5,5 % sur 102,00\u00a0€",
        "indemnité forfaitaire pour frais de recouvrement de 40 €",
        "art. 261-4-4° a du CGI",
    ):
        assert expected in text


def test_totals_round_vat_half_up_per_rate() -> None:
    data = replace(
        example_invoice(),
        lines=(
            SampleLine("A", Decimal("1"), 1005, Decimal("5.5")),
            SampleLine("B", Decimal("3"), 1005, Decimal("5.5")),  # 5,5 % of 40,20 = 2,211 → 2,21
            SampleLine("C", Decimal("0.5"), 1001, Decimal("20")),  # 5,005 → 5,01; 20 % = 1,002
        ),
    )
    assert [(t.rate, t.base_cents, t.vat_cents) for t in data.vat_totals()] == [
        (Decimal("20"), 501, 100),
        (Decimal("5.5"), 4020, 221),
    ]
    assert data.total_ttc_cents == 501 + 100 + 4020 + 221
    assert data.exemption_mention is None


def test_an_exempt_line_gets_the_default_mention_when_none_is_given() -> None:
    data = replace(example_invoice(), vat_exemption_reason=None)
    assert data.exemption_mention == DEFAULT_EXEMPTION
    assert DEFAULT_EXEMPTION in page_text(invoice_pdf_bytes(data))


def test_a_credit_note_names_the_invoice_it_cancels() -> None:
    data = replace(
        example_invoice("AV0007-24"), invoice_type="AVOIR", original_invoice_number="FC0142-24"
    )
    text = page_text(invoice_pdf_bytes(data))
    assert "Avoir n° AV0007-24" in text
    assert "Avoir en annulation de la facture n° FC0142-24" in text


def test_the_scan_has_an_image_and_no_text(tmp_path: Path) -> None:
    write_scanned_pdf(tmp_path / "scan.pdf", example_invoice())
    reader = PdfReader(tmp_path / "scan.pdf")
    assert reader.pages[0].extract_text().strip() == ""
    assert len(reader.pages[0].images) == 1
    assert (tmp_path / "scan.pdf").stat().st_size < 64 * 1024


def test_the_encrypted_and_truncated_variants(tmp_path: Path) -> None:
    write_encrypted_pdf(tmp_path / "enc.pdf", example_invoice(), user_password="secret")
    assert PdfReader(tmp_path / "enc.pdf").is_encrypted
    write_truncated_pdf(tmp_path / "cut.pdf", example_invoice(), keep_fraction=0.3)
    full = invoice_pdf_bytes(example_invoice())
    assert (tmp_path / "cut.pdf").read_bytes() == full[: int(len(full) * 0.3)]


def test_attachments_by_extension(tmp_path: Path) -> None:
    data = example_invoice()
    write_attachment(tmp_path / "PV.pdf", data)
    write_attachment(tmp_path / "detail.csv", data)
    write_attachment(tmp_path / "note.txt", data)
    assert "Procès-verbal de réception" in page_text((tmp_path / "PV.pdf").read_bytes())
    csv_lines = (tmp_path / "detail.csv").read_text(encoding="utf-8").splitlines()
    assert csv_lines[0] == "designation;quantite;prix_unitaire_ht;taux_tva;montant_ht"
    assert csv_lines[2] == "Livrets pédagogiques;12;8,50;5,5;102,00"
    assert "SIRET client : 21670447800017" in (tmp_path / "note.txt").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="docx"):
        write_attachment(tmp_path / "x.docx", data)
