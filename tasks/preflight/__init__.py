"""Preflight: check each invoice's PDF and attachments the way the cooperative's guide asks, in
worker processes; it imports no Prefect so that those workers start in a fraction of a second."""

from tasks.preflight.embedded import strip_embedded_xml
from tasks.preflight.pdfs import (
    PdfCheck,
    PdfExpectations,
    check_attachments,
    check_invoice_pdfs,
    check_read_text,
    sha256_of_file,
)
from tasks.preflight.reasons import OCR_RULES, embedded_xml_kept

__all__ = [
    "OCR_RULES",
    "PdfCheck",
    "PdfExpectations",
    "check_attachments",
    "check_invoice_pdfs",
    "check_read_text",
    "embedded_xml_kept",
    "sha256_of_file",
    "strip_embedded_xml",
]
