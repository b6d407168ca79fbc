"""Chorus Pro's public-sector rules (BR-FR-CPRO-*) at ingest, in both deposit modes.

Since September 2026 Chorus Pro applies the rules of the French standard's annex for public
buyers (XP Z12-012 annex A, sheet "BR-France-CTC-CPRO") to every invoice it receives, and refuses
one that breaks them with the reason `REJ_CONT_B2G`, days after the deposit for the entrepreneur.
No Schematron implements them, so each rule our data can break is checked here, before anything
is sent, and becomes a reason naming its rule in French and English.

Which data each deposit mode sends decides which rules apply to it. Both modes send the invoice
number, the preceding invoice's number, the contract and order references and the comment
(`soumettre`'s fields in PDF mode, BT-1, BT-25, BT-12, BT-13, BT-22 in a Factur-X). Only the
Factur-X carries the parties' names, the seller's address and the IBAN (the PDF mode names the
supplier and its bank account by their Chorus Pro ids): those rules apply to Factur-X structures,
and their values come from the settings, so their reasons send the entrepreneur to accounting.

The rules our data cannot break are satisfied by construction: BT-1 (CPRO-02) and BT-13 (CPRO-15)
are held to 20 and 50 characters by the export contract, the buyer's SIRET in BT-46 (CPRO-10) is
written with scheme 0009 from a checked SIRET, attachment names (CPRO-30/41) are shortened to 50
characters when uploaded and a Factur-X carries none, item names (CPRO-31) are ours and short,
no payment terms text (CPRO-35) nor delivery location (CPRO-38) is written, and the billing frame
S5 (CPRO-24) is refused by the settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chorus_etl.accounts import load_accounts
from chorus_etl.settings import Settings
from chorus_etl.values import DepositMode
from schemas.issues import Reason
from tasks.facturx import SupplierProfile, seller_profile
from tasks.facturx.codes import CREDIT_TRANSFER_CODES, payment_means_code
from tasks.facturx.reasons import EXPORT_AGAIN, SETUP_ADVICE
from tasks.ingest.validate import InvoiceDraft

__all__ = ["MAX", "b2g_reasons"]

#: The lengths the rules allow, by rule.
MAX = {
    "cpro-02": 20,  # BT-1, BT-25
    "cpro-14": 50,  # BT-12 contract (market) reference
    "cpro-32": 400,  # BT-35 seller street
    "cpro-33": 400,  # BT-37 seller city
    "cpro-39": 27,  # BT-84 payment account
    "cpro-42": 1024,  # BT-22 note
    "cpro-43": 99,  # BT-27 seller name
    "cpro-44": 99,  # BT-44 buyer name
}
#: The export's columns the length rules judge: (French, English) names.
_FIELDS = {
    "original_invoice_number": (
        "Le numéro de la facture d'origine",
        "the preceding invoice number (BT-25)",
    ),
    "market_number": ("Le numéro de marché", "the contract reference (BT-12, numeroMarche)"),
    "comment": ("Le commentaire", "the invoice note (BT-22, commentaire)"),
    "buyer_name": ("Le nom du client", "the buyer's name (BT-44)"),
}
#: The length rules on the export's columns that both deposit modes send.
_BOTH_MODES = {"market_number": "cpro-14", "comment": "cpro-42"}
#: How a field that names several preceding invoices separates them (CPRO-20 allows one).
_SEVERAL = re.compile(r"[,;|&]|\s(?:et|and)\s", re.IGNORECASE)


def _reason(rule: str, fr: str, en: str, column: str | None, value: str | None = None) -> Reason:
    label = f"BR-FR-{rule.upper()}"
    return Reason(
        rule=f"b2g.{rule}",
        column=column,
        value=value[:200] if value else value,
        message_fr=f"{fr} (règle {label} de Chorus Pro pour les acheteurs publics)",
        message_en=f"{label}: {en}",
    )


def _too_long(rule: str, column: str, what_fr: str, what_en: str, value: str) -> Reason:
    limit = MAX[rule]
    return _reason(
        rule,
        f"{what_fr} compte {len(value)} caractères : Chorus Pro en accepte au plus {limit}. "
        f"Raccourcissez-le, {EXPORT_AGAIN}.",
        f"{what_en} is {len(value)} characters long, at most {limit}",
        column,
        value,
    )


def _export_rules(draft: InvoiceDraft) -> Iterable[Reason]:
    """Rules on the export's own values, in both modes."""
    original = draft.get("original_invoice_number")
    if original and _SEVERAL.search(original):
        yield _reason(
            "cpro-20",
            f"La facture d'origine « {original} » semble en nommer plusieurs : une facture ou un "
            "avoir ne peut en corriger qu'une. Établissez un avoir par facture corrigée, "
            f"{EXPORT_AGAIN}",
            f"the preceding invoice reference (BT-25) {original!r} names several invoices, one at "
            "most is allowed",
            "original_invoice_number",
            original,
        )
    elif original:
        yield from _length("cpro-02", "original_invoice_number", original)
    for column, rule in _BOTH_MODES.items():
        value = draft.get(column)
        if value:
            yield from _length(rule, column, value)


def _length(rule: str, column: str, value: str) -> Iterable[Reason]:
    """The export's value of `column` against `rule`'s maximum length."""
    if len(value) > MAX[rule]:
        what_fr, what_en = _FIELDS[column]
        if column == "original_invoice_number":
            what_fr = f"{what_fr} « {value} »"
        yield _too_long(rule, column, what_fr, what_en, value)


def _setup(rule: str, what_fr: str, what_en: str, value: str) -> Reason:
    limit = MAX[rule]
    return _reason(
        rule,
        f"{what_fr} de la coopérative compte {len(value)} caractères : Chorus Pro en accepte au "
        f"plus {limit}. {SETUP_ADVICE}",
        f"the seller's {what_en} is {len(value)} characters long, at most {limit} "
        "(CHORUS_ETL_SUPPLIER_IDENTITIES)",
        None,
        value,
    )


def _seller_rules(seller: SupplierProfile, credit_transfer: bool) -> Iterable[Reason]:
    """Rules on the seller's identity from the settings, for Factur-X structures."""
    if len(seller.name) > MAX["cpro-43"]:
        yield _setup("cpro-43", "La raison sociale", "name (BT-27)", seller.name)
    if len(seller.address_line) > MAX["cpro-32"]:
        yield _setup("cpro-32", "L'adresse", "street (BT-35)", seller.address_line)
    if len(seller.city) > MAX["cpro-33"]:
        yield _setup("cpro-33", "La ville", "city (BT-37)", seller.city)
    iban = "".join((seller.iban or "").split())
    if credit_transfer and len(iban) > MAX["cpro-39"]:
        yield _setup("cpro-39", "Le compte bancaire (IBAN)", "payment account (BT-84)", iban)


def b2g_reasons(draft: InvoiceDraft, settings: Settings) -> list[Reason]:
    """Every public-sector rule the draft breaks in its structure's deposit mode."""
    found = list(_export_rules(draft))
    if load_accounts(settings).deposit_mode(draft.supplier_siret) is not DepositMode.FACTURX:
        return found
    buyer = draft.get("buyer_name")
    if buyer:
        found.extend(_length("cpro-44", "buyer_name", buyer))
    seller = seller_profile(draft.supplier_siret, settings)
    if seller is not None:
        means = payment_means_code(draft.get("payment_mode") or "VIREMENT")
        found.extend(_seller_rules(seller, means in CREDIT_TRANSFER_CODES))
    return found
