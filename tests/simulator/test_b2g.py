"""The public-sector rules (BR-FR-CPRO) the simulator applies on receipt, as Chorus Pro does since
September 2026: an invoice that breaks one is refused with `REJ_CONT_B2G` and the rule, through
`soumettre` (codeRetour 20131) and in a CII flux's report; the same invoice within the limit is
taken."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from lxml import etree

from tests.simulator.facturx_samples import SampleInvoice, cii_xml
from tests.simulator.helpers import (
    CONSULTER_CR_DETAILLE,
    DEPOSER_FLUX,
    SOUMETTRE,
    Api,
    b64,
    invoice_body,
)

CII = "IN_DP_E1_CII_16B"
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}
AGREEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
SETTLEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"


def _references(**values: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["references"].update(values)

    return change


#: soumettre: (rule, the change that breaks it, the same field within the limit).
SUBMISSIONS: dict[
    str, tuple[str, Callable[[dict[str, Any]], None], Callable[[dict[str, Any]], None]]
] = {
    "preceding-number": (
        "02",
        _references(typeFacture="AVOIR", numeroFactureOrigine="F" * 21),
        _references(typeFacture="AVOIR", numeroFactureOrigine="F" * 20),
    ),
    "several-preceding": (
        "20",
        _references(typeFacture="AVOIR", numeroFactureOrigine="F-1, F-2"),
        _references(typeFacture="AVOIR", numeroFactureOrigine="F-1"),
    ),
    "market": ("14", _references(numeroMarche="M" * 51), _references(numeroMarche="M" * 50)),
    "comment": (
        "42",
        lambda body: body.update(commentaire="c" * 1025),
        lambda body: body.update(commentaire="c" * 1024),
    ),
}


@pytest.mark.parametrize("case", sorted(SUBMISSIONS))
def test_soumettre_refuses_a_public_sector_rule_with_rej_cont_b2g(api: Api, case: str) -> None:
    rule, breaking, passing = SUBMISSIONS[case]
    refused = invoice_body(f"B2G-{case[:10]}")
    breaking(refused)
    payload = api.refused(SOUMETTRE, refused, 20131)
    assert payload["libelle"].startswith(f"REJ_CONT_B2G - BR-FR-CPRO-{rule} : ")
    taken = invoice_body(f"B2G-{case[:10]}")
    passing(taken)
    api.ok(SOUMETTRE, taken)


def _set(path: str, value: str) -> Callable[[Any], None]:
    def change(root: Any) -> None:
        (element,) = root.xpath(path, namespaces=NS)
        element.text = value

    return change


def _frame(value: str) -> Callable[[Any], None]:
    return _set(
        "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID",
        value,
    )


def _second_preceding(root: Any) -> None:
    (settlement,) = root.xpath(SETTLEMENT, namespaces=NS)
    (first,) = settlement.xpath("ram:InvoiceReferencedDocument", namespaces=NS)
    first.addnext(etree.fromstring(etree.tostring(first)))


def _keep(_root: Any) -> None:
    return None


SELLER = f"{AGREEMENT}/ram:SellerTradeParty"
#: CII: (rule, invoice, change that breaks it, change that keeps it within the limit).
FLUXES: dict[str, tuple[str, SampleInvoice, Callable[[Any], None], Callable[[Any], None]]] = {
    "seller-name": (
        "43",
        SampleInvoice(),
        _set(f"{SELLER}/ram:Name", "N" * 100),
        _set(f"{SELLER}/ram:Name", "N" * 99),
    ),
    "buyer-name": (
        "44",
        SampleInvoice(),
        _set(f"{AGREEMENT}/ram:BuyerTradeParty/ram:Name", "N" * 100),
        _set(f"{AGREEMENT}/ram:BuyerTradeParty/ram:Name", "N" * 99),
    ),
    "seller-street": (
        "32",
        SampleInvoice(),
        _set(f"{SELLER}/ram:PostalTradeAddress/ram:LineOne", "R" * 401),
        _set(f"{SELLER}/ram:PostalTradeAddress/ram:LineOne", "R" * 400),
    ),
    "seller-city": (
        "33",
        SampleInvoice(),
        _set(f"{SELLER}/ram:PostalTradeAddress/ram:CityName", "V" * 401),
        _set(f"{SELLER}/ram:PostalTradeAddress/ram:CityName", "V" * 400),
    ),
    "order": (
        "15",
        SampleInvoice(engagement="EJ-1"),
        _set(f"{AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID", "E" * 51),
        _set(f"{AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID", "E" * 50),
    ),
    "preceding-number": (
        "02",
        SampleInvoice(type_code="381", preceding_invoice="FX-0001"),
        _set(f"{SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID", "F" * 21),
        _set(f"{SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID", "F" * 20),
    ),
    "several-preceding": (
        "20",
        SampleInvoice(type_code="381", preceding_invoice="FX-0001"),
        _second_preceding,
        _keep,
    ),
    "item-name": (
        "31",
        SampleInvoice(),
        _set(
            "rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem[1]"
            "/ram:SpecifiedTradeProduct/ram:Name",
            "D" * 1025,
        ),
        _keep,
    ),
    "iban": (
        "39",
        SampleInvoice(),
        _set(
            f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
            "/ram:PayeePartyCreditorFinancialAccount/ram:IBANID",
            "MT84MALT011000012345MTLCAST001S",
        ),
        _keep,
    ),
    "billing-frame": ("24", SampleInvoice(), _frame("S5"), _frame("S3")),
}


def _settle(api: Api, xml: bytes, name: str) -> dict[str, Any]:
    numero = api.ok(
        DEPOSER_FLUX,
        {"fichierFlux": b64(xml), "nomFichier": name, "syntaxeFlux": CII, "avecSignature": False},
    )["numeroFluxDepot"]
    api.ok(CONSULTER_CR_DETAILLE, {"numeroFluxDepot": numero})  # the first poll: pending
    report: dict[str, Any] = api.ok(CONSULTER_CR_DETAILLE, {"numeroFluxDepot": numero})
    return report


def _edited(invoice: SampleInvoice, change: Callable[[Any], None]) -> bytes:
    root = etree.fromstring(cii_xml(invoice))
    change(root)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


@pytest.mark.parametrize("case", sorted(FLUXES))
def test_a_cii_flux_breaking_a_public_sector_rule_is_refused_with_rej_cont_b2g(
    api: Api, case: str
) -> None:
    rule, invoice, breaking, passing = FLUXES[case]
    refused = _settle(api, _edited(invoice, breaking), "refused.xml")
    assert refused["etatCourantDepotFlux"] == "IN_REJETE", refused
    (error,) = refused["listeErreurDP"]
    assert error["libelleErreurDP"].startswith(f"REJ_CONT_B2G - BR-FR-CPRO-{rule} : "), error
    taken = _settle(api, _edited(replace(invoice, number="B2G-OK"), passing), "taken.xml")
    assert taken["etatCourantDepotFlux"] == "IN_INTEGRE", taken
