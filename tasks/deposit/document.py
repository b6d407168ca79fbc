"""The Factur-X a deposit sends: built from the warehouse rows at the moment of sending.

Nothing is stored: the same rows and PDF give the same document, so a resend after a lost answer
sends what the first try sent. Anything that keeps the invoice from becoming a Factur-X (no seller
identity configured, a rule the XML breaks, a PDF that cannot become PDF/A-3) is a refusal with
its reason, before Chorus Pro is called.
"""

from __future__ import annotations

from chorus_etl.settings import Settings
from tasks.deposit.flux import FacturxBuilder, FacturxRefusal
from tasks.deposit.store import LoadedInvoice
from tasks.facturx import (
    FacturxPdfError,
    build_cii,
    check_facturx_xml,
    embed_facturx,
    facturx_invoice,
    seller_profile,
)


def facturx_builder(settings: Settings) -> FacturxBuilder:
    def build(loaded: LoadedInvoice) -> bytes:
        invoice = loaded.invoice
        profile = seller_profile(invoice.supplier_siret, settings)
        if profile is None:
            raise FacturxRefusal(
                "facturx.seller_unknown",
                f"aucune identité de vendeur configurée pour {invoice.supplier_siret} "
                "(CHORUS_ETL_SUPPLIER_IDENTITIES)",
            )
        document = facturx_invoice(
            invoice, loaded.vat_lines, profile, buyer_kinds=settings.buyer_kinds
        )
        xml = build_cii(document)
        reasons = check_facturx_xml(xml, document)
        if reasons:
            raise FacturxRefusal(reasons[0].rule, "; ".join(r.message_fr for r in reasons))
        try:
            pdf = (loaded.folder / (invoice.pdf_path or "")).read_bytes()
        except OSError as exc:
            raise FacturxRefusal("facturx.pdf_missing", f"PDF illisible : {exc}") from exc
        try:
            return embed_facturx(pdf, xml)
        except FacturxPdfError as exc:
            raise FacturxRefusal(exc.reason.rule, exc.reason.message_fr) from exc

    return build
