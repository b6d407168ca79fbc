"""Factur-X: build the EN 16931 CII XML of one warehouse invoice, check it against the XSD, the
business rules Chorus Pro refuses on and France's 2026 rules, make the invoice PDF a PDF/A-3
(Ghostscript, when it is not one) and embed the XML into it (no Prefect; no I/O but Ghostscript's
temporary files)."""

from tasks.facturx.checks import check_facturx_invoice, check_facturx_xml
from tasks.facturx.cii import build_cii
from tasks.facturx.conversion import Ghostscript, GhostscriptMissing
from tasks.facturx.model import (
    FacturxInvoice,
    FacturxLine,
    SupplierProfile,
    VatBreakdown,
    facturx_invoice,
)
from tasks.facturx.pdfa import FacturxPdfError, embed_facturx, read_back
from tasks.facturx.seller import facturx_document, seller_profile

__all__ = [
    "FacturxInvoice",
    "FacturxLine",
    "FacturxPdfError",
    "Ghostscript",
    "GhostscriptMissing",
    "SupplierProfile",
    "VatBreakdown",
    "build_cii",
    "check_facturx_invoice",
    "check_facturx_xml",
    "embed_facturx",
    "facturx_document",
    "facturx_invoice",
    "read_back",
    "seller_profile",
]
