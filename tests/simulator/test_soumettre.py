"""`soumettre`: the success answer and every business rule with its own codeRetour."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import (
    ANTIGONE,
    ARTENREEL,
    BUYER_BOTH_REQUIRED,
    BUYER_ENGAGEMENT_REQUIRED,
    BUYER_HOSPITAL,
    BUYER_INACTIVE,
    BUYER_NO_REQUIREMENT,
    BUYER_SERVICE_OR_ENGAGEMENT,
    BUYER_STATE,
    SCHILTIGHEIM,
)
from tests.simulator.helpers import SOUMETTRE, Api, invoice_body

Body = dict[str, Any]


def _with(change: Callable[[Body], None], **options: Any) -> Body:
    body = invoice_body("F-RULE-1", **options)
    change(body)
    return body


def _nothing(body: Body) -> None:
    return None


def test_success_answer(api: Api, simulator: SimulatorHandle) -> None:
    payload = api.ok(SOUMETTRE, invoice_body("F-2025-0042"))

    assert payload["numeroFacture"] == "F-2025-0042"
    assert payload["statutFacture"] == "DEPOSEE"
    assert payload["dateDepot"] == simulator.control.clock()["today"]
    assert payload["identifiantStructure"] == BUYER_NO_REQUIREMENT.siret
    assert re.fullmatch(r"[0-9a-f]{64}", payload["empreinteCertificatDepot"])
    assert isinstance(payload["identifiantFactureCPP"], int)


def test_ids_increase(api: Api) -> None:
    ids = [api.submit(f"F-{n}")["identifiantFactureCPP"] for n in range(3)]

    assert ids == sorted(ids)
    assert len(set(ids)) == 3


@pytest.mark.parametrize(
    ("options", "change", "code"),
    [
        pytest.param({"siret": "21679001400099"}, _nothing, 20101, id="unknown-recipient"),
        pytest.param({"siret": ANTIGONE.siret}, _nothing, 20101, id="private-recipient"),
        pytest.param({"siret": BUYER_INACTIVE.siret}, _nothing, 20102, id="inactive-recipient"),
        pytest.param({"siret": SCHILTIGHEIM.siret}, _nothing, 20103, id="service-required"),
        pytest.param(
            {"siret": BUYER_BOTH_REQUIRED.siret, "engagement": "EJ-1"},
            _nothing,
            20103,
            id="both-required-missing-service",
        ),
        pytest.param(
            {"siret": SCHILTIGHEIM.siret, "service": "ZZZ"}, _nothing, 20104, id="unknown-service"
        ),
        pytest.param(
            {"siret": SCHILTIGHEIM.siret, "service": "07A"}, _nothing, 20105, id="inactive-service"
        ),
        pytest.param(
            {"siret": SCHILTIGHEIM.siret, "service": "FACTURES_PUBLIQUES"},
            _nothing,
            20106,
            id="factures-publiques",
        ),
        pytest.param(
            {"siret": BUYER_ENGAGEMENT_REQUIRED.siret}, _nothing, 20107, id="engagement-required"
        ),
        pytest.param(
            {"siret": BUYER_BOTH_REQUIRED.siret, "service": "DST"},
            _nothing,
            20107,
            id="both-required-missing-engagement",
        ),
        pytest.param(
            {"siret": SCHILTIGHEIM.siret, "service": "31S"},
            _nothing,
            20108,
            id="service-demands-engagement",
        ),
        pytest.param(
            {"siret": BUYER_HOSPITAL.siret, "service": "PHARMACIE"},
            _nothing,
            20108,
            id="hospital-service-demands-engagement",
        ),
        pytest.param(
            {"siret": BUYER_SERVICE_OR_ENGAGEMENT.siret},
            _nothing,
            20109,
            id="service-or-engagement",
        ),
        pytest.param({}, lambda b: b.update(numeroFactureSaisi=None), 20110, id="number-null"),
        pytest.param({}, lambda b: b.update(numeroFactureSaisi="  "), 20110, id="number-blank"),
        pytest.param({}, lambda b: b.pop("numeroFactureSaisi"), 20110, id="number-absent"),
        pytest.param({}, lambda b: b.update(numeroFactureSaisi="F" * 21), 20111, id="number-21"),
        pytest.param({}, lambda b: b.update(numeroFactureSaisi="F#1"), 20112, id="number-hash"),
        pytest.param({}, lambda b: b.update(numeroFactureSaisi="F.1"), 20112, id="number-dot"),
        pytest.param({}, lambda b: b.update(numeroFactureSaisi="FÉ-1"), 20112, id="number-accent"),
        pytest.param(
            {},
            lambda b: b["ligneTva"][0].update(ligneTvaMontantBaseHtParTaux=400.0),
            20114,
            id="vat-recap-base",
        ),
        pytest.param(
            {},
            lambda b: b["ligneTva"][0].update(ligneTvaMontantTvaParTaux=99.0),
            20114,
            id="vat-recap-tax",
        ),
        pytest.param({"ttc": 600.02}, _nothing, 20115, id="ttc-not-ht-plus-tva"),
        pytest.param(
            {}, lambda b: b["fournisseur"].update(idFournisseur=999), 20116, id="unknown-supplier"
        ),
        pytest.param(
            {"supplier_service": ARTENREEL.services[0].id},
            _nothing,
            20118,
            id="service-of-another-supplier",
        ),
        pytest.param(
            {"supplier_service": ANTIGONE.service_by_code("ANT-E099").id},  # type: ignore[union-attr]
            _nothing,
            20119,
            id="inactive-supplier-service",
        ),
        pytest.param(
            {"bank": ARTENREEL.bank_accounts[0].id}, _nothing, 20120, id="bank-of-another-supplier"
        ),
        pytest.param(
            {"mode": "DEPOT_PDF_API", "attachment_id": 1}, _nothing, 20121, id="unknown-attachment"
        ),
        pytest.param({"mode": "DEPOT_PDF_API"}, _nothing, 20122, id="pdf-without-attachment"),
        pytest.param({}, lambda b: b.update(lignePoste=[]), 20123, id="no-lines"),
        pytest.param({"type_facture": "AVOIR"}, _nothing, 20124, id="credit-note-without-origin"),
        pytest.param({"engagement": "E" * 51}, _nothing, 20125, id="engagement-too-long"),
        pytest.param({}, lambda b: b.update(commentaire="c" * 2001), 20125, id="comment-too-long"),
        pytest.param(
            {},
            lambda b: b["lignePoste"][0].update(lignePosteTauxTva="TVA99"),
            20126,
            id="unknown-vat-code",
        ),
        pytest.param({"mode": "SAISIE_WEB"}, _nothing, 20127, id="mode-depot"),
        pytest.param(
            {},
            lambda b: b["cadreDeFacturation"].update(codeCadreFacturation="Z9_AUTRE"),
            20129,
            id="cadre",
        ),
        pytest.param({"type_facture": "NOTE"}, _nothing, 20130, id="type-facture"),
        pytest.param(
            {},
            lambda b: b["montantTotal"].update(montantHtTotal="500.00"),
            20901,
            id="amount-as-string",
        ),
        pytest.param({}, lambda b: b.pop("montantTotal"), 20901, id="no-totals"),
        pytest.param({}, lambda b: b.pop("destinataire"), 20901, id="no-recipient"),
        pytest.param({}, lambda b: b.update(dateFacture="05/11/2025"), 20901, id="bad-date"),
    ],
)
def test_business_rule(api: Api, options: Body, change: Callable[[Body], None], code: int) -> None:
    payload = api.refused(SOUMETTRE, _with(change, **options), code)

    assert payload.keys() == {"codeRetour", "libelle"}


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"siret": SCHILTIGHEIM.siret, "service": "28E"}, id="schiltigheim-28E"),
        pytest.param(
            {"siret": SCHILTIGHEIM.siret, "service": "31S", "engagement": "EJ-31"},
            id="service-with-engagement",
        ),
        pytest.param({"siret": BUYER_ENGAGEMENT_REQUIRED.siret, "engagement": "EJ-1"}, id="ej"),
        pytest.param(
            {"siret": BUYER_BOTH_REQUIRED.siret, "service": "DST", "engagement": "EJ-2"},
            id="both",
        ),
        pytest.param(
            {"siret": BUYER_SERVICE_OR_ENGAGEMENT.siret, "service": "ECOLES"}, id="either-service"
        ),
        pytest.param(
            {"siret": BUYER_SERVICE_OR_ENGAGEMENT.siret, "engagement": "EJ-3"}, id="either-ej"
        ),
        pytest.param({"siret": BUYER_STATE.siret, "service": "SFACETAT"}, id="state"),
        pytest.param({"siret": BUYER_NO_REQUIREMENT.siret, "service": "MAIRIE"}, id="optional"),
        pytest.param({"type_facture": "AVOIR", "origin": "F-2025-0001"}, id="credit-note"),
        pytest.param({"ttc": 600.01}, id="within-a-cent"),
        pytest.param({"date_facture": "2025-11-05"}, id="with-date"),
    ],
)
def test_accepted_combinations(api: Api, options: Body) -> None:
    api.submit("F-OK-1", **options)


def test_longest_number_with_every_allowed_character(api: Api) -> None:
    numero = "Ab 1-2+3_4/567890123"
    assert len(numero) == 20

    assert api.submit(numero)["numeroFacture"] == numero


def test_duplicate_number_is_refused_per_supplier(api: Api, simulator: SimulatorHandle) -> None:
    api.submit("F-DUP")
    api.refused(SOUMETTRE, invoice_body("F-DUP"), 20113)
    api.submit("F-DUP", supplier=ARTENREEL)

    store = simulator.control.store()
    submitted = {
        (s["supplier_siret"], s["numeroFacture"]): s["count"] for s in store["submissions"]
    }
    attempts = {(s["supplier_siret"], s["numeroFacture"]): s["count"] for s in store["attempts"]}
    assert submitted == {(ANTIGONE.siret, "F-DUP"): 1, (ARTENREEL.siret, "F-DUP"): 1}
    assert attempts[(ANTIGONE.siret, "F-DUP")] == 2


def test_duplicate_refused_even_after_a_rejection(api: Api, simulator: SimulatorHandle) -> None:
    invoice_id = api.submit("F-REJ")["identifiantFactureCPP"]
    simulator.control.set_status(invoice_id, "REJETEE", "Erreur de montant")

    api.refused(SOUMETTRE, invoice_body("F-REJ"), 20113)


def test_duplicate_check_can_be_switched_off(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(reject_duplicate_numbers=False)
    api.submit("F-TWICE")
    api.submit("F-TWICE")

    counts = simulator.control.store()["submissions"]
    assert counts == [{"supplier_siret": ANTIGONE.siret, "numeroFacture": "F-TWICE", "count": 2}]


def test_supplier_not_attached_to_the_technical_account(
    api: Api, simulator: SimulatorHandle
) -> None:
    simulator.control.set_config(attached_supplier_sirets=[ANTIGONE.siret])

    api.refused(SOUMETTRE, invoice_body("F-1", supplier=ARTENREEL), 20117)


def test_pdf_deposit_with_an_uploaded_file(api: Api, simulator: SimulatorHandle) -> None:
    upload_id = api.upload("F-PDF-1.pdf")

    payload = api.submit("F-PDF-1", mode="DEPOT_PDF_API", attachment_id=upload_id)
    detail = api.ok(
        "/cpro/factures/v1/consulter/fournisseur",
        {"identifiantFactureCPP": payload["identifiantFactureCPP"]},
    )["facture"]

    assert detail["modeDepot"] == "DEPOT_PDF_API"
    assert detail["listeDesPiecesJointes"]["pieceJointe"][0]["pieceJointeId"] == upload_id
    assert detail["listeDesPiecesJointes"]["pieceJointe"][0]["pieceJointeNom"] == "F-PDF-1.pdf"


def test_signed_pdf_mode_also_needs_the_main_attachment(api: Api) -> None:
    api.refused(SOUMETTRE, invoice_body("F-1", mode="DEPOT_PDF_SIGNE_API"), 20122)
    upload_id = api.upload()
    api.submit("F-1", mode="DEPOT_PDF_SIGNE_API", attachment_id=upload_id)


def test_main_attachment_must_be_an_array(api: Api) -> None:
    upload_id = api.upload()
    body = invoice_body("F-1", mode="DEPOT_PDF_API", attachment_id=upload_id)
    body["pieceJointePrincipale"] = body["pieceJointePrincipale"][0]

    api.refused(SOUMETTRE, body, 20901)


def test_business_errors_can_travel_as_http_200(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(business_errors_http=200)

    response = api.post(SOUMETTRE, invoice_body("F" * 21))

    assert response.status_code == 200
    assert response.json()["codeRetour"] == 20111


def test_refused_submissions_store_nothing(api: Api, simulator: SimulatorHandle) -> None:
    api.refused(SOUMETTRE, invoice_body("F-1", siret=SCHILTIGHEIM.siret), 20103)

    store = simulator.control.store()
    assert store["invoices"] == []
    assert store["submissions"] == []
    assert store["attempts"][0]["count"] == 1
