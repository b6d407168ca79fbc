"""The seller of a structure's Factur-X, from the settings: the cooperative's legal identity, and
the structure's and cooperative's choices the French rules leave open.

Chorus Pro's API gives a structure's name but no IBAN, and the XML must say where buyers pay
(BT-84), so the identity is configuration (`CHORUS_ETL_SUPPLIER_IDENTITIES`; the simulator's
seeded structures by default). The VAT number follows from the SIREN when it is not given; the
SIREN is the SIRET's first nine digits (`checks` verifies both). The billing frame, routing-code
scheme and VAT due-date code are the structure's (`CHORUS_ETL_FACTURX_STRUCTURES`), the payment
terms its cooperative's (`CHORUS_ETL_COOPERATIVE_TERMS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from stdnum.fr import siren

from chorus_etl.accounts import load_accounts
from chorus_etl.settings import Settings
from schemas.warehouse import Invoice, InvoiceVatLine
from tasks.facturx.model import FacturxInvoice, SupplierProfile, facturx_invoice

__all__ = ["facturx_document", "seller_profile"]


def seller_profile(supplier_siret: str, settings: Settings) -> SupplierProfile | None:
    identity = load_accounts(settings).identity(supplier_siret)
    if identity is None:
        return None
    return SupplierProfile(
        siret=supplier_siret,
        name=identity.name,
        vat_id=identity.vat_id or f"FR{siren.to_tva(supplier_siret[:9])}",
        address_line=identity.address_line,
        postcode=identity.postcode,
        city=identity.city,
        country_code=identity.country_code,
        iban=identity.iban,
    )


def facturx_document(
    invoice: Invoice,
    vat_lines: Sequence[InvoiceVatLine],
    settings: Settings,
    *,
    original_invoice_date: date | None = None,
) -> FacturxInvoice | None:
    """The Factur-X of a warehouse invoice as its structure and cooperative write it (seller
    identity, BT-23, routing scheme, BT-8, payment terms); None when the structure has no seller
    identity."""
    profile = seller_profile(invoice.supplier_siret, settings)
    if profile is None:
        return None
    return facturx_invoice(
        invoice,
        vat_lines,
        profile,
        structure=settings.facturx_structure(invoice.supplier_siret),
        terms=settings.terms_of(invoice.cooperative),
        original_invoice_date=original_invoice_date,
        buyer_kinds=settings.buyer_kinds,
    )
