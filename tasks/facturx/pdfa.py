"""The invoice PDF with its CII XML embedded (Factur-X), and the XML read back as factur-x reads it.

The PDF is first made a true PDF/A-3 if it is not one (`conversion`: fonts embedded, an sRGB
OutputIntent, by Ghostscript). The factur-x library then does the Factur-X part: the
`factur-x.xml` attachment with /AFRelationship /Data, the XMP metadata (pdfaid 3/B, the fx:
extension schema at level EN 16931), /Lang; the OutputIntent and the embedded fonts of the PDF it
clones stay. Two of its behaviours are handled here. `generate_from_binary`, and `generate_from_file` writing back into the
file object it read, leave a leftover chunk of the input PDF ahead of the new one (akretion/
factur-x#24, measured with pypdf 7.1.1): the output goes to a fresh file instead. And a PDF that
cannot be turned into a PDF/A-3 (encrypted, truncated, garbage, empty) surfaces as whatever pypdf
raises: it becomes a `FacturxPdfError` carrying a `Reason`, as every other refusal in the pipeline;
so does a PDF Ghostscript cannot convert.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import facturx
from lxml import etree
from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError

from chorus_etl.errors import NeedsAction
from schemas.issues import Reason
from tasks.facturx import reasons
from tasks.facturx.conversion import Ghostscript, PdfaConversionError, pdfa_gaps, scratch_dir
from tasks.facturx.xsd import LEVEL

__all__ = [
    "FACTURX_FILENAME",
    "FacturxPdfError",
    "Pdfa3",
    "as_pdfa3",
    "attach_facturx",
    "embed_facturx",
    "open_pdf",
    "read_back",
]

FACTURX_FILENAME = "factur-x.xml"
_FLAVOR = "factur-x"
_KEYWORDS = "Factur-X, Facture, EN 16931"

# The library logs every generation and every read at INFO: one line per invoice that says nothing
# the pipeline's own events do not. Its warnings and errors still show.
logging.getLogger("factur-x").setLevel(logging.WARNING)


_SCRATCH = scratch_dir()
#: Conversions with the default command, for callers without settings (tests, one-off scripts).
DEFAULT_GHOSTSCRIPT = Ghostscript()


class FacturxPdfError(NeedsAction):
    """The PDF cannot carry a Factur-X; `reason` says why, in the pipeline's words."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.message_en)
        self.reason = reason


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def open_pdf(pdf: bytes) -> PdfReader:
    """The input PDF, refused the way the preflight refuses it: empty, unreadable, encrypted."""
    if not pdf:
        raise FacturxPdfError(reasons.pdf_unreadable("empty file"))
    try:
        reader = PdfReader(BytesIO(pdf))
        if reader.is_encrypted:
            # PDF/A forbids encryption, and removing an owner's protection is not ours to do.
            raise FacturxPdfError(reasons.pdf_encrypted("the PDF is encrypted"))
        if len(reader.pages) == 0:
            raise FacturxPdfError(reasons.pdf_unreadable("no pages"))
    except FileNotDecryptedError as exc:
        raise FacturxPdfError(reasons.pdf_encrypted(_describe(exc))) from exc
    except FacturxPdfError:
        raise
    except Exception as exc:
        # Broken files raise far more than pypdf's own errors (KeyError, ValueError, ...).
        raise FacturxPdfError(reasons.pdf_unreadable(_describe(exc))) from exc
    return reader


@dataclass(frozen=True)
class Pdfa3:
    """A PDF/A-3 ready to carry the XML: its reader, the title of the PDF it was made from (a
    conversion drops it), and whether Ghostscript made it."""

    reader: PdfReader
    title: str | None
    converted: bool


def as_pdfa3(pdf: bytes, ghostscript: Ghostscript = DEFAULT_GHOSTSCRIPT) -> Pdfa3:
    """`pdf` itself if it is already PDF/A-3 as far as can be seen, else Ghostscript's PDF/A-3 of
    it, checked again. Raises `FacturxPdfError` when it cannot be made one (or read at all),
    `GhostscriptMissing` when a conversion is needed and Ghostscript is not installed."""
    original = open_pdf(pdf)
    title = _title_of(original)
    if not pdfa_gaps(original):
        return Pdfa3(original, title, converted=False)
    try:
        converted = ghostscript.to_pdfa3(pdf, scratch=_SCRATCH)
        result = open_pdf(converted)
    except (PdfaConversionError, FacturxPdfError) as exc:
        detail = exc.reason.message_en if isinstance(exc, FacturxPdfError) else str(exc)
        raise FacturxPdfError(reasons.pdf_not_pdfa(detail)) from exc
    remaining = pdfa_gaps(result)
    if len(result.pages) != len(original.pages):
        remaining.append(f"{len(result.pages)} pages instead of {len(original.pages)}")
    if remaining:
        raise FacturxPdfError(reasons.pdf_not_pdfa("after Ghostscript: " + "; ".join(remaining)))
    return Pdfa3(result, title, converted=True)


