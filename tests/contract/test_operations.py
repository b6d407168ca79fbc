"""Every client method against the simulator: paths, field names, parsing and pagination."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest

from chorus_pro.client import ChorusProClient
from chorus_pro.errors import BusinessError, TooLargeError
from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import (
    ANTIGONE,
    ARTENREEL,
    BUYER_ENGAGEMENT_REQUIRED,
    BUYER_NO_REQUIREMENT,
    BUYER_SERVICE_OR_ENGAGEMENT,
    SCHILTIGHEIM,
)
from schemas.payloads import (
    CompleteInvoiceRequest,
    Destinataire,
    InvoiceSearchCriteria,
    LignePoste,
    LigneTva,
    MontantTotal,
    PieceJointeComplementaire,
    RecycleInvoiceRequest,
    SubmitInvoiceRequest,
    SyntaxeFlux,
    parse_chorus_datetime,
)
from tests.contract.conftest import pdf_bytes, pdf_invoice
from tests.simulator.facturx_samples import SampleInvoice, cii_xml, facturx_pdf

SELLER = ANTIGONE.siret
BUYER = BUYER_NO_REQUIREMENT.siret


def requests_to(simulator: SimulatorHandle, path: str) -> int:
    count: int = simulator.control.stats()["requests"].get(path, 0)
    return count


def manual_invoices(simulator: SimulatorHandle, count: int, prefix: str = "M") -> None:
    for n in range(count):
        simulator.control.manual_invoice(
            idFournisseur=ANTIGONE.id,
            numeroFacture=f"{prefix}-{n:03d}",
            codeDestinataire=BUYER,
            montantHtTotal=100.0,
            montantTVA=20.0,
        )


# --- transverses -------------------------------------------------------------------------------


def test_health_check(client: ChorusProClient) -> None:
    assert client.health_check().statusCodeValue == 200


def test_supplier_structures_and_bank_accounts(client: ChorusProClient) -> None:
    structures = client.supplier_structures()
    assert [(s.idStructureCPP, s.identifiant) for s in structures] == [
        (ANTIGONE.id, ANTIGONE.siret),
        (ARTENREEL.id, ARTENREEL.siret),
    ]
    accounts = client.bank_accounts(ANTIGONE.id)
    assert [a.idCoordonneeBancaire for a in accounts] == [b.id for b in ANTIGONE.bank_accounts]


def test_upload_file_stores_the_exact_bytes(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    content = pdf_bytes("upload") + bytes(range(256))
    attachment = client.upload_file("F-2026-0001.pdf", content, "application/pdf")
    (item,) = simulator.control.store()["uploads"]["items"]
    assert item["pieceJointeId"] == attachment
    assert item["pieceJointeNom"] == "F-2026-0001.pdf"
    assert item["sha256"] == hashlib.sha256(content).hexdigest()


# --- factures: deposit -------------------------------------------------------------------------


def test_submit_pdf_invoice_then_find_it_by_number(client: ChorusProClient) -> None:
    response = client.submit_invoice(pdf_invoice(client, "F-2026-0042"))
    assert response.statutFacture == "DEPOSEE"
    assert response.numeroFacture == "F-2026-0042"
    assert isinstance(response.dateDepot, date)

    found = client.find_invoice_by_number(ANTIGONE.id, "F-2026-0042")
    assert found is not None
    assert found.identifiantFactureCPP == response.identifiantFactureCPP
    assert found.statut == "DEPOSEE"
    assert found.montantTTC == Decimal("120")
    assert client.find_invoice_by_number(ANTIGONE.id, "F-2026-0043") is None
    assert client.find_invoice_by_number(ARTENREEL.id, "F-2026-0042") is None


def test_submit_saisie_api_with_lines(client: ChorusProClient) -> None:
    request = SubmitInvoiceRequest(
        modeDepot="SAISIE_API",
        numeroFactureSaisi="S-2026-0001",
        dateFacture=date(2026, 11, 2),
        destinataire=Destinataire(codeDestinataire=SCHILTIGHEIM.siret, codeServiceExecutant="12C"),
        fournisseur={"idFournisseur": ANTIGONE.id, "idServiceFournisseur": ANTIGONE.services[0].id},
        lignePoste=[
            LignePoste(
                lignePosteNumero=1,
                lignePosteDenomination="Atelier théâtre",
                lignePosteQuantite=Decimal(3),
                lignePosteUnite="heure",
                lignePosteMontantUnitaireHT=Decimal("33.33"),
                lignePosteTauxTva="TVA20",
            )
        ],
        ligneTva=[
            LigneTva(
                ligneTvaMontantBaseHtParTaux=Decimal("99.99"),
                ligneTvaMontantTvaParTaux=Decimal("20.00"),
                ligneTvaTaux="TVA20",
            )
        ],
        montantTotal=MontantTotal(
            montantHtTotal=Decimal("99.99"),
            montantTVA=Decimal("20.00"),
            montantTtcTotal=Decimal("119.99"),
            montantAPayer=Decimal("119.99"),
        ),
    )
    response = client.submit_invoice(request)
    detail = client.get_invoice(response.identifiantFactureCPP)
    assert detail.numeroFacture == "S-2026-0001"
    assert detail.destinataire is not None
    assert detail.destinataire["codeServiceExecutant"] == "12C"
    assert detail.montantTotal is not None
    assert Decimal(str(detail.montantTotal["montantTtcTotal"])) == Decimal("119.99")


UBL = f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>{{number}}</cbc:ID>
  <cbc:IssueDate>2026-11-20</cbc:IssueDate>
  <cac:AccountingSupplierParty><cac:Party><cac:PartyIdentification>
    <cbc:ID schemeID="0009">{SELLER}</cbc:ID></cac:PartyIdentification></cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party><cac:PartyIdentification>
    <cbc:ID schemeID="0009">{BUYER}</cbc:ID></cac:PartyIdentification></cac:Party></cac:AccountingCustomerParty>
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">20.00</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">120.00</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">120.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
</Invoice>
"""


