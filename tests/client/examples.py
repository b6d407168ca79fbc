"""Payloads shared by the client's unit tests, copied from the reference's examples."""

from __future__ import annotations

from typing import Any

SUBMIT_EXAMPLE: dict[str, Any] = {
    "modeDepot": "SAISIE_API",
    "numeroFactureSaisi": "F-2025-0042",
    "idUtilisateurCourant": 0,
    "destinataire": {
        "codeDestinataire": "12345678200028",
        "codeServiceExecutant": "SERVICE_DEST_SERV_OBL",
    },
    "fournisseur": {
        "idFournisseur": 26300989,
        "idServiceFournisseur": 10652252,
        "codeCoordonneesBancairesFournisseur": 144050,
    },
    "cadreDeFacturation": {"codeCadreFacturation": "A1_FACTURE_FOURNISSEUR"},
    "references": {
        "deviseFacture": "EUR",
        "typeFacture": "FACTURE",
        "typeTva": "TVA_SUR_DEBIT",
        "modePaiement": "VIREMENT",
        "numeroMarche": "VABFM001",
        "numeroBonCommande": "EJ-2025-77",
    },
    "lignePoste": [
        {
            "lignePosteNumero": 1,
            "lignePosteReference": "R1",
            "lignePosteDenomination": "Maintenance",
            "lignePosteQuantite": 10.0,
            "lignePosteUnite": "heure",
            "lignePosteMontantUnitaireHT": 50.0,
            "lignePosteMontantRemiseHT": 0.0,
            "lignePosteTauxTvaManuel": 20.0,
        }
    ],
    "ligneTva": [
        {
            "ligneTvaMontantBaseHtParTaux": 500.0,
            "ligneTvaMontantTvaParTaux": 100.0,
            "ligneTvaTauxManuel": 20.0,
        }
    ],
    "montantTotal": {
        "montantHtTotal": 500.0,
        "montantTVA": 100.0,
        "montantTtcTotal": 600.0,
        "montantAPayer": 600.0,
    },
    "commentaire": "Prestation octobre",
}
