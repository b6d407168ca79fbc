"""`deposer/flux` and the flux reports: asynchronous states, what an accepted flux creates, and
the checks Chorus Pro applies to UBL, CII and Factur-X files (XSD, content rules, routing, totals
against the PDF). Factur-X fixtures are real: drafthorse CII embedded by factur-x in an fpdf2 PDF.
"""

from __future__ import annotations

import base64
import io
import re
import tarfile
import zipfile
from decimal import Decimal
from typing import Any

import pytest

from chorus_pro.simulator import SimulatorHandle, codes
from chorus_pro.simulator.flux import shows_amount
from chorus_pro.simulator.seed import (
    ANTIGONE,
    ARTENREEL,
    BUYER_ENGAGEMENT_REQUIRED,
    BUYER_INACTIVE,
    BUYER_NO_REQUIREMENT,
    SCHILTIGHEIM,
)
from tests.simulator.facturx_samples import (
    SampleInvoice,
    cii_xml,
    embed,
    facturx_pdf,
    french,
    plain_pdf,
)
from tests.simulator.helpers import (
    CONSULTER_CR,
    CONSULTER_CR_DETAILLE,
    DEPOSER_FLUX,
    SOUMETTRE,
    Api,
    b64,
    invoice_body,
)

PENDING = "IN_DEPOT_PORTAIL_EN_ATTENTE_TRAITEMENT_SE_CPP"
FACTURX = "IN_DP_E2_CII_FACTURX"
CII_16B = "IN_DP_E1_CII_16B"
PAYMENT_MEANS_MESSAGE = (
    "L'element FichierXml.SupplyChainTradeTransaction.ApplicableHeaderTradeSettlement."
    "SpecifiedTradeSettlementPaymentMeans.TypeCode.value est obligatoire"
)
UNKNOWN_SUPPLIER_MESSAGE = (
    "L'identifiant fournisseur de la demande de paiement (balise : "
    "AccountingSupplierParty.Party.PartyIdentification.ID.value) n'est pas reference dans notre "
    "systeme."
)
XSD_LIBELLE = re.compile(
    r"^IRRECEVABILITE: cvc-[a-z-]+(\.[0-9a-z]+)*: .+ - ligne: \d+ - position: \d+$"
)


