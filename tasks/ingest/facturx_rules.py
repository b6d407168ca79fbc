"""The Factur-X rules at ingest: an invoice its structure deposits as Factur-X is `ready` only if
its XML would pass, so a broken rule reaches the entrepreneur as a reason, never Chorus Pro."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session

from chorus_etl.accounts import load_accounts
from chorus_etl.settings import Settings
from schemas.issues import Reason
from tasks.deposit.store import original_invoice_dates
from tasks.facturx import build_cii, check_facturx_xml, facturx_document
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


def original_dates(
    checked: Sequence[InvoiceDraft], export: Sequence[InvoiceDraft], engine: Engine
) -> dict[Key, date]:
    """The date of the invoice each credit note of `checked` corrects (BT-26): from the same
    export first, else from the warehouse; absent when neither has it."""
    wanted = {
        (draft.supplier_siret, number)
        for draft in checked
        if (number := draft.get("original_invoice_number"))
    }
    if not wanted:
        return {}
    found: dict[Key, date] = {}
    for draft in export:
        key = (draft.supplier_siret, draft.invoice_number)
        day = draft.header.get("invoice_date")
        if key in wanted and isinstance(day, date) and draft.get("invoice_type") != "AVOIR":
            found[key] = day
    missing = wanted - set(found)
    if missing:
        with Session(engine) as session:
            found.update(original_invoice_dates(session, missing))
    return found


def facturx_reasons(
    drafts: Sequence[InvoiceDraft],
    settings: Settings,
    *,
    original_dates: dict[Key, date] | None = None,
    owner: Callable[[str], str] | None = None,
) -> dict[Key, list[Reason]]:
    """Reasons by invoice for the valid drafts of Factur-X structures; the others are skipped
    (an invoice already refused would only collect noise). `original_dates` gives the credit
    notes' BT-26, `owner` the cooperative of a structure (its payment terms)."""
    found: dict[Key, list[Reason]] = {}
    dates = original_dates or {}
    facturx = load_accounts(settings).facturx_sirets()
    for draft in drafts:
        if not draft.valid or draft.supplier_siret not in facturx:
            continue
        key = (draft.supplier_siret, draft.invoice_number)
        invoice, lines = as_rows(draft, owner(draft.supplier_siret) if owner else "")
        original = draft.get("original_invoice_number")
        document = facturx_document(
            invoice,
            lines,
            settings,
            original_invoice_date=dates.get((draft.supplier_siret, original)) if original else None,
        )
        if document is None:
            found[key] = [seller_missing(draft.supplier_siret)]
            continue
        reasons = check_facturx_xml(build_cii(document), document)
        if reasons:
            found[key] = reasons
    return found
