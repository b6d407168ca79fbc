"""`telecharger/groupe`: the documents as deposited come back byte for byte, in one archive."""

from __future__ import annotations

import base64
import io
import zipfile

from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import ANTIGONE, BUYER_NO_REQUIREMENT
from tests.simulator.helpers import COMPLETER, Api

TELECHARGER = "/cpro/factures/v1/telecharger/groupe"
PDF = b"%PDF-1.7 la facture telle que deposee"


def _deposit(api: Api, numero: str, *, attachment: bytes | None = None) -> int:
    pdf_id = api.upload(f"{numero}.pdf", PDF + numero.encode())
    body = {
        "modeDepot": "DEPOT_PDF_API",
        "numeroFactureSaisi": numero,
        "destinataire": {"codeDestinataire": BUYER_NO_REQUIREMENT.siret},
        "fournisseur": {"idFournisseur": ANTIGONE.id},
        "cadreDeFacturation": {"codeCadreFacturation": "A1_FACTURE_FOURNISSEUR"},
        "references": {
            "deviseFacture": "EUR",
            "typeFacture": "FACTURE",
            "typeTva": "TVA_SUR_DEBIT",
        },
        "pieceJointePrincipale": [
            {"pieceJointePrincipaleDesignation": "Facture", "pieceJointePrincipaleId": pdf_id}
        ],
        "ligneTva": [
            {
                "ligneTvaMontantBaseHtParTaux": 100,
                "ligneTvaMontantTvaParTaux": 20,
                "ligneTvaTauxManuel": 20,
            }
        ],
        "montantTotal": {"montantHtTotal": 100, "montantTVA": 20, "montantTtcTotal": 120},
    }
    if attachment is not None:
        attachment_id = api.upload("devis.pdf", attachment)
        body["pieceJointeComplementaire"] = [
            {
                "pieceJointeComplementaireDesignation": "Devis",
                "pieceJointeComplementaireId": attachment_id,
                "pieceJointeComplementaireType": "PIECE_JUSTIFICATIVE",
            }
        ]
    invoice_id: int = api.ok("/cpro/factures/v1/soumettre", body)["identifiantFactureCPP"]
    return invoice_id


def _members(answer: dict[str, object]) -> dict[str, bytes]:
    content = base64.b64decode(str(answer["fichierResultat"]))
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _download(
    api: Api, *ids: int, attachments: str = "OUI", form: str = "PDF"
) -> dict[str, object]:
    return api.ok(
        TELECHARGER,
        {
            "format": form,
            "avecPiecesJointesComplementaires": attachments,
            "listeFacture": [{"idFacture": i} for i in ids],
        },
    )


def test_documents_come_back_as_deposited_one_folder_per_invoice(api: Api) -> None:
    first = _deposit(api, "F-1", attachment=b"%PDF-1.7 devis")
    second = _deposit(api, "F/2")

    members = _members(_download(api, first, second))

    assert members == {
        f"F-1_{first}/F-1.pdf": PDF + b"F-1",
        f"F-1_{first}/1-devis.pdf": b"%PDF-1.7 devis",
        f"F_2_{second}/F_2.pdf": PDF + b"F/2",
    }
    assert _members(_download(api, first, second)) == members, "the same archive every time"


def test_attachments_only_when_asked_and_completer_adds_its_own(
    api: Api, simulator: SimulatorHandle
) -> None:
    simulator.control.set_config(lifecycle_outcome="suspended")
    invoice_id = _deposit(api, "F-SUSP")
    simulator.control.advance(days=20)
    added = api.upload("bon-de-livraison.pdf", b"%PDF-1.7 BL")
    api.ok(
        COMPLETER,
        {
            "identifiantFactureCPP": invoice_id,
            "pieceJointeComplementaire": [
                {"pieceJointeComplementaireDesignation": "BL", "pieceJointeComplementaireId": added}
            ],
        },
    )

    assert set(_members(_download(api, invoice_id, attachments="NON"))) == {
        f"F-SUSP_{invoice_id}/F-SUSP.pdf"
    }
    with_attachments = _members(_download(api, invoice_id))
    assert with_attachments[f"F-SUSP_{invoice_id}/1-bon-de-livraison.pdf"] == b"%PDF-1.7 BL"


def test_a_portal_invoice_gets_a_placeholder_pdf_and_xml_is_the_invoice(
    api: Api, simulator: SimulatorHandle
) -> None:
    manual = simulator.control.manual_invoice(
        supplier_siret=ANTIGONE.siret,
        numeroFacture="F-MAIN",
        codeDestinataire=BUYER_NO_REQUIREMENT.siret,
        montantHtTotal=100,
        montantTVA=20,
    )["identifiantFactureCPP"]

    (pdf,) = _members(_download(api, manual)).values()
    assert pdf.startswith(b"%PDF-1.4") and b"F-MAIN" in pdf
    (xml,) = _members(_download(api, manual, form="PIVOT")).values()
    assert b"<numeroFacture>F-MAIN</numeroFacture>" in xml


def test_refusals_unknown_invoice_bad_format_and_413_above_the_limit(
    api: Api, simulator: SimulatorHandle
) -> None:
    invoice_id = _deposit(api, "F-BIG", attachment=b"x" * 4000)
    body = {"format": "PDF", "listeFacture": [{"idFacture": 1}]}
    api.refused(TELECHARGER, body, 20000)
    api.refused(TELECHARGER, {**body, "format": "DOCX"}, 20901)
    api.refused(TELECHARGER, {"format": "PDF", "listeFacture": []}, 20901)

    simulator.control.set_config(max_download_bytes=1000)
    too_large = api.post(
        TELECHARGER,
        {
            "format": "PDF",
            "avecPiecesJointesComplementaires": "OUI",
            "listeFacture": [{"idFacture": invoice_id}],
        },
    )
    assert too_large.status_code == 413
    assert "codeRetour" not in too_large.json()
    # Without its attachment the invoice fits.
    assert _members(_download(api, invoice_id, attachments="NON"))


def test_only_the_accounts_structures(api: Api, simulator: SimulatorHandle) -> None:
    invoice_id = _deposit(api, "F-1")
    simulator.control.set_config(attached_supplier_sirets=[])
    api.refused(TELECHARGER, {"format": "PDF", "listeFacture": [{"idFacture": invoice_id}]}, 20000)
