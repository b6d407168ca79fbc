"""The checks: each rule Chorus Pro refuses on gives one reason, worded for the entrepreneur, and
the official Schematron agrees with them on the same faulty invoices."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

import facturx
import pytest

from tasks.facturx import FacturxInvoice, build_cii, check_facturx_invoice, check_facturx_xml
from tasks.facturx.schematron import Schematron
from tasks.facturx.xsd import xsd_errors
from tests.facturx.helpers import ANTIGONE, invoice_of, vat_line

LINES = [
    vat_line(2000, 135000),
    vat_line(550, 10200),
    vat_line(0, 12345, "Exonération, art. 261-4 du CGI"),
]


def _with_line_vat(vat_cents: int) -> FacturxInvoice:
    inv = invoice_of(LINES)
    first = dataclasses.replace(inv.vat_breakdown[0], vat_cents=vat_cents)
    delta = vat_cents - inv.vat_breakdown[0].vat_cents
    return dataclasses.replace(
        inv,
        vat_breakdown=(first, *inv.vat_breakdown[1:]),
        tax_total_cents=inv.tax_total_cents + delta,
        grand_total_cents=inv.grand_total_cents + delta,
        due_payable_cents=inv.due_payable_cents + delta,
    )


def _with_breakdown_base(base_cents: int) -> FacturxInvoice:
    inv = invoice_of(LINES)
    second = dataclasses.replace(inv.vat_breakdown[1], base_cents=base_cents)
    return dataclasses.replace(
        inv, vat_breakdown=(inv.vat_breakdown[0], second, *inv.vat_breakdown[2:])
    )


#: Each faulty invoice, the one reason our checks give, and the Schematron rule that agrees
#: (None where the EN 16931 Schematron has no such rule: Chorus Pro's own, or stricter than it).
FAULTS: dict[str, tuple[Callable[[], FacturxInvoice], set[str], str | None]] = {
    "grand_total": (lambda: invoice_of(LINES, total_ttc_cents=1), {"facturx.br-co-15"}, "BR-CO-15"),
    "vat_total": (
        lambda: invoice_of(LINES, amount_vat_cents=1),
        {"facturx.br-co-14", "facturx.br-co-15"},
        "BR-CO-14",
    ),
    "line_total": (
        lambda: invoice_of(LINES, amount_ht_cents=1),
        {"facturx.br-co-10", "facturx.br-co-15"},
        "BR-CO-10",
    ),
    "category_base": (
        lambda: _with_breakdown_base(10300),
        {"facturx.br-s-08", "facturx.br-s-09"},
        "BR-S-08",
    ),
    "category_vat": (lambda: _with_line_vat(27100), {"facturx.br-s-09"}, "BR-S-09"),
    "iban_missing": (
        lambda: invoice_of(LINES, supplier=dataclasses.replace(ANTIGONE, iban=None)),
        {"facturx.br-61"},
        None,
    ),
    "exemption_reason_missing": (
        lambda: invoice_of([vat_line(2000, 1000), vat_line(0, 1000, None)]),
        {"facturx.br-e-10"},
        "BR-E-10",
    ),
    "no_lines": (lambda: invoice_of([]), {"facturx.br-16", "facturx.xsd"}, "BR-16"),
    "number_too_long": (
        lambda: invoice_of(LINES, invoice_number="FC-2026-11-000142-ANT"),
        {"facturx.invoice_number_length"},
        None,
    ),
    "issue_date_missing": (
        lambda: invoice_of(LINES, invoice_date=None),
        {"facturx.br-03", "facturx.xsd"},
        "BR-03",
    ),
    "due_date_missing": (
        lambda: dataclasses.replace(invoice_of(LINES, due_date=None), payment_terms=None),
        {"facturx.br-co-25"},
        None,
    ),
    "due_before_issue": (
        lambda: invoice_of(LINES, due_date=date(2026, 11, 24)),
        {"facturx.due_date_before_issue"},
        None,
    ),
    "credit_note_without_original": (
        lambda: invoice_of(LINES, invoice_type="AVOIR", original_invoice_number=None),
        {"facturx.credit_note_reference"},
        None,
    ),
    "currency": (
        lambda: invoice_of(LINES, currency="EUX"),
        {"facturx.currency_code"},
        "FX-SCH-A-000595",
    ),
    "buyer_siret": (
        lambda: invoice_of(LINES, buyer_siret="216704478"),
        {"facturx.buyer_siret"},
        None,
    ),
    "seller_siret": (
        lambda: invoice_of(LINES, supplier=dataclasses.replace(ANTIGONE, siret="5185805430010")),
        {"facturx.seller_siret"},
        None,
    ),
    "buyer_name": (lambda: invoice_of(LINES, buyer_name=None), {"facturx.br-07"}, "BR-07"),
    "seller_vat_missing": (
        lambda: invoice_of(LINES, supplier=dataclasses.replace(ANTIGONE, vat_id="")),
        {"facturx.br-s-02"},
        "BR-S-02",
    ),
    "seller_vat_invalid": (
        lambda: invoice_of(LINES, supplier=dataclasses.replace(ANTIGONE, vat_id="FR00518580543")),
        {"facturx.seller_vat_id"},
        None,
    ),
}


def test_a_good_invoice_has_no_reason() -> None:
    inv = invoice_of(LINES)
    assert check_facturx_xml(build_cii(inv), inv) == []


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_gives_its_reasons_with_french_and_english_words(fault: str) -> None:
    make, rules, _schematron_rule = FAULTS[fault]
    inv = make()
    found = check_facturx_xml(build_cii(inv), inv)
    assert {reason.rule for reason in found} == rules
    for reason in found:
        assert reason.message_fr and reason.message_en
        assert reason.message_fr != reason.message_en


@pytest.mark.parametrize("fault", sorted(f for f, (_m, _r, rule) in FAULTS.items() if rule))
def test_the_schematron_reports_the_same_fault(fault: str, schematron: Schematron) -> None:
    make, _rules, schematron_rule = FAULTS[fault]
    found = {f.rule_id for f in schematron.failed_assertions(build_cii(make())) if f.fatal}
    assert schematron_rule in found, found


def test_wrong_total_reason_names_both_amounts_in_french() -> None:
    inv = invoice_of([vat_line(2000, 135000)], total_ttc_cents=162100)
    (reason,) = check_facturx_invoice(inv)
    assert reason.rule == "facturx.br-co-15"
    assert "1\u00a0621,00\u00a0€" in reason.message_fr
    assert "1\u00a0620,00\u00a0€" in reason.message_fr
    assert reason.column == "total_ttc"
    assert reason.value == "1621.00"
    assert "1621.00 != 1620.00" in reason.message_en


def test_number_too_long_reason_says_chorus_pro_takes_twenty_characters() -> None:
    inv = invoice_of(LINES, invoice_number="FC-2026-11-000142-ANT")
    (reason,) = check_facturx_invoice(inv)
    assert "au plus 20" in reason.message_fr
    assert reason.value == "FC-2026-11-000142-ANT"


def test_iban_missing_only_matters_for_a_credit_transfer() -> None:
    no_iban = dataclasses.replace(ANTIGONE, iban=None)
    assert check_facturx_invoice(invoice_of(LINES, supplier=no_iban, payment_mode="CHEQUE")) == []
    (reason,) = check_facturx_invoice(invoice_of(LINES, supplier=no_iban))
    assert "comptabilité" in reason.message_fr


def test_cached_xsd_agrees_with_the_factur_x_library() -> None:
    good = build_cii(invoice_of(LINES))
    bad = build_cii(invoice_of(LINES, invoice_date=None))
    assert xsd_errors(good) == []
    assert facturx.xml_check_xsd(good, flavor="factur-x", level="en16931") is True
    assert xsd_errors(bad) != []
    with pytest.raises(Exception, match="not valid against the official XML Schema"):
        facturx.xml_check_xsd(bad, flavor="factur-x", level="en16931")


def test_xml_that_is_not_xml_is_an_xsd_reason() -> None:
    (reason,) = check_facturx_xml(b"<not-closed>", invoice_of(LINES))
    assert reason.rule == "facturx.xsd"
    assert "not well-formed" in reason.message_en
