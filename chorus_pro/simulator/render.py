"""How a stored invoice looks on the wire, per operation, with the API's field names.

Kept apart from the handlers so that the search, the detail, the history and the control
endpoint all derive from the same stored facts and cannot drift from each other.
"""

from __future__ import annotations

from typing import Any

from chorus_pro.simulator.clock import format_date, format_iso
from chorus_pro.simulator.store import Invoice, Upload

__all__ = ["invoice_detail", "invoice_snapshot", "invoice_summary", "status_entry"]


def invoice_summary(invoice: Invoice) -> dict[str, Any]:
    """One item of `rechercher/fournisseur`'s `listeFactures`."""
    data = invoice.data
    supplier_service = data.supplier_service
    return {
        "identifiantFactureCPP": invoice.id,
        "numeroFacture": data.numero,
        "statut": invoice.statut,
        "numeroFluxDepot": invoice.numero_flux,
        "dateDepot": format_date(invoice.deposited_at.date()),
        "dateFacture": format_date(data.date_facture) if data.date_facture else None,
        "dateHeureEtatCourant": format_iso(invoice.changed_at),
        "commentaireEtatCourant": invoice.commentaire_courant,
        "rejetTraite": invoice.rejet_traite,
        "typeFacture": data.type_facture,
        "typeDemandePaiement": "FACTURE",
        "modeDepot": data.mode_depot,
        "cadreFacturation": data.cadre,
        "devise": data.devise,
        "montantHT": data.montant_ht,
        "montantTTC": data.montant_ttc,
        "montantAPayer": data.montant_a_payer,
        "idFournisseur": data.supplier.id,
        "codeFournisseur": data.supplier.siret,
        "typeIdentifiantFournisseur": "SIRET",
        "designationFournisseur": data.supplier.name,
        "idServiceFournisseur": supplier_service.id if supplier_service else None,
        "codeServiceFournisseur": supplier_service.code if supplier_service else None,
        "nomServiceFournisseur": supplier_service.label if supplier_service else None,
        "idDestinataire": data.buyer.id,
        "codeDestinataire": data.buyer.siret,
        "typeIdentifiantDestinataire": "SIRET",
        "designationDestinataire": data.buyer.name,
        "idServiceExecutant": data.service.id if data.service else None,
        "codeServiceExecutant": data.service.code if data.service else None,
        "nomServiceExecutant": data.service.label if data.service else None,
        "numeroBonCommande": data.engagement,
        "numeroMarche": data.numero_marche,
        "numeroFactureOrigine": data.numero_facture_origine,
        "coordBancairesFournisseurId": data.bank_account.id if data.bank_account else None,
        "nomPrenomUtilisateurCreateur": None,
    }


