"""Embedding: a clean Factur-X PDF whose XML reads back identical at level en16931, and a PDF that
cannot carry one refused with a reason, never a pypdf exception."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

from tasks.facturx import FacturxPdfError, build_cii, embed_facturx, read_back
from tasks.sample.pdfs import example_invoice, invoice_pdf_bytes, write_encrypted_pdf
from tests.facturx.helpers import example_preflight_reasons, invoice_of, vat_line


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return invoice_pdf_bytes(example_invoice())


@pytest.fixture(scope="module")
def xml() -> bytes:
    return build_cii(invoice_of([vat_line(2000, 135000), vat_line(550, 10200)]))


def test_embedded_xml_reads_back_identical_at_level_en16931(pdf: bytes, xml: bytes) -> None:
    facturx_pdf = embed_facturx(pdf, xml, title="ANTIGONE : Facture FC0142-24", author="ANTIGONE")
    back, level = read_back(facturx_pdf)
    assert back == xml
    assert level == "en16931"


def test_output_is_one_clean_pdf_without_leftovers_of_the_input(pdf: bytes, xml: bytes) -> None:
    facturx_pdf = embed_facturx(pdf, xml)
    assert facturx_pdf.startswith(b"%PDF-1.6")
    assert facturx_pdf.count(b"%PDF-") == 1
    assert pdf[:200] not in facturx_pdf


def test_output_declares_pdfa3_and_factur_x_and_keeps_the_pages(pdf: bytes, xml: bytes) -> None:
    facturx_pdf = embed_facturx(pdf, xml, author="ANTIGONE")
    reader = PdfReader(io.BytesIO(facturx_pdf))
    assert len(reader.pages) == len(PdfReader(io.BytesIO(pdf)).pages)
    assert "FC0142-24" in reader.pages[0].extract_text()
    catalog = reader.root_object
    assert str(catalog["/Lang"]) == "fr-FR"
    associated = catalog["/AF"].get_object()
    assert isinstance(associated, ArrayObject) and len(associated) == 1
    filespec = associated[0].get_object()
    assert isinstance(filespec, DictionaryObject)
    assert str(filespec["/AFRelationship"]) == "/Data"
    metadata_stream = catalog["/Metadata"].get_object()
    assert isinstance(metadata_stream, StreamObject)
    xmp = metadata_stream.get_data()
    assert b"<pdfaid:part>3</pdfaid:part>" in xmp
    assert b"EN 16931" in xmp
    assert reader.metadata is not None
    assert reader.metadata.author == "ANTIGONE"
    # Without a title given, the PDF keeps its own (a PDF/A writer may put it in XMP only).
    original = PdfReader(io.BytesIO(pdf)).xmp_metadata
    assert original is not None
    assert original.dc_title == {"x-default": "Facture FC0142-24"}
    assert reader.metadata.title == "Facture FC0142-24"


@pytest.mark.parametrize("user_password", ["", "secret"])
def test_encrypted_pdf_is_refused_with_a_reason(
    tmp_path: Path, xml: bytes, user_password: str
) -> None:
    path = tmp_path / "encrypted.pdf"
    write_encrypted_pdf(path, example_invoice(), user_password=user_password)
    with pytest.raises(FacturxPdfError) as caught:
        embed_facturx(path.read_bytes(), xml)
    assert caught.value.reason.rule == "facturx.pdf_encrypted"
    assert "mot de passe" in caught.value.reason.message_fr


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"this is not a PDF at all\n" * 40, id="garbage"),
        pytest.param(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<", id="header-only"),
        pytest.param(None, id="truncated"),
    ],
)
def test_unreadable_pdf_is_refused_with_a_reason(
    pdf: bytes, xml: bytes, broken: bytes | None
) -> None:
    data = pdf[: len(pdf) // 3] if broken is None else broken
    with pytest.raises(FacturxPdfError) as caught:
        embed_facturx(data, xml)
    assert caught.value.reason.rule == "facturx.pdf_unreadable"
    assert caught.value.reason.column == "pdf_file"
    assert str(caught.value) == caught.value.reason.message_en


def test_reading_back_a_plain_pdf_says_it_has_no_factur_x(pdf: bytes) -> None:
    with pytest.raises(FacturxPdfError, match=r"no factur-x\.xml embedded"):
        read_back(pdf)


def test_embedding_again_replaces_the_xml(pdf: bytes, xml: bytes) -> None:
    other = build_cii(invoice_of([vat_line(2000, 100)], invoice_number="FC0143-24"))
    twice = embed_facturx(embed_facturx(pdf, xml), other)
    assert read_back(twice)[0] == other
    assert len(list(PdfReader(io.BytesIO(twice)).attachment_list)) == 1


def test_the_factur_x_pdf_still_passes_the_pdf_preflight(
    tmp_path: Path, pdf: bytes, xml: bytes
) -> None:
    assert example_preflight_reasons(tmp_path, embed_facturx(pdf, xml)) == []
