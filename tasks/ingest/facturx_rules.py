"""The Factur-X rules at ingest: an invoice its structure deposits as Factur-X is `ready` only if
its XML would pass, so a broken rule reaches the entrepreneur as a reason, never Chorus Pro."""

from __future__ import annotations

from collections.abc import Sequence

from chorus_etl.settings import Settings
from schemas.issues import Reason
from tasks.facturx import build_cii, check_facturx_xml, facturx_invoice, seller_profile
from tasks.ingest.staging import as_rows
from tasks.ingest.validate import InvoiceDraft

Key = tuple[str, str]


def seller_missing(siret: str) -> Reason:
    return Reason(
        rule="facturx.seller_unknown",
        column="supplier_siret",
        value=siret,
        message_fr=(
            f"La structure {siret} dépose en Factur-X mais son identité de vendeur (raison "
            "sociale, adresse, IBAN) n'est pas configurée : prévenez la comptabilité."
        ),
        message_en=(
            f"structure {siret} deposits Factur-X but has no seller identity: set "
            "CHORUS_ETL_SUPPLIER_IDENTITIES"
        ),
    )


def facturx_reasons(drafts: Sequence[InvoiceDraft], settings: Settings) -> dict[Key, list[Reason]]:
    """Reasons by invoice for the valid drafts of Factur-X structures; the others are skipped
    (an invoice already refused would only collect noise)."""
    found: dict[Key, list[Reason]] = {}
    for draft in drafts:
        if not draft.valid or draft.supplier_siret not in settings.facturx_sirets:
            continue
        key = (draft.supplier_siret, draft.invoice_number)
        profile = seller_profile(draft.supplier_siret, settings)
        if profile is None:
            found[key] = [seller_missing(draft.supplier_siret)]
            continue
        invoice, lines = as_rows(draft)
        document = facturx_invoice(invoice, lines, profile, buyer_kinds=settings.buyer_kinds)
        reasons = check_facturx_xml(build_cii(document), document)
        if reasons:
            found[key] = reasons
    return found