def flux_file(syntaxe: SyntaxeFlux, number: str) -> tuple[str, bytes]:
    """A UBL, an EN 16931 CII, or a Factur-X PDF (drafthorse + factur-x) the simulator accepts."""
    if syntaxe is SyntaxeFlux.IN_DP_E1_UBL_INVOICE:
        return f"{number}.xml", UBL.format(number=number).encode()
    invoice = SampleInvoice(
        number=number, buyer_siret=BUYER, buyer_name="Commune", service_code=None
    )
    if syntaxe is SyntaxeFlux.IN_DP_E1_CII_16B:
        return f"{number}.xml", cii_xml(invoice)
    return f"{number}.pdf", facturx_pdf(invoice)


@pytest.mark.parametrize(
    "syntaxe",
    [
        SyntaxeFlux.IN_DP_E2_CII_FACTURX,
        SyntaxeFlux.IN_DP_E1_UBL_INVOICE,
        SyntaxeFlux.IN_DP_E1_CII_16B,
    ],
)
def test_deposit_flux_then_follow_its_report(client: ChorusProClient, syntaxe: SyntaxeFlux) -> None:
    name, content = flux_file(syntaxe, "FX-2026-0001")
    deposit = client.deposit_flux(name, content, syntaxe)
    assert deposit.numeroFluxDepot.startswith("CPP")
    assert len(deposit.numeroFluxDepot) == 25
    assert deposit.syntaxeFlux == syntaxe.value

    first = client.flux_report(deposit.numeroFluxDepot)
    assert first.etatCourantDepotFlux == "IN_DEPOT_PORTAIL_EN_ATTENTE_TRAITEMENT_SE_CPP"
    settled = client.flux_report(deposit.numeroFluxDepot)
    assert settled.etatCourantDepotFlux == "IN_INTEGRE", settled.listeErreurDP
    assert settled.dateHeureEtatCourantFlux is not None
    assert settled.dateHeureEtatCourantFlux.tzinfo is not None

    criteria = InvoiceSearchCriteria(numeroFluxDepot=deposit.numeroFluxDepot)
    (invoice,) = client.iter_invoices(criteria)
    assert invoice.numeroFacture == "FX-2026-0001"
    assert invoice.numeroFluxDepot == deposit.numeroFluxDepot


def test_flux_report_lists_refused_invoices(client: ChorusProClient) -> None:
    content = UBL.format(number="FX-2026-0002").replace(SELLER, "99999999999999").encode()
    deposit = client.deposit_flux("bad.xml", content, SyntaxeFlux.IN_DP_E1_UBL_INVOICE)
    client.flux_report(deposit.numeroFluxDepot)
    report = client.flux_report(deposit.numeroFluxDepot)
    assert report.etatCourantDepotFlux == "IN_REJETE"
    (error,) = report.listeErreurDP
    assert error.numeroDP == "FX-2026-0002"
    assert error.libelleErreurDP is not None
    assert "n'est pas reference" in error.libelleErreurDP


