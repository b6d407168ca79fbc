"""True PDF/A-3: the Factur-X of a PDF/A input keeps it as it is; the Factur-X of a PDF made outside
the sample generator, with fonts it does not embed (and JavaScript), is converted by Ghostscript;
the requirements pikepdf can see hold on both; a PDF that cannot be converted is refused with a
reason; a missing Ghostscript is an installation problem, not the invoice's."""

from __future__ import annotations

import io
from pathlib import Path

import facturx
import pikepdf
import pytest
from pypdf import PdfReader

from tasks.facturx import FacturxPdfError, build_cii, embed_facturx, read_back
from tasks.facturx.conversion import Ghostscript, GhostscriptMissing, pdfa_gaps
from tasks.sample.pdfs import example_invoice, invoice_as_text_lines, invoice_pdf_bytes
from tests.facturx.helpers import example_preflight_reasons, invoice_of, vat_line
from tests.facturx.pdfa3 import pdfa3_problems, plain_pdf


@pytest.fixture(scope="module")
def xml() -> bytes:
    return build_cii(invoice_of([vat_line(2000, 135000), vat_line(550, 10200)]))


@pytest.fixture(scope="module")
def outside() -> bytes:
    return plain_pdf(invoice_as_text_lines(example_invoice()))


def test_the_generator_makes_pdfa3_files_that_are_kept_as_they_are(xml: bytes) -> None:
    pdf = invoice_pdf_bytes(example_invoice())
    assert pdfa3_problems(pdf, facturx=False) == []
    assert pdfa_gaps(PdfReader(io.BytesIO(pdf))) == []
    facturx_pdf = embed_facturx(pdf, xml, author="ANTIGONE")
    assert pdfa3_problems(facturx_pdf) == []
    assert read_back(facturx_pdf) == (xml, "en16931")
    # Not converted: the generator's own embedded font is still the one used.
    with pikepdf.open(io.BytesIO(facturx_pdf)) as opened:
        fonts = opened.pages[0].Resources.Font.values()
        names = {str(font.BaseFont).split("+")[-1] for font in fonts}
    assert names == {
        "DejaVuSansBook",
        "DejaVuSansBold",
    }


def test_a_pdf_with_fonts_it_does_not_embed_fails_the_check(outside: bytes, xml: bytes) -> None:
    """The check can fail: on the input, and on what the factur-x library alone makes of it
    (which declares PDF/A-3 in its XMP all the same)."""
    found = pdfa3_problems(outside, facturx=False)
    assert "no PDF/A OutputIntent with an ICC profile" in found
    assert "font /Helvetica not embedded" in found
    assert "font /Helvetica-Bold not embedded" in found
    library_only = facturx.generate_from_binary(
        outside, xml, flavor="factur-x", level="en16931", check_xsd=False
    )
    assert {"no PDF/A OutputIntent with an ICC profile", "font /Helvetica not embedded"} <= set(
        pdfa3_problems(library_only)
    )


def test_a_pdf_from_outside_the_generator_becomes_a_true_pdfa3(
    tmp_path: Path, outside: bytes, xml: bytes
) -> None:
    facturx_pdf = embed_facturx(outside, xml, author="ANTIGONE")
    assert pdfa3_problems(facturx_pdf) == []
    assert read_back(facturx_pdf) == (xml, "en16931")
    # The converted PDF still reads as the invoice: what the preflight looks for is all there.
    assert example_preflight_reasons(tmp_path, facturx_pdf) == []


def test_javascript_is_dropped_by_the_conversion(xml: bytes) -> None:
    scripted = plain_pdf(["Facture FC0142-24", "Total TTC : 1 851,06 €"], javascript=True)
    assert "JavaScript" in pdfa3_problems(scripted, facturx=False)
    assert "JavaScript" in pdfa_gaps(PdfReader(io.BytesIO(scripted)))
    assert pdfa3_problems(embed_facturx(scripted, xml)) == []


def test_a_pdf_ghostscript_cannot_convert_in_time_is_refused_with_a_reason(
    outside: bytes, xml: bytes
) -> None:
    with pytest.raises(FacturxPdfError) as caught:
        embed_facturx(outside, xml, ghostscript=Ghostscript(timeout_seconds=0.001))
    reason = caught.value.reason
    assert reason.rule == "facturx.pdf_not_pdfa"
    assert reason.column == "pdf_file"
    assert "PDF/A-3" in reason.message_fr and "PDF/A-3" in reason.message_en


def test_a_pdf_ghostscript_fails_on_is_refused_with_its_error(outside: bytes, xml: bytes) -> None:
    # Ghostscript itself on a file it cannot read (it says so, and exits with 0).
    class Failing(Ghostscript):
        def to_pdfa3(self, pdf: bytes, *, scratch: str | None = None) -> bytes:
            return super().to_pdfa3(b"%PDF-1.4\n" + b"garbage " * 40, scratch=scratch)

    with pytest.raises(FacturxPdfError) as caught:
        embed_facturx(outside, xml, ghostscript=Failing())
    assert caught.value.reason.rule == "facturx.pdf_not_pdfa"


def test_missing_ghostscript_is_an_installation_problem_not_a_refusal(
    outside: bytes, xml: bytes
) -> None:
    missing = Ghostscript(command="/nonexistent/gs")
    with pytest.raises(GhostscriptMissing, match="/nonexistent/gs"):
        embed_facturx(outside, xml, ghostscript=missing)
    with pytest.raises(GhostscriptMissing):
        missing.version()
    # A PDF/A input needs no Ghostscript at all.
    assert (
        pdfa3_problems(
            embed_facturx(invoice_pdf_bytes(example_invoice()), xml, ghostscript=missing)
        )
        == []
    )


def test_the_installed_ghostscript_answers_its_version() -> None:
    assert Ghostscript().version()[:1].isdigit()
