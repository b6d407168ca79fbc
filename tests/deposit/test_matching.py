"""`tasks.deposit.matching`: an invoice found by number is ours only if it agrees."""

from __future__ import annotations

from datetime import date

from schemas.payloads import InvoiceSummary
from schemas.warehouse import DepositOrigin, Invoice
from tasks.deposit.matching import Identified, differences, identify, origin_of

OURS = Invoice(
    cooperative="cooproduction",
    supplier_siret="51858054300107",
    invoice_number="F-1",
    invoice_type="FACTURE",
    invoice_date=date(2026, 11, 2),
    buyer_siret="21670447800017",
    total_ttc_cents=120_050,
)


def _found(chorus_id: int = 7, **changes: object) -> InvoiceSummary:
    fields: dict[str, object] = {
        "identifiantFactureCPP": chorus_id,
        "numeroFacture": "F-1",
        "codeFournisseur": "51858054300107",
        "codeDestinataire": "21670447800017",
        "montantTTC": 1200.50,
        "typeFacture": "FACTURE",
        "dateFacture": "2026-11-02",
        "modeDepot": "DEPOT_PDF_API",
    }
    fields.update(changes)
    return InvoiceSummary.model_validate(fields)


def test_the_same_invoice_has_no_difference() -> None:
    assert differences(OURS, _found()) == []


def test_each_field_that_disagrees_is_named_with_both_sides() -> None:
    found = _found(codeDestinataire="21930048000015", montantTTC=1200.49, typeFacture="AVOIR")
    assert [(d.field, d.ours, d.theirs) for d in differences(OURS, found)] == [
        ("buyer_siret", "21670447800017", "21930048000015"),
        ("total_ttc", "1200.50", "1200.49"),
        ("type", "FACTURE", "AVOIR"),
    ]
    assert [d.field for d in differences(OURS, _found(dateFacture="2026-11-03"))] == [
        "invoice_date"
    ]


def test_among_several_under_the_number_the_one_that_agrees_is_ours() -> None:
    other = _found(chorus_id=9, montantTTC=5.0)
    found = identify(OURS, [other, _found(chorus_id=7)])
    assert found.ours is not None and found.ours.identifiantFactureCPP == 7
    conflict = identify(OURS, [other])
    assert conflict.ours is None and conflict.other is other
    assert [d.field for d in conflict.differences] == ["total_ttc"]
    assert identify(OURS, []) == Identified(None, None), "nothing found under the number"


def test_a_portal_deposit_is_never_ours() -> None:
    assert origin_of(_found(), may_have_sent=True) is DepositOrigin.PIPELINE
    assert origin_of(_found(), may_have_sent=False) is DepositOrigin.PORTAL
    portal = _found(modeDepot="DEPOT_PDF_PORTAIL")
    assert origin_of(portal, may_have_sent=True) is DepositOrigin.PORTAL