def test_unknown_flux_is_a_business_error(client: ChorusProClient) -> None:
    with pytest.raises(BusinessError) as caught:
        client.flux_report("CPP0000000000000000000000")
    assert caught.value.code_retour == 20001


# --- factures: search and pagination -----------------------------------------------------------


def test_search_pages_and_iter_reads_them_all(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    manual_invoices(simulator, 25)
    criteria = InvoiceSearchCriteria(idFournisseur=ANTIGONE.id)

    third = client.search_invoices(criteria, page=3, page_size=10)
    assert third.parametresRetour.pageCourante == 3
    assert third.parametresRetour.pages == 3
    assert third.parametresRetour.total == 25
    assert len(third.listeFactures) == 5

    simulator.control.reset_stats()
    numbers = [invoice.numeroFacture for invoice in client.iter_invoices(criteria, page_size=10)]
    assert numbers == [f"M-{n:03d}" for n in range(25)]
    assert requests_to(simulator, "/cpro/factures/v1/rechercher/fournisseur") == 3


def test_search_by_status_change_window(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    before = parse_chorus_datetime(simulator.control.clock()["now"])
    simulator.control.advance(minutes=5)
    manual_invoices(simulator, 3)

    def numbers(**window: datetime) -> list[str | None]:
        criteria = InvoiceSearchCriteria(idFournisseur=ANTIGONE.id, **window)
        return [i.numeroFacture for i in client.iter_invoices(criteria)]

    assert numbers(periodeDateHeureEtatCourantDu=before) == ["M-000", "M-001", "M-002"]
    assert numbers(periodeDateHeureEtatCourantAu=before) == []


def test_find_by_number_reads_past_the_first_page(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    manual_invoices(simulator, 3, prefix="P")
    found = client.find_invoice_by_number(ANTIGONE.id, "P-002")
    assert found is not None
    assert found.numeroFacture == "P-002"


# --- factures: one invoice ---------------------------------------------------------------------


def test_history_reads_every_page(client: ChorusProClient, simulator: SimulatorHandle) -> None:
    invoice = simulator.control.manual_invoice(
        idFournisseur=ANTIGONE.id,
        numeroFacture="H-001",
        codeDestinataire=BUYER,
        montantHtTotal=100.0,
        montantTVA=20.0,
        outcome="paid",
    )
    simulator.control.advance(days=90)
    invoice_id = invoice["identifiantFactureCPP"]

    whole = client.get_history(invoice_id, page_size=100)
    codes = [s.histoStatutCode for s in whole.historiquesDesStatuts.histoStatut]
    assert len(codes) >= 3
    assert codes[0] in ("DEPOSEE", "EN_COURS_ACHEMINEMENT")
    assert whole.statutCourantCode == codes[-1] == "MISE_EN_PAIEMENT"

    simulator.control.reset_stats()
    paged = client.get_history(invoice_id, page_size=1)
    assert [s.histoStatutCode for s in paged.historiquesDesStatuts.histoStatut] == codes
    assert requests_to(simulator, "/cpro/factures/v1/consulter/historique") == len(codes)
    assert all(
        s.histoStatutDatePassage is not None for s in paged.historiquesDesStatuts.histoStatut
    )


def test_get_invoice(client: ChorusProClient) -> None:
    response = client.submit_invoice(pdf_invoice(client, "G-001", engagement="EJ-77"))
    detail = client.get_invoice(response.identifiantFactureCPP)
    assert detail.identifiantFactureCPP == response.identifiantFactureCPP
    assert detail.statutFacture == "DEPOSEE"
    assert detail.references is not None
    assert detail.references["numeroBonCommande"] == "EJ-77"


def test_get_unknown_invoice_is_a_business_error(client: ChorusProClient) -> None:
    with pytest.raises(BusinessError) as caught:
        client.get_invoice(1)
    assert caught.value.code_retour == 20000


def test_complete_a_suspended_invoice(client: ChorusProClient, simulator: SimulatorHandle) -> None:
    invoice_id = client.submit_invoice(pdf_invoice(client, "C-001")).identifiantFactureCPP
    simulator.control.set_status(invoice_id, "SUSPENDUE", "Bon de livraison manquant")
    suspended = client.find_invoice_by_number(ANTIGONE.id, "C-001")
    assert suspended is not None
    assert suspended.commentaireEtatCourant == "Bon de livraison manquant"

    delivery_note = client.upload_file("BL-C-001.pdf", pdf_bytes("BL"))
    response = client.complete_invoice(
        CompleteInvoiceRequest(
            identifiantFactureCPP=invoice_id,
            commentaire="Bon de livraison joint",
            pieceJointeComplementaire=[
                PieceJointeComplementaire(
                    pieceJointeComplementaireDesignation="Bon de livraison",
                    pieceJointeComplementaireId=delivery_note,
                )
            ],
        )
    )
    assert response.numeroFacture == "C-001"
    assert client.get_history(invoice_id).statutCourantCode == "COMPLETEE"

    with pytest.raises(BusinessError) as caught:
        client.complete_invoice(CompleteInvoiceRequest(identifiantFactureCPP=invoice_id))
    assert caught.value.code_retour == 20002


def test_recycle_an_invoice_to_another_service(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    invoice_id = client.submit_invoice(
        pdf_invoice(client, "R-001", siret=SCHILTIGHEIM.siret, service="12C")
    ).identifiantFactureCPP
    simulator.control.set_status(invoice_id, "A_RECYCLER", "Mauvais service")
    response = client.recycle_invoice(
        RecycleInvoiceRequest(
            identifiantFactureCPP=invoice_id,
            destinataire=Destinataire(
                codeDestinataire=SCHILTIGHEIM.siret, codeServiceExecutant="28E"
            ),
            commentaire="Service corrigé",
        )
    )
    assert response.statutFacture == "DEPOSEE"  # routed again, as AIFE's example answers
    detail = client.get_invoice(invoice_id)
    assert detail.destinataire is not None
    assert detail.destinataire["codeServiceExecutant"] == "28E"


def test_download_the_documents_as_deposited(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    invoice_id = client.submit_invoice(pdf_invoice(client, "D-001")).identifiantFactureCPP

    archive = client.download_invoices([invoice_id])

    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert {n: opened.read(n) for n in opened.namelist()} == {
            f"D-001_{invoice_id}/D-001.pdf": pdf_bytes("D-001")
        }
    simulator.control.set_config(max_download_bytes=10)
    with pytest.raises(TooLargeError) as caught:
        client.download_invoices([invoice_id], attachments=False)
    assert caught.value.status_code == 413
    assert "120 MB per download" in str(caught.value)


def test_handle_a_rejection(client: ChorusProClient, simulator: SimulatorHandle) -> None:
    invoice_id = client.submit_invoice(pdf_invoice(client, "J-001")).identifiantFactureCPP
    simulator.control.set_status(invoice_id, "REJETEE", "Montant erroné")
    assert client.handle_rejection([invoice_id], motif="Avoir émis").codeRetour == 0
    rejected = client.find_invoice_by_number(ANTIGONE.id, "J-001")
    assert rejected is not None
    assert rejected.statut == "REJETEE"
    assert rejected.rejetTraite is True


# --- structures --------------------------------------------------------------------------------


def test_search_and_consult_structures(client: ChorusProClient) -> None:
    (summary,) = client.search_structures(SCHILTIGHEIM.siret)
    assert summary.idStructureCPP == SCHILTIGHEIM.id
    assert summary.statut == "ACTIVE"
    assert client.get_structure(SCHILTIGHEIM.id).parametres.codeServiceDoitEtreRenseigne
    assert client.get_structure(BUYER_ENGAGEMENT_REQUIRED.id).parametres.numeroEJDoitEtreRenseigne
    assert client.get_structure(
        BUYER_SERVICE_OR_ENGAGEMENT.id
    ).parametres.gestionNumeroEJOuCodeService
    assert client.search_structures("00000000000000") == []


def test_list_services_reads_every_page(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    simulator.control.reset_stats()
    services = client.list_services(SCHILTIGHEIM.id, page_size=2)
    assert [s.codeService for s in services] == [s.code for s in SCHILTIGHEIM.services]
    assert [s.estActif for s in services] == [s.active for s in SCHILTIGHEIM.services]
    assert requests_to(simulator, "/cpro/structures/v1/rechercher/services") == 3


def test_get_service_tells_whether_an_engagement_is_required(client: ChorusProClient) -> None:
    sports = SCHILTIGHEIM.service_by_code("31S")
    culture = SCHILTIGHEIM.service_by_code("12C")
    assert sports is not None and culture is not None
    assert client.get_service(SCHILTIGHEIM.id, sports.id).requires_engagement
    detail = client.get_service(SCHILTIGHEIM.id, culture.id)
    assert not detail.requires_engagement
    assert detail.informationsGenerales["codeService"] == "12C"
