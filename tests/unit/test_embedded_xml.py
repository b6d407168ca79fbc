"""An XML embedded in an invoice PDF (CAERP's Factur-X): found and read by the preflight, and taken
out of the copy a PDF deposit sends, pages and text kept."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from pathlib import Path

import facturx
import pytest
from pypdf import PdfReader, PdfWriter

from tasks.facturx.pdfa import embed_facturx
from tasks.preflight.embedded import embedded_xml_names, read_embedded_xml, strip_embedded_xml
from tasks.preflight.pdfs import PdfExpectations, check_invoice_pdf
from tasks.sample.caerp_xml import caerp_facturx_xml
from tasks.sample.pdfs import example_invoice, invoice_pdf_bytes

INVOICE = example_invoice()
XML = caerp_facturx_xml(
    number=INVOICE.invoice_number,
    day=date(2026, 11, 25),
    seller=INVOICE.supplier_name,
    buyer=INVOICE.buyer_name,
    buyer_id=INVOICE.buyer_siret,
    ht_cents=INVOICE.total_ht_cents,
    ttc_cents=INVOICE.total_ttc_cents,
)


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


def _with_attachments(pdf: bytes, *files: tuple[str, bytes]) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(BytesIO(pdf)))
    for name, data in files:
        writer.add_attachment(name, data)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def plain() -> bytes:
    return invoice_pdf_bytes(INVOICE)


@pytest.fixture(scope="module")
def facturx_pdf(plain: bytes) -> bytes:
    return embed_facturx(plain, XML)


def test_a_factur_x_is_found_and_read(facturx_pdf: bytes) -> None:
    reader = PdfReader(BytesIO(facturx_pdf))
    assert embedded_xml_names(reader) == ["factur-x.xml"]
    found = read_embedded_xml(reader)
    assert found is not None
    assert (found.buyer_id, found.invoice_number, found.type_code) == (
        INVOICE.buyer_siret,
        INVOICE.invoice_number,
        "380",
    )


def test_a_plain_pdf_embeds_nothing_and_is_sent_as_it_is(plain: bytes) -> None:
    assert read_embedded_xml(PdfReader(BytesIO(plain))) is None
    assert strip_embedded_xml(plain) == plain


def test_the_copy_has_no_factur_x_and_the_same_pages(facturx_pdf: bytes) -> None:
    stripped = strip_embedded_xml(facturx_pdf)
    _name, xml = facturx.get_xml_from_pdf(stripped, check_xsd=False)
    assert not xml
    reader = PdfReader(BytesIO(stripped))
    assert embedded_xml_names(reader) == []
    assert "/AF" not in reader.root_object
    assert len(reader.pages) == len(PdfReader(BytesIO(facturx_pdf)).pages)
    assert _text(stripped) == _text(facturx_pdf)
    # the original bytes are untouched: a copy is returned
    assert facturx.get_xml_from_pdf(facturx_pdf, check_xsd=False)[1]


def test_other_attachments_stay(plain: bytes) -> None:
    both = _with_attachments(plain, ("zugferd-invoice.xml", XML), ("annexe.txt", b"PV"))
    stripped = strip_embedded_xml(both)
    assert set(PdfReader(BytesIO(stripped)).attachments) == {"annexe.txt"}


def test_the_preflight_notes_the_embedded_xml_and_its_buyer(
    tmp_path: Path, facturx_pdf: bytes
) -> None:
    (tmp_path / "f.pdf").write_bytes(facturx_pdf)
    expected = PdfExpectations(
        INVOICE.invoice_number, INVOICE.buyer_siret, "1300012345", "28E", INVOICE.total_ttc_cents
    )
    check = check_invoice_pdf(tmp_path, "f.pdf", expected)
    assert check.ok, check.reasons
    assert check.embedded_xml is not None
    assert check.embedded_xml.buyer_id == INVOICE.buyer_siret
    assert check.found["buyer_siret"] == (INVOICE.buyer_siret,)
    assert check.found["engagement_number"] == ("1300012345",)
    assert check.found["buyer_service_code"] == ("28E",)
    (tmp_path / "plain.pdf").write_bytes(invoice_pdf_bytes(INVOICE))
    assert check_invoice_pdf(tmp_path, "plain.pdf", expected).embedded_xml is None
