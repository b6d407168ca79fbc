"""A merged PDF of invoices (CAERP's "Export massif") split into one PDF per invoice by the
invoices' headings and footers; a credit note finds its original."""

from __future__ import annotations

import io
import random
from datetime import date
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from tasks.preflight.fields import NUMBER, ORIGINAL, find_fields
from tasks.preflight.split import find_parts, split_dir_of, split_merged_pdf
from tasks.sample.caerp import caerp_pdf_bytes
from tasks.sample.export import build_invoices


def test_pages_are_grouped_by_footer_then_heading() -> None:
    pages = [
        "Facture N° A1\nObjet : x\nFacture A1",
        "suite\nFacture A1",
        "Avoir N° B2\nRéférence : Facture N° A1\nFacture B2",
        "page without a footer",
        "Facture N° C3\nFacture C3",
        "Facture N° A1\nFacture A1",  # A1 again, apart from its first run: ambiguous
    ]
    split = find_parts(pages)
    assert sorted(split.parts) == ["B2", "C3"]
    assert split.parts["B2"].pages == [2, 3]
    assert split.parts["B2"].credit_note
    assert not split.parts["C3"].credit_note
    assert split.ambiguous == ["A1"]


def test_a_merged_pdf_of_200_invoices_splits_into_200(tmp_path: Path) -> None:
    invoices = build_invoices(200, random.Random(11), date(2026, 11, 27), False)
    merged = PdfWriter()
    pages: dict[str, int] = {}
    for invoice in invoices:
        content = caerp_pdf_bytes(invoice.pdf, label=invoice.pdf.buyer_name, printed_siret=None)
        reader = PdfReader(io.BytesIO(content))
        pages[invoice.pdf.invoice_number] = len(reader.pages)
        merged.append(reader)
    path = tmp_path / "factures_ventes.pdf"
    with path.open("wb") as handle:
        merged.write(handle)
    target = split_dir_of(path, tmp_path / "split")
    split = split_merged_pdf(path, target, workers=2)
    assert split.ambiguous == [] and split.unreadable is None
    assert sorted(split.parts) == sorted(pages)
    assert any(count > 1 for count in pages.values())
    credit_notes = [i.pdf for i in invoices if i.pdf.invoice_type == "AVOIR"]
    assert credit_notes
    for invoice in invoices:
        data = invoice.pdf
        part = split.parts[data.invoice_number]
        assert part.credit_note == (data.invoice_type == "AVOIR")
        written = PdfReader(target / part.file_name)
        assert len(written.pages) == pages[data.invoice_number]
        text = "\n".join(page.extract_text() for page in written.pages)
        found = find_fields(text)
        assert found.one(NUMBER) == data.invoice_number
        if data.invoice_type == "AVOIR":
            assert found.one(ORIGINAL) == data.original_invoice_number
        assert data.invoice_number in part.texts[0]

    # Split once: the parts are read back from the target folder, the merged file is not read
    # again (broken now, it would split into nothing).
    path.write_bytes(b"%PDF-1.4 broken")
    again = split_merged_pdf(path, target, workers=2)
    assert again.unreadable is None
    assert sorted(again.parts) == sorted(split.parts)
    assert (
        again.parts[credit_notes[0].invoice_number].texts
        == split.parts[credit_notes[0].invoice_number].texts
    )


def test_a_broken_merged_file_splits_into_nothing_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "factures_ventes.pdf"
    path.write_bytes(b"%PDF-1.4 broken")
    split = split_merged_pdf(path, split_dir_of(path, tmp_path / "split"))
    assert split.parts == {} and split.unreadable
