"""The invoice PDF with its CII XML embedded (Factur-X), and the XML read back as factur-x reads it.

The factur-x library does the PDF/A-3 part: the `factur-x.xml` attachment with /AFRelationship
/Data, the XMP metadata (pdfaid 3/B, the fx: extension schema at level EN 16931), /Lang. Two of its
behaviours are handled here. `generate_from_binary`, and `generate_from_file` writing back into the
file object it read, leave a leftover chunk of the input PDF ahead of the new one (akretion/
factur-x#24, measured with pypdf 7.1.1): the output goes to a fresh file instead. And a PDF that
cannot be turned into a PDF/A-3 (encrypted, truncated, garbage, empty) surfaces as whatever pypdf
raises: it becomes a `FacturxPdfError` carrying a `Reason`, as every other refusal in the pipeline.

What the library does not do: convert the PDF itself to PDF/A (it adds no OutputIntent, embeds no
font). The result is a Factur-X whose PDF part is PDF/A-3 only if the input PDF already was.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from io import BytesIO
from pathlib import Path

import facturx
from lxml import etree
from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError

from schemas.issues import Reason
from tasks.facturx import reasons
from tasks.facturx.xsd import LEVEL

__all__ = ["FACTURX_FILENAME", "FacturxPdfError", "embed_facturx", "read_back"]

FACTURX_FILENAME = "factur-x.xml"
_FLAVOR = "factur-x"
_KEYWORDS = "Factur-X, Facture, EN 16931"

# The library logs every generation and every read at INFO: one line per invoice that says nothing
# the pipeline's own events do not. Its warnings and errors still show.
logging.getLogger("factur-x").setLevel(logging.WARNING)


@functools.cache
def _scratch_dir() -> str | None:
    """Where the library writes its output: memory (/dev/shm) where there is one, else the
    default temporary folder. The file lives a few milliseconds; on disk its creation and
    write-back cost as much wall time as the rules and the XSD together."""
    shm = "/dev/shm"  # noqa: S108 - a private NamedTemporaryFile, not a fixed path
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


class FacturxPdfError(Exception):
    """The PDF cannot carry a Factur-X; `reason` says why, in the pipeline's words."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.message_en)
        self.reason = reason


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _open(pdf: bytes) -> PdfReader:
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


def _title_of(reader: PdfReader) -> str | None:
    try:
        metadata = reader.metadata
        title = metadata.title if metadata is not None else None
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
) -> bytes:
    """`pdf` with `xml` embedded as `factur-x.xml` at level EN 16931, as bytes.

    The XML is not checked again (give what `check_facturx_xml` passed). `title` defaults to the
    PDF's own title, `subject` to "Factur-X EN 16931". Raises `FacturxPdfError` (reason
    `facturx.pdf_encrypted` or `facturx.pdf_unreadable`) for a PDF that cannot carry it.
    """
    reader = _open(pdf)
    metadata = {
        "author": author or "",
        "keywords": _KEYWORDS,
        "title": title or _title_of(reader) or "Facture",
        "subject": subject or "Factur-X EN 16931",
    }
    with tempfile.NamedTemporaryFile(
        prefix="facturx-", suffix=".pdf", dir=_scratch_dir()
    ) as output:
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
