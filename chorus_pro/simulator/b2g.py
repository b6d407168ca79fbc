"""The public-sector rules Chorus Pro applies on receipt since September 2026 (BR-FR-CPRO-*).

XP Z12-012 annex A (sheet "BR-France-CTC-CPRO") lists rules Chorus Pro checks on every invoice it
receives from a supplier, refusing with the reason `REJ_CONT_B2G` an invoice that breaks one. No
Schematron implements them; the simulator checks those a supplier's data can break, where the
deposit carries the value:

- `soumettre` (PDF and API modes): the preceding invoice number (`numeroFactureOrigine`) at most
  20 characters and naming one invoice (CPRO-02, CPRO-20), the contract reference
  (`numeroMarche`) at most 50 (CPRO-14), the comment at most 1024 (CPRO-42). The order
  reference and the invoice number keep the API's own checks (20125, 20111), which come first.
- a CII flux (Factur-X, CII): BT-25 at most once (CPRO-20) and 20 characters (CPRO-02), BT-12 and
  BT-13 at most 50 (CPRO-14, CPRO-15), notes BT-22, item names and descriptions BT-153/BT-154,
  payment terms BT-20 at most 1024 (CPRO-42, CPRO-31, CPRO-35), seller street and city at most 400
  (CPRO-32, CPRO-33), party names at most 99 (CPRO-43, CPRO-44), the payment account at most 27
  (CPRO-39), the delivery location id at most 20 (CPRO-38), no billing frame S5 (CPRO-24).

Each check returns the refusal's text, `REJ_CONT_B2G - BR-FR-CPRO-nn : …`, or None; the first
rule broken is the one reported, as Chorus reports one error per invoice.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["REASON", "cii_refusal", "submission_refusal"]

REASON = "REJ_CONT_B2G"
_SEVERAL = re.compile(r"[,;|&]|\s(?:et|and)\s", re.IGNORECASE)
_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}
_AGREEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
_SETTLEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
_LINES = "rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem"
#: (rule, XPath from the CII root, what it is, longest value allowed).
_CII_LENGTHS: tuple[tuple[str, str, str, int], ...] = (
    ("02", f"{_SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID", "BT-25", 20),
    ("14", f"{_AGREEMENT}/ram:ContractReferencedDocument/ram:IssuerAssignedID", "BT-12", 50),
    ("15", f"{_AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID", "BT-13", 50),
    ("31", f"{_LINES}/ram:SpecifiedTradeProduct/ram:Name", "BT-153", 1024),
    ("31", f"{_LINES}/ram:SpecifiedTradeProduct/ram:Description", "BT-154", 1024),
    ("32", f"{_AGREEMENT}/ram:SellerTradeParty/ram:PostalTradeAddress/ram:LineOne", "BT-35", 400),
    ("33", f"{_AGREEMENT}/ram:SellerTradeParty/ram:PostalTradeAddress/ram:CityName", "BT-37", 400),
    ("35", f"{_SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:Description", "BT-20", 1024),
    (
        "38",
        "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeDelivery"
        "/ram:ShipToTradeParty/ram:ID",
        "BT-71",
        20,
    ),
    (
        "39",
        f"{_SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
        "/ram:PayeePartyCreditorFinancialAccount/ram:IBANID",
        "BT-84",
        27,
    ),
    ("42", "rsm:ExchangedDocument/ram:IncludedNote/ram:Content", "BT-22", 1024),
    ("43", f"{_AGREEMENT}/ram:SellerTradeParty/ram:Name", "BT-27", 99),
    ("44", f"{_AGREEMENT}/ram:BuyerTradeParty/ram:Name", "BT-44", 99),
)


def _refusal(rule: str, text: str) -> str:
    return f"{REASON} - BR-FR-CPRO-{rule} : {text}"


def _too_long(rule: str, what: str, value: str, limit: int) -> str:
    return _refusal(rule, f"{what} ne doit pas dépasser {limit} caractères ({len(value)}).")


def submission_refusal(origin: str | None, market: str | None, comment: str | None) -> str | None:
    """The first public-sector rule a `soumettre` breaks, or None."""
    if origin is not None and _SEVERAL.search(origin):
        return _refusal("20", "une facture ne peut référencer qu'une facture antérieure.")
    for rule, what, value, limit in (
        ("02", "numeroFactureOrigine", origin, 20),
        ("14", "numeroMarche", market, 50),
        ("42", "commentaire", comment, 1024),
    ):
        if value is not None and len(value) > limit:
            return _too_long(rule, what, value, limit)
    return None


def cii_refusal(root: Any) -> str | None:
    """The first public-sector rule a CII invoice breaks, or None."""
    frame = root.xpath(
        "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter"
        "/ram:ID/text()",
        namespaces=_NS,
    )
    if any(str(value).strip() == "S5" for value in frame):
        return _refusal(
            "24", "le cadre de facturation S5 est interdit vers un acheteur public (S3)."
        )
    preceding = root.xpath(f"{_SETTLEMENT}/ram:InvoiceReferencedDocument", namespaces=_NS)
    if len(preceding) > 1:
        return _refusal("20", "une facture ne peut référencer qu'une facture antérieure (BT-25).")
    for rule, path, what, limit in _CII_LENGTHS:
        for element in root.xpath(path, namespaces=_NS):
            value = (element.text or "").strip()
            if len(value) > limit:
                return _too_long(rule, what, value, limit)
    return None