def ubl(
    numero: str,
    *,
    seller: str = ANTIGONE.siret,
    buyer: str = BUYER_NO_REQUIREMENT.siret,
    buyer_reference: str | None = None,
    order: str | None = None,
) -> bytes:
    reference = (
        f"<cbc:BuyerReference>{buyer_reference}</cbc:BuyerReference>" if buyer_reference else ""
    )
    order_ref = (
        f"<cac:OrderReference><cbc:ID>{order}</cbc:ID></cac:OrderReference>" if order else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
 <cbc:ID>{numero}</cbc:ID>
 <cbc:IssueDate>2025-11-05</cbc:IssueDate>
 <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
 {reference}{order_ref}
 <cac:AccountingSupplierParty><cac:Party>
  <cac:PartyIdentification><cbc:ID schemeID="0009">{seller}</cbc:ID></cac:PartyIdentification>
 </cac:Party></cac:AccountingSupplierParty>
 <cac:AccountingCustomerParty><cac:Party>
  <cac:PartyIdentification><cbc:ID schemeID="0009">{buyer}</cbc:ID></cac:PartyIdentification>
 </cac:Party></cac:AccountingCustomerParty>
 <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">20.00</cbc:TaxAmount></cac:TaxTotal>
 <cac:LegalMonetaryTotal>
  <cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount>
  <cbc:TaxInclusiveAmount currencyID="EUR">120.00</cbc:TaxInclusiveAmount>
  <cbc:PayableAmount currencyID="EUR">120.00</cbc:PayableAmount>
 </cac:LegalMonetaryTotal>
</Invoice>""".encode()


def deposit(
    api: Api, content: bytes, name: str = "flux.xml", syntaxe: str = "IN_DP_E1_UBL_INVOICE"
) -> str:
    payload = api.ok(
        DEPOSER_FLUX,
        {
            "fichierFlux": b64(content),
            "nomFichier": name,
            "syntaxeFlux": syntaxe,
            "avecSignature": False,
        },
    )
    assert payload["syntaxeFlux"] == syntaxe
    numero: str = payload["numeroFluxDepot"]
    return numero


def report(api: Api, numero: str) -> dict[str, Any]:
    return api.ok(CONSULTER_CR_DETAILLE, {"numeroFluxDepot": numero})


def settled(
    api: Api, content: bytes, name: str = "facture.pdf", syntaxe: str = FACTURX
) -> tuple[str, dict[str, Any]]:
    """Deposits, lets the flux settle (one pending poll), returns its number and final report."""
    numero = deposit(api, content, name=name, syntaxe=syntaxe)
    assert report(api, numero)["etatCourantDepotFlux"] == PENDING
    return numero, report(api, numero)


def refusal(api: Api, invoice: SampleInvoice, content: bytes | None = None) -> dict[str, Any]:
    """The single listeErreurDP entry of a rejected one-invoice Factur-X flux."""
    numero, final = settled(api, content if content is not None else facturx_pdf(invoice))
    assert final["etatCourantDepotFlux"] == "IN_REJETE", final
    assert final["listeErreurTechnique"] == []
    assert api.search_all(numeroFluxDepot=numero) == []
    (error,) = final["listeErreurDP"]
    assert error["numeroDP"] == invoice.number
    return dict(error)


def technical(api: Api, content: bytes, syntaxe: str = FACTURX) -> dict[str, Any]:
    """The single listeErreurTechnique entry of an inadmissible flux."""
    numero, final = settled(api, content, syntaxe=syntaxe)
    assert final["etatCourantDepotFlux"] == "IN_REJETE", final
    assert final["listeErreurDP"] == []
    assert api.search_all(numeroFluxDepot=numero) == []
    (error,) = final["listeErreurTechnique"]
    assert error["natureErreur"] == "IRRECEVABILITE"
    return dict(error)


def tar_gz(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_flux_is_pending_first_then_integrated(api: Api, simulator: SimulatorHandle) -> None:
    numero = deposit(api, ubl("UBL-0001"))

    assert numero.startswith("CPP") and len(numero) == 25 and numero[3:].isdigit()
    first = report(api, numero)
    second = report(api, numero)

    assert first["etatCourantDepotFlux"] == PENDING
    assert second["etatCourantDepotFlux"] == "IN_INTEGRE"
    assert second["nomFichier"] == f"FSO1110A_CPP001_{numero}"
    assert second["listeErreurDP"] == second["listeErreurTechnique"] == []
    (item,) = api.search_all(numeroFluxDepot=numero)
    assert item["numeroFacture"] == "UBL-0001"
    assert item["modeDepot"] == "EDI"
    assert item["codeDestinataire"] == BUYER_NO_REQUIREMENT.siret
    assert (item["montantHT"], item["montantTTC"]) == (100.0, 120.0)
    assert simulator.control.store()["submissions"][0]["numeroFacture"] == "UBL-0001"


def test_clock_advance_settles_pending_flux(api: Api, simulator: SimulatorHandle) -> None:
    numero = deposit(api, ubl("UBL-0002"))

    assert simulator.control.advance(minutes=10)["flux_settled"] == 1

    assert report(api, numero)["etatCourantDepotFlux"] == "IN_INTEGRE"


def test_number_of_pending_polls_is_configurable(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(flux_polls_before_result=0)
    numero = deposit(api, ubl("UBL-0003"))

    assert report(api, numero)["etatCourantDepotFlux"] == "IN_INTEGRE"


def test_archive_with_one_bad_invoice_is_partially_integrated(api: Api) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.xml", ubl("ZIP-0001"))
        archive.writestr("b.xml", ubl("ZIP-0002", buyer=BUYER_INACTIVE.siret))
    numero = deposit(api, buffer.getvalue(), name="lot.zip")
    report(api, numero)

    final = report(api, numero)

    assert final["etatCourantDepotFlux"] == "IN_INTEGRE_PARTIEL"
    (error,) = final["listeErreurDP"]
    assert error["numeroDP"] == "ZIP-0002"
    assert error["identifiantDestinataire"] == BUYER_INACTIVE.siret
    assert error["libelleErreurDP"]
    assert [i["numeroFacture"] for i in api.search_all(numeroFluxDepot=numero)] == ["ZIP-0001"]


def test_tar_gz_archive_with_two_invoices(api: Api) -> None:
    content = tar_gz(("1.xml", ubl("TGZ-1")), ("2.xml", ubl("TGZ-2")))
    numero = deposit(api, content, name="lot.tar.gz")
    report(api, numero)

    assert report(api, numero)["etatCourantDepotFlux"] == "IN_INTEGRE"
    assert [i["numeroFacture"] for i in api.search_all(numeroFluxDepot=numero)] == [
        "TGZ-1",
        "TGZ-2",
    ]


def test_unknown_supplier_siret_rejects_the_flux(api: Api) -> None:
    numero = deposit(api, ubl("UBL-X", seller="33254021516357"))
    report(api, numero)

    final = report(api, numero)

    assert final["etatCourantDepotFlux"] == "IN_REJETE"
    assert "n'est pas reference dans notre systeme" in final["listeErreurDP"][0]["libelleErreurDP"]


def test_invoice_number_over_twenty_characters_rejects_the_flux(api: Api) -> None:
    numero = deposit(api, ubl("N" * 21))
    report(api, numero)

    final = report(api, numero)

    assert final["etatCourantDepotFlux"] == "IN_REJETE"
    assert "ne doit pas depasser 20 caracteres" in final["listeErreurDP"][0]["libelleErreurDP"]


def test_duplicate_number_in_a_flux_is_refused(api: Api) -> None:
    api.submit("DUP-1")
    numero = deposit(api, ubl("DUP-1"))
    report(api, numero)

    assert report(api, numero)["etatCourantDepotFlux"] == "IN_REJETE"


def test_unreadable_file_is_rejected_with_a_technical_error(api: Api) -> None:
    numero = deposit(api, b"this is not an invoice")
    report(api, numero)

    final = report(api, numero)

    assert final["etatCourantDepotFlux"] == "IN_REJETE"
    assert final["listeErreurTechnique"][0]["libelleErreur"].startswith("IRRECEVABILITE")


def test_xml_that_is_no_invoice_is_rejected_by_the_schema_check(api: Api) -> None:
    """Before: an XML without a number integrated as one invoice with a generated number."""
    error = technical(
        api,
        b"<?xml version='1.0'?>\n<Facture><Montant>10</Montant></Facture>",
        syntaxe="IN_DP_E1_UBL_INVOICE",
    )

    assert error == {
        "codeErreur": "ERR_XSD_001",
        "libelleErreur": "IRRECEVABILITE: cvc-elt.1.a: Cannot find the declaration of element "
        "'Facture'. - ligne: 2 - position: 0",
        "natureErreur": "IRRECEVABILITE",
    }


def test_ubl_without_a_number_is_refused(api: Api) -> None:
    content = ubl("X").replace(b"<cbc:ID>X</cbc:ID>", b"")
    _, final = settled(api, content, name="f.xml", syntaxe="IN_DP_E1_UBL_INVOICE")

    assert final["etatCourantDepotFlux"] == "IN_REJETE"
    assert final["listeErreurDP"][0]["libelleErreurDP"] == codes.NUMBER_MISSING.libelle


def test_ubl_without_a_buyer_siret_is_refused(api: Api) -> None:
    """Before: a flux without a buyer went to the buyer that requires nothing."""
    content = ubl("UBL-NB", buyer="ABC")
    _, final = settled(api, content, name="f.xml", syntaxe="IN_DP_E1_UBL_INVOICE")

    assert final["etatCourantDepotFlux"] == "IN_REJETE"
    assert "AccountingCustomerParty" in final["listeErreurDP"][0]["libelleErreurDP"]


def test_rejection_can_be_forced(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(flux_outcome="IN_REJETE")
    numero = deposit(api, ubl("UBL-F"))
    report(api, numero)

    assert report(api, numero)["etatCourantDepotFlux"] == "IN_REJETE"
    assert api.search_all(numeroFluxDepot=numero) == []


def test_consulter_cr(api: Api) -> None:
    numero = deposit(api, ubl("UBL-CR"))

    answer = api.ok(CONSULTER_CR, {"numeroFluxDepot": numero})

    assert answer["numeroFluxDepot"] == numero
    assert answer["etatCourantFlux"] == PENDING
    assert answer["nomFichierFlux"] == "flux.xml"
    assert base64.b64decode(answer["fichierCR"]).startswith(b"%PDF")


def test_unknown_flux(api: Api) -> None:
    payload = api.refused(
        CONSULTER_CR_DETAILLE, {"numeroFluxDepot": "CPP0000000000000000000000"}, 20001
    )

    assert "POQ_MSG_01.003" in payload["libelle"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        pytest.param({"syntaxeFlux": "IN_DP_E3_FACTUR_X_10"}, 20002, id="invalid-syntax"),
        pytest.param({"nomFichier": "x" * 197 + ".xml"}, 20003, id="name-201"),
        pytest.param({"nomFichier": "sans-extension"}, 20003, id="name-without-extension"),
        pytest.param({"fichierFlux": "%%%"}, 20004, id="not-base64"),
        pytest.param({"fichierFlux": ""}, 20004, id="empty"),
    ],
)
def test_deposit_refusals(api: Api, change: dict[str, str], code: int) -> None:
    body = {
        "fichierFlux": b64(ubl("U-1")),
        "nomFichier": "flux.xml",
        "syntaxeFlux": "IN_DP_E1_UBL_INVOICE",
    }
    body.update(change)

    api.refused(DEPOSER_FLUX, body, code)


def test_too_large_flux(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(max_upload_bytes=100)
    body = {
        "fichierFlux": b64(ubl("U-1")),
        "nomFichier": "flux.xml",
        "syntaxeFlux": "IN_DP_E1_UBL_INVOICE",
    }

    payload = api.refused(DEPOSER_FLUX, body, 20001)

    assert payload["libelle"].startswith("GDP_MSG_11.022")


# --- CII and Factur-X ------------------------------------------------------------------------


def test_valid_en16931_facturx_integrates(api: Api, simulator: SimulatorHandle) -> None:
    invoice = SampleInvoice(number="FX-0001")

    numero, final = settled(api, facturx_pdf(invoice))

    assert final["etatCourantDepotFlux"] == "IN_INTEGRE"
    assert final["listeErreurDP"] == final["listeErreurTechnique"] == []
    (item,) = api.search_all(numeroFluxDepot=numero)
    assert item["numeroFacture"] == "FX-0001"
    assert item["numeroFluxDepot"] == numero
    assert item["modeDepot"] == "EDI"
    assert item["typeFacture"] == "FACTURE"
    assert item["codeFournisseur"] == ANTIGONE.siret
    assert item["codeDestinataire"] == SCHILTIGHEIM.siret
    assert item["codeServiceExecutant"] == "28E"
    assert item["dateFacture"] == "2026-11-05"
    assert (item["montantHT"], item["montantTTC"]) == (2412.0, 2694.21)
    assert item["statut"] == "DEPOSEE"
    store = simulator.control.store()
    assert [(s["numeroFacture"], s["count"]) for s in store["submissions"]] == [("FX-0001", 1)]
    (flux,) = store["flux"]
    assert (flux["numeroFluxDepot"], flux["etat"]) == (numero, "IN_INTEGRE")
    assert len(flux["invoice_ids"]) == 1

    simulator.control.advance(days=60)

    (later,) = api.search_all(numeroFluxDepot=numero)
    assert later["statut"] != "DEPOSEE"


def test_cii_xml_routes_to_the_buyer_reference(api: Api) -> None:
    invoice = SampleInvoice(number="CII-0001", engagement="EJ-77")

    numero, final = settled(api, cii_xml(invoice), name="f.xml", syntaxe=CII_16B)

    assert final["etatCourantDepotFlux"] == "IN_INTEGRE", final
    (item,) = api.search_all(numeroFluxDepot=numero)
    assert item["codeServiceExecutant"] == "28E"
    assert item["numeroBonCommande"] == "EJ-77"
    assert item["montantTTC"] == 2694.21


def test_siret_as_global_id_0009_is_accepted(api: Api) -> None:
    invoice = SampleInvoice(number="FX-GID", siret_global_id=True, legal_organization=False)

    _, final = settled(api, facturx_pdf(invoice))

    assert final["etatCourantDepotFlux"] == "IN_INTEGRE", final


def test_credit_note_integrates_as_avoir(api: Api) -> None:
    invoice = SampleInvoice(
        number="AV-0001",
        type_code="381",
        preceding_invoice="FX-0001",
        lines=SampleInvoice().lines[:2],
    )

    numero, final = settled(api, facturx_pdf(invoice))

    assert final["etatCourantDepotFlux"] == "IN_INTEGRE", final
    (item,) = api.search_all(numeroFluxDepot=numero)
    assert item["typeFacture"] == "AVOIR"
    assert item["numeroFactureOrigine"] == "FX-0001"
    assert item["montantTTC"] == float(invoice.grand_total)


def test_malformed_xml_in_a_facturx_is_rejected(api: Api) -> None:
    xml = cii_xml(SampleInvoice())

    error = technical(api, facturx_pdf(SampleInvoice(), xml=xml[:-40]))

    assert error["codeErreur"] == "ERR_XSD_001"
    assert re.fullmatch(r"IRRECEVABILITE: .+ - ligne: \d+ - position: \d+", error["libelleErreur"])


def test_malformed_cii_xml_is_rejected(api: Api) -> None:
    xml = cii_xml(SampleInvoice()).replace(b"</ram:ID>", b"", 1)

    error = technical(api, xml, syntaxe=CII_16B)

    assert error["codeErreur"] == "ERR_XSD_001"
    assert error["libelleErreur"].startswith("IRRECEVABILITE: Opening and ending tag mismatch")


def test_xml_invalid_against_the_xsd_is_rejected_as_chorus_words_it(api: Api) -> None:
    xml = cii_xml(SampleInvoice())
    line = xml[: xml.index(b"<ram:GrandTotalAmount>")].count(b"\n") + 1
    bad = xml.replace(b"<ram:GrandTotalAmount>2694.21", b"<ram:GrandTotalAmount>-1 324,60")

    error = technical(api, facturx_pdf(SampleInvoice(), xml=bad))

    assert error == {
        "codeErreur": "ERR_XSD_001",
        "libelleErreur": "IRRECEVABILITE: cvc-datatype-valid.1.2.1: Element 'ram:GrandTotalAmount': "
        f"'-1 324,60' is not a valid value of the atomic type 'xs:decimal'. - ligne: {line} - "
        "position: 0",
        "natureErreur": "IRRECEVABILITE",
    }


def test_unexpected_element_fails_the_xsd(api: Api) -> None:
    bad = cii_xml(SampleInvoice()).replace(
        b"<ram:BuyerReference>", b"<ram:Remarque>x</ram:Remarque><ram:BuyerReference>"
    )

    error = technical(api, bad, syntaxe=CII_16B)

    assert XSD_LIBELLE.match(error["libelleErreur"]), error
    assert error["libelleErreur"].startswith(
        "IRRECEVABILITE: cvc-complex-type.2.4.a: Element 'ram:Remarque': This element is not expected."
    )


def test_the_xsd_is_that_of_the_level_in_the_pdf_xmp(api: Api) -> None:
    """EN 16931 content declared MINIMUM in the XMP fails the MINIMUM XSD; EXTENDED accepts it."""
    invoice = SampleInvoice(number="FX-LVL")
    pdf = plain_pdf(f"Facture {invoice.number}", f"Total TTC : {french(invoice.grand_total)}")

    error = technical(api, embed(pdf, cii_xml(invoice), level="minimum"))
    _, final = settled(api, embed(pdf, cii_xml(invoice), level="extended"))

    assert error["codeErreur"] == "ERR_XSD_001"
    assert XSD_LIBELLE.match(error["libelleErreur"]), error
    assert final["etatCourantDepotFlux"] == "IN_INTEGRE", final


def test_pdf_without_embedded_xml_is_rejected(api: Api) -> None:
    """Before: a PDF without XML integrated as one invoice with a generated number."""
    error = technical(api, plain_pdf("Facture FX-0009", "Total TTC : 120,00 EUR"))

    assert error == {
        "codeErreur": "ERR_FACTURX_001",
        "libelleErreur": "IRRECEVABILITE: le PDF ne contient pas de fichier XML Factur-X "
        "(factur-x.xml) en pièce jointe.",
        "natureErreur": "IRRECEVABILITE",
    }


def test_corrupt_pdf_is_rejected(api: Api) -> None:
    pdf = facturx_pdf(SampleInvoice())

    error = technical(api, pdf[: len(pdf) // 3])

    assert error == {
        "codeErreur": "ERR_IRRECEVABLE",
        "libelleErreur": "IRRECEVABILITE: le fichier PDF est illisible.",
        "natureErreur": "IRRECEVABILITE",
    }


def test_xml_total_absent_from_the_pdf_text_is_refused(api: Api) -> None:
    invoice = SampleInvoice(number="FX-TXT")

    error = refusal(api, invoice, facturx_pdf(invoice, shown_total="2 649,21"))

    assert error == {
        "numeroDP": "FX-TXT",
        "identifiantFournisseur": ANTIGONE.siret,
        "identifiantDestinataire": SCHILTIGHEIM.siret,
        "libelleErreurDP": "Le montant TTC des données XML (GrandTotalAmount : 2 694,21) "
        "n'apparaît pas dans le PDF de la facture : les données structurées et le PDF ne "
        "concordent pas.",
    }


@pytest.mark.parametrize("shown", ["2694,21", "2694.21", "2 694,21", "2.694,21", "2,694.21"])
def test_pdf_total_may_be_spelt_the_french_or_the_plain_way(api: Api, shown: str) -> None:
    invoice = SampleInvoice(number="FX-SP")

    _, final = settled(api, facturx_pdf(invoice, shown_total=shown))

    assert final["etatCourantDepotFlux"] == "IN_INTEGRE", final


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Total TTC : 1\u202f234,56 €", True),
        ("Total\u00a0TTC\u00a0: 1\u00a0234,56\u00a0€", True),
        ("TTC 1234.56", True),
        ("TTC 11 234,56", False),
        ("TTC 234,56", False),
        ("TTC 1 234,567", False),
        ("TTC 1 234,5", False),
        ("HT 1 000,00 TVA 234,56", False),
    ],
)
def test_amount_matcher(text: str, shown: bool) -> None:
    assert shows_amount(text, Decimal("1234.56")) is shown


def test_grand_total_other_than_basis_plus_tax_is_refused(api: Api) -> None:
    invoice = SampleInvoice(number="FX-GT", grand_total_delta=Decimal("0.01"))

    error = refusal(api, invoice)

    assert error["libelleErreurDP"] == (
        "Le montant TTC (GrandTotalAmount : 2 694,22) est différent du montant HT "
        "(TaxBasisTotalAmount : 2 412,00) augmenté de la TVA (TaxTotalAmount : 282,21)."
    )


def test_tax_total_other_than_the_vat_breakdown_is_refused(api: Api) -> None:
    invoice = SampleInvoice(number="FX-TVA", tax_total_delta=Decimal("1.00"))

    error = refusal(api, invoice)

    assert error["libelleErreurDP"] == (
        "Le montant total de TVA (TaxTotalAmount : 283,21) est différent de la somme des "
        "montants de TVA du récapitulatif par taux (ApplicableTradeTax.CalculatedAmount : "
        "282,21)."
    )


def test_missing_payment_means_type_code_is_refused_with_chorus_message(api: Api) -> None:
    invoice = SampleInvoice(number="FX-PM", payment_means=False)

    assert refusal(api, invoice)["libelleErreurDP"] == PAYMENT_MEANS_MESSAGE


def test_invoice_number_over_twenty_characters_in_a_facturx(api: Api) -> None:
    invoice = SampleInvoice(number="F" * 21)

    assert refusal(api, invoice)["libelleErreurDP"] == (
        "Le champ identifiant de la facture (FichierXml.ExchangedDocument.ID.value) ne doit pas "
        "depasser 20 caracteres"
    )


def test_seller_identified_by_its_siren_only_is_refused(api: Api) -> None:
    invoice = SampleInvoice(number="FX-SIREN")
    xml = cii_xml(invoice).replace(
        f'schemeID="0002">{ANTIGONE.siret}'.encode(),
        f'schemeID="0002">{ANTIGONE.siret[:9]}'.encode(),
    )

    error = refusal(api, invoice, facturx_pdf(invoice, xml=xml))

    assert error["identifiantFournisseur"] == ANTIGONE.siret[:9]
    assert error["libelleErreurDP"] == (
        "L'element FichierXml.SupplyChainTradeTransaction.ApplicableHeaderTradeAgreement."
        "SellerTradeParty.SpecifiedLegalOrganization.ID.value (schemeID 0002) ou "
        "SellerTradeParty.GlobalID.value (schemeID 0009) doit contenir le SIRET du fournisseur "
        "sur 14 chiffres"
    )


def test_siret_under_another_scheme_is_refused(api: Api) -> None:
    error = refusal(api, SampleInvoice(number="FX-SCH", siret_scheme="0088"))

    assert error["libelleErreurDP"].startswith(
        "L'element FichierXml.SupplyChainTradeTransaction.ApplicableHeaderTradeAgreement."
        "SellerTradeParty.SpecifiedLegalOrganization.ID.value (schemeID 0002)"
    )


def test_buyer_identified_by_its_siren_only_is_refused(api: Api) -> None:
    invoice = SampleInvoice(number="FX-BSIREN")
    xml = cii_xml(invoice).replace(
        f'schemeID="0002">{SCHILTIGHEIM.siret}'.encode(),
        f'schemeID="0002">{SCHILTIGHEIM.siret[:9]}'.encode(),
    )

    error = refusal(api, invoice, facturx_pdf(invoice, xml=xml))

    assert error["identifiantDestinataire"] == SCHILTIGHEIM.siret[:9]
    assert error["libelleErreurDP"] == (
        "L'element FichierXml.SupplyChainTradeTransaction.ApplicableHeaderTradeAgreement."
        "BuyerTradeParty.SpecifiedLegalOrganization.ID.value (schemeID 0002) ou "
        "BuyerTradeParty.GlobalID.value (schemeID 0009) doit contenir le SIRET du destinataire "
        "sur 14 chiffres"
    )


def test_unknown_supplier_is_refused(api: Api) -> None:
    invoice = SampleInvoice(number="FX-UNK", seller_siret="33254021516357")

    error = refusal(api, invoice)

    assert error["libelleErreurDP"] == UNKNOWN_SUPPLIER_MESSAGE
    assert error["identifiantFournisseur"] == "33254021516357"


def test_supplier_not_attached_to_the_technical_account_is_refused(
    api: Api, simulator: SimulatorHandle
) -> None:
    simulator.control.set_config(attached_supplier_sirets=[ARTENREEL.siret])

    error = refusal(api, SampleInvoice(number="FX-NA"))

    assert error["libelleErreurDP"] == UNKNOWN_SUPPLIER_MESSAGE


def test_missing_service_code_is_refused_as_depot_pdf_api_refuses_it(api: Api) -> None:
    invoice = SampleInvoice(number="FX-SRV", service_code=None)
    upload = api.upload()
    soumettre = api.refused(
        SOUMETTRE,
        invoice_body(
            "PDF-SRV", siret=SCHILTIGHEIM.siret, mode="DEPOT_PDF_API", attachment_id=upload
        ),
        codes.SERVICE_REQUIRED.code,
    )

    error = refusal(api, invoice)

    assert error["libelleErreurDP"] == soumettre["libelle"] == codes.SERVICE_REQUIRED.libelle


def test_unknown_service_code_is_refused(api: Api) -> None:
    error = refusal(api, SampleInvoice(number="FX-SRV2", service_code="99Z"))

    assert error["libelleErreurDP"] == codes.SERVICE_UNKNOWN.libelle.format(
        code="99Z", siret=SCHILTIGHEIM.siret
    )


def test_inactive_buyer_is_refused(api: Api) -> None:
    invoice = SampleInvoice(number="FX-INA", buyer_siret=BUYER_INACTIVE.siret, service_code=None)

    error = refusal(api, invoice)

    assert error["identifiantDestinataire"] == BUYER_INACTIVE.siret
    assert error["libelleErreurDP"] == codes.RECIPIENT_INACTIVE.libelle.format(
        siret=BUYER_INACTIVE.siret
    )


def test_engagement_required_by_the_buyer(api: Api) -> None:
    buyer = BUYER_ENGAGEMENT_REQUIRED.siret
    without = SampleInvoice(number="FX-EJ1", buyer_siret=buyer, service_code=None)
    with_it = SampleInvoice(
        number="FX-EJ2", buyer_siret=buyer, service_code=None, engagement="EJ-1"
    )

    error = refusal(api, without)
    numero, final = settled(api, facturx_pdf(with_it))

    assert error["libelleErreurDP"] == codes.ENGAGEMENT_REQUIRED.libelle
    assert final["etatCourantDepotFlux"] == "IN_INTEGRE", final
    (item,) = api.search_all(numeroFluxDepot=numero)
    assert item["numeroBonCommande"] == "EJ-1"


def test_duplicate_number_is_refused(api: Api, simulator: SimulatorHandle) -> None:
    invoice = SampleInvoice(number="FX-DUP")
    _, first = settled(api, facturx_pdf(invoice))

    error = refusal(api, invoice)

    assert first["etatCourantDepotFlux"] == "IN_INTEGRE"
    assert error["libelleErreurDP"] == codes.NUMBER_DUPLICATE.libelle.format(numero="FX-DUP")
    submissions = simulator.control.store()["submissions"]
    assert [(s["numeroFacture"], s["count"]) for s in submissions] == [("FX-DUP", 1)]


def test_tar_gz_of_two_facturx_is_partially_integrated(
    api: Api, simulator: SimulatorHandle
) -> None:
    good = SampleInvoice(number="FX-TGZ-1")
    bad = SampleInvoice(number="FX-TGZ-2", payment_means=False)
    content = tar_gz(("1.pdf", facturx_pdf(good)), ("2.pdf", facturx_pdf(bad)))

    numero, final = settled(api, content, name="lot.tar.gz")

    assert final["etatCourantDepotFlux"] == "IN_INTEGRE_PARTIEL"
    assert final["listeErreurTechnique"] == []
    assert final["listeErreurDP"] == [
        {
            "numeroDP": "FX-TGZ-2",
            "identifiantFournisseur": ANTIGONE.siret,
            "identifiantDestinataire": SCHILTIGHEIM.siret,
            "libelleErreurDP": PAYMENT_MEANS_MESSAGE,
        }
    ]
    assert [i["numeroFacture"] for i in api.search_all(numeroFluxDepot=numero)] == ["FX-TGZ-1"]
    store = simulator.control.store()
    assert [(s["numeroFacture"], s["count"]) for s in store["submissions"]] == [("FX-TGZ-1", 1)]
    assert store["flux"][0]["etat"] == "IN_INTEGRE_PARTIEL"


def test_archive_with_an_inadmissible_member_is_rejected_whole(api: Api) -> None:
    content = tar_gz(
        ("1.pdf", facturx_pdf(SampleInvoice(number="FX-W1"))),
        ("2.pdf", plain_pdf("Facture FX-W2")),
    )

    error = technical(api, content)

    assert error["codeErreur"] == "ERR_FACTURX_001"


@pytest.mark.parametrize(
    ("syntaxe", "facturx"),
    [
        pytest.param("IN_DP_E1_UBL_INVOICE", True, id="pdf-as-ubl"),
        pytest.param(CII_16B, True, id="pdf-as-cii"),
        pytest.param(FACTURX, False, id="xml-as-facturx"),
    ],
)
def test_file_must_match_its_declared_syntax(api: Api, syntaxe: str, facturx: bool) -> None:
    invoice = SampleInvoice(number="FX-SYN")
    content = facturx_pdf(invoice) if facturx else cii_xml(invoice)

    error = technical(api, content, syntaxe=syntaxe)

    assert error["codeErreur"] == "ERR_IRRECEVABLE"
    assert syntaxe in error["libelleErreur"]


def test_ubl_under_a_cii_syntax_is_rejected(api: Api) -> None:
    error = technical(api, ubl("UBL-SYN"), syntaxe=CII_16B)

    assert error["codeErreur"] == "ERR_IRRECEVABLE"
