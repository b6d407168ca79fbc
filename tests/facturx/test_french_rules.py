"""France's 2026 rules: each rule the issue found broken fails, in the official Schematrons, on an
invoice deliberately broken that way (so the check can fail), and never on what the builder makes;
where the export or the settings can break a rule, our checks give the entrepreneur the reason
before any Schematron is needed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from lxml import etree
from pydantic import ValidationError

from chorus_etl.values import FacturxStructure
from schemas.export import VAT_RATES_BP
from tasks.facturx import build_cii, check_facturx_xml
from tasks.facturx.codes import FRENCH_VAT_RATES_BP
from tasks.facturx.schematron import Schematron
from tests.facturx.helpers import AGREEMENT, ANTIGONE, NS, invoice_of, vat_line

LINES = [vat_line(2000, 135000), vat_line(550, 10200)]
CREDIT_NOTE: dict[str, Any] = {
    "invoice_number": "AV0007-24",
    "invoice_type": "AVOIR",
    "original_invoice_number": "FC0142-24",
}


def _good() -> bytes:
    return build_cii(invoice_of(LINES))


def _edit(xml: bytes, path: str, change: Callable[[etree._Element], None]) -> bytes:
    """`xml` with `change` applied to every element at XPath `path`."""
    root = etree.fromstring(xml)
    found = root.xpath(path, namespaces=NS)
    assert found, path
    for element in found:
        change(element)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _drop(element: etree._Element) -> None:
    parent = element.getparent()
    assert parent is not None
    parent.remove(element)


def _siret_as_legal_id(element: etree._Element) -> None:
    element.text = ANTIGONE.siret


NOTES = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:IncludedNote"
SELLER = f"{AGREEMENT}/ram:SellerTradeParty"
BUYER = f"{AGREEMENT}/ram:BuyerTradeParty"

#: The rules of the issue's table: an XML broken that way, and the Schematron rule that says so.
BROKEN: dict[str, tuple[Callable[[], bytes], str]] = {
    "BR-FR-32 (a SIRET under scheme 0002)": (
        lambda: _edit(
            _good(), f"{SELLER}/ram:SpecifiedLegalOrganization/ram:ID", _siret_as_legal_id
        ),
        "BR-FR-32-LEGALID",
    ),
    "BR-FR-10 (no seller SIREN)": (
        lambda: _edit(_good(), f"{SELLER}/ram:SpecifiedLegalOrganization", _drop),
        "BR-FR-10_BT-30",
    ),
    "BR-FR-05 (no PMT note)": (
        lambda: _edit(_good(), f"{NOTES}[ram:SubjectCode='PMT']", _drop),
        "BR-FR-05_BT-22_PMT",
    ),
    "BR-FR-05 (no PMD note)": (
        lambda: _edit(_good(), f"{NOTES}[ram:SubjectCode='PMD']", _drop),
        "BR-FR-05_BT-22_PMD",
    ),
    "BR-FR-05 (no AAB note)": (
        lambda: _edit(_good(), f"{NOTES}[ram:SubjectCode='AAB']", _drop),
        "BR-FR-05_BT-22_AAB",
    ),
    "BR-FR-08 (BT-23 A1, Chorus Pro's historical code)": (
        lambda: build_cii(invoice_of(LINES, structure=FacturxStructure(billing_frame="A1"))),
        "BR-FR-08_BT-23",
    ),
    "BR-FR-12 (no buyer electronic address)": (
        lambda: _edit(_good(), f"{BUYER}/ram:URIUniversalCommunication", _drop),
        "BR-FR-12_BT-49",
    ),
    "BR-FR-13 (no seller electronic address)": (
        lambda: _edit(_good(), f"{SELLER}/ram:URIUniversalCommunication", _drop),
        "BR-FR-13_BT-34",
    ),
    "BR-FR-CO-05 (credit note without its invoice's date)": (
        lambda: build_cii(invoice_of(LINES, **CREDIT_NOTE)),
        "BR-FR-CO-05_BT-3",
    ),
}


def _fatal(schematrons: tuple[Schematron, ...], xml: bytes) -> set[str]:
    return {f.rule_id for rules in schematrons for f in rules.failed_assertions(xml) if f.fatal}


def test_the_builder_breaks_none_of_them(french_schematrons: tuple[Schematron, ...]) -> None:
    assert _fatal(french_schematrons, _good()) == set()
    credit_note = invoice_of(LINES, original_invoice_date=date(2026, 11, 2), **CREDIT_NOTE)
    assert _fatal(french_schematrons, build_cii(credit_note)) == set()


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_each_rule_of_the_issue_fails_on_an_invoice_broken_that_way(
    broken: str, french_schematrons: tuple[Schematron, ...]
) -> None:
    make, rule = BROKEN[broken]
    assert rule in _fatal(french_schematrons, make())


#: Values of the export or the settings that break a French rule: the reason our checks give,
#: and the Schematron rule that agrees (None where the Schematron cannot see it).
FAULTS: dict[str, tuple[Callable[[], object], str, str | None]] = {
    "number_with_a_space": (
        lambda: invoice_of(LINES, invoice_number="FC 0142-24"),
        "facturx.br-fr-02",
        "BR-FR-02_BT-1",
    ),
    "original_number_with_an_accent": (
        lambda: invoice_of(
            LINES,
            original_invoice_date=date(2026, 11, 2),
            **{**CREDIT_NOTE, "original_invoice_number": "FÉ0142-24"},
        ),
        "facturx.br-fr-02",
        "BR-FR-02_BT-25",
    ),
    "issue_year_1999": (
        lambda: invoice_of(LINES, invoice_date=date(1999, 12, 1), due_date=date(2026, 12, 25)),
        "facturx.br-fr-03",
        "BR-FR-03_BT-2",
    ),
    "due_year_2100": (
        lambda: invoice_of(LINES, due_date=date(2100, 1, 1)),
        "facturx.br-fr-03",
        "BR-FR-03_BT-9",
    ),
    "credit_note_original_unknown": (
        lambda: invoice_of(LINES, **CREDIT_NOTE),
        "facturx.br-fr-co-05",
        "BR-FR-CO-05_BT-3",
    ),
    "dollars": (
        lambda: invoice_of(LINES, currency="USD"),
        "facturx.br-fr-co-12",
        "BR-FR-CO-12_BT-5",
    ),
    "seller_siret_checksum": (
        lambda: invoice_of(LINES, supplier=dataclasses.replace(ANTIGONE, siret="51858054300108")),
        "facturx.br-fr-10",
        None,
    ),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_our_checks_give_the_reason_before_the_schematron_and_it_agrees(
    fault: str, french_schematrons: tuple[Schematron, ...]
) -> None:
    make, rule, schematron_rule = FAULTS[fault]
    inv = make()
    xml = build_cii(inv)  # type: ignore[arg-type]
    found = check_facturx_xml(xml, inv)  # type: ignore[arg-type]
    assert rule in {reason.rule for reason in found}
    for reason in found:
        assert reason.message_fr and reason.message_en and reason.message_fr != reason.message_en
    if schematron_rule is not None:
        assert schematron_rule in _fatal(french_schematrons, xml)


def test_passing_values_of_the_same_rules_give_no_reason() -> None:
    for inv in (
        invoice_of(LINES, invoice_number="FC-0142/24+B_2"),
        invoice_of(LINES, invoice_date=date(2000, 1, 1), due_date=date(2099, 12, 31)),
        invoice_of(LINES, original_invoice_date=date(2026, 11, 2), **CREDIT_NOTE),
    ):
        assert check_facturx_xml(build_cii(inv), inv) == []


def test_the_export_cannot_carry_a_vat_rate_the_french_rules_refuse() -> None:
    """BR-FR-16 needs no check of ours: every rate the export contract takes is a French one."""
    assert VAT_RATES_BP <= FRENCH_VAT_RATES_BP


def test_billing_frame_s5_is_refused_by_the_settings_s3_is_taken() -> None:
    """BR-FR-CPRO-24: no subcontractor frame S5 towards a public buyer; S3 instead."""
    with pytest.raises(ValidationError, match="BR-FR-CPRO-24"):
        FacturxStructure(billing_frame="S5")
    assert FacturxStructure(billing_frame="S3").billing_frame == "S3"
    with pytest.raises(ValidationError, match="not one of"):
        FacturxStructure(billing_frame="B8")
