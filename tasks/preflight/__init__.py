"""Preflight: check each invoice's PDF and attachments the way the cooperative's guide asks, in
worker processes; it imports no Prefect so that those workers start in a fraction of a second."""

from tasks.preflight.pdfs import (
    PdfExpectations,
    check_attachments,
    check_invoice_pdfs,
    sha256_of_file,
)
from tasks.preflight.reasons import OCR_RULES

__all__ = [
    "OCR_RULES",
    "PdfExpectations",
    "check_attachments",
    "check_invoice_pdfs",
    "sha256_of_file",
]
