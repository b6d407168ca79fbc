"""`deposer/flux` and the flux reports: asynchronous states and what an accepted flux creates."""

from __future__ import annotations

import base64
import io
import tarfile
import zipfile
import zlib
from typing import Any

import pytest

from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import ANTIGONE, BUYER_INACTIVE, BUYER_NO_REQUIREMENT, SCHILTIGHEIM
from tests.simulator.helpers import CONSULTER_CR, CONSULTER_CR_DETAILLE, DEPOSER_FLUX, Api, b64

PENDING = "IN_DEPOT_PORTAIL_EN_ATTENTE_TRAITEMENT_SE_CPP"


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


def cii(
    numero: str,
    *,
    seller: str = ANTIGONE.siret,
    buyer: str = SCHILTIGHEIM.siret,
    buyer_reference: str = "28E",
) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocument>
  <ram:ID>{numero}</ram:ID><ram:TypeCode>380</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">20251105</udt:DateTimeString></ram:IssueDateTime>
 </rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:ApplicableHeaderTradeAgreement>
   <ram:BuyerReference>{buyer_reference}</ram:BuyerReference>
   <ram:SellerTradeParty><ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{seller}</ram:ID></ram:SpecifiedLegalOrganization></ram:SellerTradeParty>
   <ram:BuyerTradeParty><ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{buyer}</ram:ID></ram:SpecifiedLegalOrganization></ram:BuyerTradeParty>
  </ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeSettlement>
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    <ram:TaxBasisTotalAmount>250.00</ram:TaxBasisTotalAmount>
    <ram:TaxTotalAmount currencyID="EUR">50.00</ram:TaxTotalAmount>
    <ram:GrandTotalAmount>300.00</ram:GrandTotalAmount>
    <ram:DuePayableAmount>300.00</ram:DuePayableAmount>
   </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
  </ram:ApplicableHeaderTradeSettlement>
 </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>""".encode()


def facturx_pdf(xml: bytes) -> bytes:
    """A minimal PDF whose embedded file stream holds the CII, Flate-compressed as usual."""
    compressed = zlib.compress(xml)
    return (
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
        b"2 0 obj\n<< /Type /EmbeddedFile /Subtype /text#2Fxml /Filter /FlateDecode /Length "
        + str(len(compressed)).encode()
        + b" >>\nstream\n"
        + compressed
        + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


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


def test_cii_flux_routes_to_the_buyer_reference(api: Api) -> None:
    numero = deposit(api, cii("CII-0001"), syntaxe="IN_DP_E1_CII_16B")
    report(api, numero)
    report(api, numero)

    (item,) = api.search_all(numeroFluxDepot=numero)
    assert item["numeroFacture"] == "CII-0001"
    assert item["codeDestinataire"] == SCHILTIGHEIM.siret
    assert item["codeServiceExecutant"] == "28E"
    assert item["dateFacture"] == "2025-11-05"
    assert item["montantTTC"] == 300.0


def test_facturx_pdf_is_read_through_its_embedded_xml(api: Api) -> None:
    numero = deposit(
        api, facturx_pdf(cii("FX-0001")), name="facture.pdf", syntaxe="IN_DP_E2_CII_FACTURX"
    )
    report(api, numero)

    assert report(api, numero)["etatCourantDepotFlux"] == "IN_INTEGRE"
    assert [i["numeroFacture"] for i in api.search_all(numeroFluxDepot=numero)] == ["FX-0001"]


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
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in (("1.xml", ubl("TGZ-1")), ("2.xml", ubl("TGZ-2"))):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    numero = deposit(api, buffer.getvalue(), name="lot.tar.gz")
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


def test_xml_without_a_number_becomes_one_invoice_with_a_generated_number(api: Api) -> None:
    numero = deposit(api, b"<?xml version='1.0'?><Facture><Montant>10</Montant></Facture>")
    report(api, numero)

    assert report(api, numero)["etatCourantDepotFlux"] == "IN_INTEGRE"
    (item,) = api.search_all(numeroFluxDepot=numero)
    assert item["numeroFacture"] == f"FLX{numero[-12:]}"
    assert item["codeFournisseur"] == ANTIGONE.siret


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