def _title_of(reader: PdfReader) -> str | None:
    """The PDF's title: its Info dictionary's, else its XMP dc:title (PDF/A writers may write
    only XMP)."""
    try:
        metadata = reader.metadata
        title = metadata.title if metadata is not None else None
        if not title:
            xmp = reader.xmp_metadata
            titles = xmp.dc_title if xmp is not None else None
            title = titles.get("x-default") or next(iter(titles.values()), None) if titles else None
    except Exception:
        return None
    return str(title) if title else None


def embed_facturx(
    pdf: bytes,
    xml: bytes,
    *,
    lang: str = "fr-FR",
    title: str | None = None,
    author: str | None = None,
    subject: str | None = None,
    ghostscript: Ghostscript = DEFAULT_GHOSTSCRIPT,
) -> bytes:
    """`pdf`, made PDF/A-3 if it is not, with `xml` embedded as `factur-x.xml` at level EN 16931.

    The XML is not checked again (give what `check_facturx_xml` passed). `title` defaults to the
    PDF's own title, `subject` to "Factur-X EN 16931". Raises `FacturxPdfError` (reason
    `facturx.pdf_encrypted`, `facturx.pdf_unreadable` or `facturx.pdf_not_pdfa`) for a PDF that
    cannot carry it, `GhostscriptMissing` when a conversion is needed and Ghostscript is not
    installed.
    """
    return attach_facturx(
        as_pdfa3(pdf, ghostscript), xml, lang=lang, title=title, author=author, subject=subject
    )


def attach_facturx(
    pdfa: Pdfa3,
    xml: bytes,
    *,
    lang: str = "fr-FR",
    title: str | None = None,
    author: str | None = None,
    subject: str | None = None,
) -> bytes:
    """The PDF/A-3 `pdfa` with `xml` embedded as `factur-x.xml` (see `embed_facturx`)."""
    metadata = {
        "author": author or "",
        "keywords": _KEYWORDS,
        "title": title or pdfa.title or "Facture",
        "subject": subject or "Factur-X EN 16931",
    }
    reader = pdfa.reader
    with tempfile.NamedTemporaryFile(prefix="facturx-", suffix=".pdf", dir=_SCRATCH) as output:
        try:
            facturx.generate_from_file(
                # The reader already opened, not the bytes again: the library hands its first
                # argument to `PdfWriter(clone_from=...)`, which takes a reader, and parsing the
                # PDF once instead of twice is a tenth of the embedding's cost.
                reader,
                xml,
                flavor=_FLAVOR,
                level=LEVEL,
                check_xsd=False,
                pdf_metadata=metadata,
                lang=lang,
                output_pdf_file=output.name,
            )
        except Exception as exc:
            # The XML is given as bytes with flavor and level: what fails here is the PDF.
            raise FacturxPdfError(reasons.pdf_unreadable(_describe(exc))) from exc
        return Path(output.name).read_bytes()


def read_back(pdf: bytes) -> tuple[bytes, str]:
    """The embedded `factur-x.xml` and its level ("en16931"), as the factur-x library reads them.

    The XSD is not checked here (`check_facturx_xml` does it, once). Raises `FacturxPdfError`
    when the PDF cannot be read or carries no Factur-X XML.
    """
    try:
        name, xml = facturx.get_facturx_xml_from_pdf(BytesIO(pdf), check_xsd=False)
    except FileNotDecryptedError as exc:
        raise FacturxPdfError(reasons.pdf_encrypted(_describe(exc))) from exc
    except Exception as exc:
        raise FacturxPdfError(reasons.pdf_unreadable(_describe(exc))) from exc
    if not name or not isinstance(xml, bytes):
        raise FacturxPdfError(reasons.pdf_unreadable(f"no {FACTURX_FILENAME} embedded"))
    level: str = facturx.get_level(etree.fromstring(xml))
    return xml, level
