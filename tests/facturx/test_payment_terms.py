"""An invoice without a due date (optional in the export contract) states its payment terms
(BT-20): the legal delay of the buyer's kind, so BR-CO-25 holds in Factur-X as in PDF mode."""

from __future__ import annotations

import pytest
from lxml import etree

from tasks.facturx import build_cii, check_facturx_xml, facturx_invoice
from tasks.facturx.schematron import Schematron
from tests.facturx.helpers import ANTIGONE, NS, SETTLEMENT, vat_line, warehouse_invoice

TERMS = f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms"
LINES = [vat_line(2000, 135000)]


def _terms(xml: bytes) -> tuple[list[str], list[str]]:
    tree = etree.fromstring(xml)
    described = [e.text for e in tree.xpath(f"{TERMS}/ram:Description", namespaces=NS)]
    due = tree.xpath(f"{TERMS}/ram:DueDateDateTime/udt:DateTimeString", namespaces=NS)
    return described, [e.text for e in due]


@pytest.mark.parametrize(
    ("buyer", "kinds", "days"),
    [
        ({}, {}, 30),
        ({"buyer_name": "CENTRE HOSPITALIER DE SIMULVILLE"}, {}, 50),
        ({}, {"21670447800017": "public_company"}, 60),
    ],
    ids=["local-authority", "hospital-by-name", "public-company-configured"],
)
def test_without_a_due_date_the_legal_delay_is_the_payment_terms(
    buyer: dict[str, str], kinds: dict[str, str], days: int, schematron: Schematron
) -> None:
    invoice = warehouse_invoice(LINES, due_date=None, **buyer)
    inv = facturx_invoice(invoice, LINES, ANTIGONE, buyer_kinds=kinds)

    xml = build_cii(inv)

    described, due = _terms(xml)
    assert due == []
    (text,) = described
    assert text.startswith(f"Paiement à {days} jours à compter de la réception de la facture")
    assert check_facturx_xml(xml, inv) == []
    assert schematron.failed_assertions(xml) == []


def test_a_due_date_is_written_alone() -> None:
    inv = facturx_invoice(warehouse_invoice(LINES), LINES, ANTIGONE)

    assert inv.payment_terms is None
    assert _terms(build_cii(inv)) == ([], ["20261225"])