def invoice_detail(invoice: Invoice, uploads: dict[int, Upload]) -> dict[str, Any]:
    """The `facture` object of `consulter/fournisseur`."""
    data = invoice.data
    attachments = [
        {
            "pieceJointeId": item.get("pieceJointePrincipaleId"),
            "pieceJointeDesignation": item.get("pieceJointePrincipaleDesignation"),
            "pieceJointeTypeCode": "01",
            "pieceJointeNom": _upload_name(uploads, item.get("pieceJointePrincipaleId")),
        }
        for item in data.pieces_principales
    ] + [
        {
            "pieceJointeId": item.get("pieceJointeComplementaireId"),
            "pieceJointeDesignation": item.get("pieceJointeComplementaireDesignation"),
            "pieceJointeTypeCode": item.get("pieceJointeComplementaireType") or "02",
            "pieceJointeNom": _upload_name(uploads, item.get("pieceJointeComplementaireId")),
        }
        for item in data.pieces_complementaires
    ]
    main = data.pieces_principales[0] if data.pieces_principales else None
    return {
        "identifiantFactureCPP": invoice.id,
        "numeroFacture": data.numero,
        "statutFacture": invoice.statut,
        "modeDepot": data.mode_depot,
        "commentaire": data.commentaire,
        "numeroFluxDepot": invoice.numero_flux,
        "cadreDeFacturation": {"codeCadreFacturation": data.cadre},
        "destinataire": {
            "codeDestinataire": data.buyer.siret,
            "idDestinataire": data.buyer.id,
            "libelleDestinataire": data.buyer.name,
            "codeServiceExecutant": data.service.code if data.service else None,
            "idServiceExecutant": data.service.id if data.service else None,
            "libelleServiceExecutant": data.service.label if data.service else None,
        },
        "fournisseur": {
            "idFournisseur": data.supplier.id,
            "codeFournisseur": data.supplier.siret,
            "typeIdentifiantFournisseur": "SIRET",
            "raisonSocialeFournisseur": data.supplier.name,
            "idServiceFournisseur": data.supplier_service.id if data.supplier_service else None,
            "codeServiceFournisseur": data.supplier_service.code if data.supplier_service else None,
            "coordBancairesFournisseurId": data.bank_account.id if data.bank_account else None,
            "coordBancairesFournisseurIban": data.bank_account.iban if data.bank_account else None,
        },
        "references": {
            "dateFacture": format_date(data.date_facture) if data.date_facture else None,
            "dateDepot": format_date(invoice.deposited_at.date()),
            "codeDeviseFacture": data.devise,
            "typeFacture": data.type_facture,
            "typeTva": data.type_tva,
            "modePaiement": data.mode_paiement,
            "numeroBonCommande": data.engagement,
            "numeroMarche": data.numero_marche,
            "numeroFactureOrigine": data.numero_facture_origine,
        },
        "montantTotal": {
            "montantHtTotal": data.montant_ht,
            "montantTVA": data.montant_tva,
            "montantTtcTotal": data.montant_ttc,
            "montantAPayer": data.montant_a_payer,
        },
        "lignesDePoste": {
            "lignePoste": list(data.lignes_poste),
            "pageCouranteLignesPoste": 1,
            "pagesLignesPoste": 1,
            "totalLignesPoste": len(data.lignes_poste),
        },
        "recapitulatifDeTva": {
            "ligneTva": list(data.lignes_tva),
            "totalLigneTva": len(data.lignes_tva),
        },
        "listeDesPiecesJointes": {
            "pieceJointe": attachments,
            "totalPiecesJointes": len(attachments),
        },
        "pieceJointePrincipale": (
            {"idPieceJointePrincipale": main.get("pieceJointePrincipaleId")} if main else None
        ),
    }


def _upload_name(uploads: dict[int, Upload], upload_id: Any) -> str | None:
    upload = uploads.get(upload_id) if isinstance(upload_id, int) else None
    return upload.name if upload else None


def status_entry(change_id: int, statut: str, at_text: str, commentaire: str) -> dict[str, Any]:
    return {
        "histoStatutId": change_id,
        "histoStatutCode": statut,
        "histoStatutDatePassage": at_text,
        "histoStatutCommentaire": commentaire,
    }


def invoice_snapshot(invoice: Invoice) -> dict[str, Any]:
    """Everything a test may want to check, for `GET /_sim/store`."""
    data = invoice.data
    return {
        "identifiantFactureCPP": invoice.id,
        "numeroFacture": data.numero,
        "source": invoice.source,
        "supplier_siret": data.supplier.siret,
        "idFournisseur": data.supplier.id,
        "idServiceFournisseur": data.supplier_service.id if data.supplier_service else None,
        "codeDestinataire": data.buyer.siret,
        "codeServiceExecutant": data.service.code if data.service else None,
        "numeroBonCommande": data.engagement,
        "modeDepot": data.mode_depot,
        "numeroFluxDepot": invoice.numero_flux,
        "montantHtTotal": data.montant_ht,
        "montantTtcTotal": data.montant_ttc,
        "deposited_at": format_iso(invoice.deposited_at),
        "statut": invoice.statut,
        "outcome": invoice.outcome,
        "rejetTraite": invoice.rejet_traite,
        "history": [
            {"statut": c.statut, "at": format_iso(c.at), "commentaire": c.commentaire}
            for c in invoice.history
        ],
        "planned": [
            {"statut": s.statut, "at": format_iso(s.at), "commentaire": s.commentaire}
            for s in invoice.plan
        ],
        "actions": [
            {"code": a.code, "at": format_iso(a.at), "commentaire": a.commentaire}
            for a in invoice.actions
        ],
    }
