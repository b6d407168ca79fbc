"""Functional error codes (`codeRetour`) and their French `libelle`, in one table.

The official "Annexe messages d'erreur" was not available, so apart from the few codes seen in
peer projects (kept here with their message keys) the numbers are the simulator's own, chosen
once and never reused so a test can assert on them. As in Chorus Pro, a number only means
something together with the operation that returned it. docs/simulator.md mirrors this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CATALOGUE", "BusinessError", "ErrorCode"]


@dataclass(frozen=True)
class ErrorCode:
    code: int
    libelle: str
    operations: str

    def __call__(self, **details: Any) -> BusinessError:
        return BusinessError(self, **details)


class BusinessError(Exception):
    """A refusal Chorus reports in the envelope (`codeRetour != 0`), not as a gateway error."""

    def __init__(self, error: ErrorCode, **details: Any) -> None:
        self.code = error.code
        self.libelle = error.libelle.format(**details) if details else error.libelle
        super().__init__(f"{self.code} {self.libelle}")

    def envelope(self) -> dict[str, Any]:
        return {"codeRetour": self.code, "libelle": self.libelle}


_ALL = "toutes"
_INVOICE_OPS = (
    "consulter/fournisseur, consulter/historique, completer, recycler, traiterRejet, "
    "telecharger/groupe"
)
_SOUMETTRE = "soumettre"
_ROUTING = "soumettre, recycler"

MALFORMED_BODY = ErrorCode(
    20900, "Le corps de la requête n'est pas un objet JSON valide.", _ALL + " (toujours HTTP 400)"
)
INVALID_PARAMETER = ErrorCode(20901, "Paramètre absent ou invalide : {field}.", _ALL)

# ajouter/fichier
UPLOAD_TOO_LARGE = ErrorCode(
    20003, "Le fichier dépasse la taille maximale autorisée ({limit} octets).", "ajouter/fichier"
)
UPLOAD_BAD_NAME = ErrorCode(
    20004,
    "Le nom de la pièce jointe est obligatoire, doit comporter une extension et ne pas dépasser "
    "50 caractères.",
    "ajouter/fichier",
)
UPLOAD_BAD_EXTENSION = ErrorCode(
    20005, "L'extension de fichier {extension} n'est pas autorisée.", "ajouter/fichier"
)
UPLOAD_BAD_CONTENT = ErrorCode(
    20006,
    "Le contenu du fichier (pieceJointeFichier) est vide ou n'est pas encodé en base64.",
    "ajouter/fichier",
)

# deposer/flux
FLUX_TOO_LARGE = ErrorCode(
    20001,
    "GDP_MSG_11.022 - Le fichier dépasse la taille maximale autorisée ({limit} octets).",
    "deposer/flux",
)
FLUX_BAD_SYNTAX = ErrorCode(
    20002, "La syntaxe de flux {syntaxe} n'est pas reconnue.", "deposer/flux"
)
FLUX_BAD_NAME = ErrorCode(
    20003,
    "Le nom du fichier est obligatoire, doit comporter une extension et ne pas dépasser 200 "
    "caractères.",
    "deposer/flux",
)
FLUX_BAD_CONTENT = ErrorCode(
    20004,
    "Le contenu du flux (fichierFlux) est vide ou n'est pas encodé en base64.",
    "deposer/flux",
)

# consulterCR / consulterCRDetaille
FLUX_NOT_FOUND = ErrorCode(
    20001, "POQ_MSG_01.003 - Flux introuvable.", "consulterCR, consulterCRDetaille"
)

# operations on an existing invoice
INVOICE_NOT_FOUND = ErrorCode(
    20000, "GDP_MSG_11.008 - La demande de paiement n'existe pas.", _INVOICE_OPS
)
NOT_SUSPENDED = ErrorCode(
    20002, "GDP_MSG_11.033 - Le statut de la demande de paiement n'est pas SUSPENDUE.", "completer"
)
WRONG_STATE = ErrorCode(
    20002,
    "GDP_MSG_11.001 - Action impossible dans l'état actuel ({statut}) de la demande de paiement.",
    "recycler, traiterRejet",
)

# structures and transverses lookups
STRUCTURE_NOT_FOUND = ErrorCode(
    20001,
    "Structure introuvable.",
    "structures/consulter, rechercher/services, consulter/service",
)
STRUCTURE_NOT_ATTACHED = ErrorCode(
    20001,
    "Structure introuvable ou non rattachée au compte technique.",
    "recuperer/coordbanc/valides",
)
SERVICE_NOT_FOUND = ErrorCode(
    20002, "Service introuvable pour cette structure.", "consulter/service"
)
#: What the directory answers about a structure its search still lists (`unconsultable_structures`).
STRUCTURE_NONEXISTENT = ErrorCode(
    20001,
    "Structure inexistante.",
    "structures/consulter, rechercher/services, consulter/service",
)

# soumettre (and the routing part again in recycler)
RECIPIENT_UNKNOWN = ErrorCode(
    20101,
    "Destinataire {siret} non trouvé : aucune structure publique ne porte cet identifiant.",
    _ROUTING,
)
RECIPIENT_INACTIVE = ErrorCode(20102, "Le destinataire {siret} est inactif.", _ROUTING)
SERVICE_REQUIRED = ErrorCode(
    20103, "Le service exécutant est obligatoire pour ce destinataire.", _ROUTING
)
SERVICE_UNKNOWN = ErrorCode(
    20104, "Le service exécutant {code} n'existe pas chez le destinataire {siret}.", _ROUTING
)
SERVICE_INACTIVE = ErrorCode(20105, "Le service exécutant {code} est inactif.", _ROUTING)
SERVICE_FACTURES_PUBLIQUES = ErrorCode(
    20106,
    "Le service FACTURES_PUBLIQUES est réservé aux factures entre entités publiques.",
    _ROUTING,
)
ENGAGEMENT_REQUIRED = ErrorCode(
    20107, "Le numéro d'engagement est obligatoire pour ce destinataire.", _ROUTING
)
ENGAGEMENT_REQUIRED_BY_SERVICE = ErrorCode(
    20108, "Le numéro d'engagement est obligatoire pour le service exécutant {code}.", _ROUTING
)
SERVICE_OR_ENGAGEMENT = ErrorCode(
    20109,
    "Le service exécutant ou le numéro d'engagement doit être renseigné pour ce destinataire.",
    _ROUTING,
)
NUMBER_MISSING = ErrorCode(20110, "Le numéro de facture est obligatoire.", _SOUMETTRE)
NUMBER_TOO_LONG = ErrorCode(
    20111, "Le numéro de facture ne doit pas dépasser 20 caractères.", _SOUMETTRE
)
NUMBER_BAD_CHARACTER = ErrorCode(
    20112,
    "Le numéro de facture contient un caractère non autorisé (autorisés : lettres, chiffres, "
    "espace, - + _ /).",
    _SOUMETTRE,
)
NUMBER_DUPLICATE = ErrorCode(
    20113, "Le numéro de facture {numero} a déjà été utilisé par ce fournisseur.", _SOUMETTRE
)
TOTALS_VAT_MISMATCH = ErrorCode(
    20114,
    "La synthèse d'en-tête n'est pas correcte : le récapitulatif de TVA ne correspond pas aux "
    "montants totaux.",
    _SOUMETTRE,
)
TOTALS_TTC_MISMATCH = ErrorCode(
    20115,
    "Les contrôles de cohérence effectués sur la demande de paiement ne sont pas valides : le "
    "montant TTC n'est pas égal au montant HT augmenté de la TVA.",
    _SOUMETTRE,
)
SUPPLIER_UNKNOWN = ErrorCode(20116, "Fournisseur {id} inconnu.", _SOUMETTRE)
SUPPLIER_NOT_ATTACHED = ErrorCode(
    20117,
    "Le compte technique n'est pas rattaché à la structure fournisseur {id}.",
    _SOUMETTRE,
)
SUPPLIER_SERVICE_UNKNOWN = ErrorCode(
    20118, "Le service fournisseur {id} n'appartient pas à la structure fournisseur.", _SOUMETTRE
)
SUPPLIER_SERVICE_INACTIVE = ErrorCode(20119, "Le service fournisseur {id} est inactif.", _SOUMETTRE)
BANK_UNKNOWN = ErrorCode(
    20120, "Les coordonnées bancaires {id} n'existent pas pour ce fournisseur.", _SOUMETTRE
)
ATTACHMENT_UNKNOWN = ErrorCode(
    20121, "La pièce jointe {id} n'existe pas.", _SOUMETTRE + ", completer"
)
MAIN_ATTACHMENT_REQUIRED = ErrorCode(
    20122, "La pièce jointe principale est obligatoire pour le mode de dépôt {mode}.", _SOUMETTRE
)
LINE_REQUIRED = ErrorCode(
    20123, "Au moins une ligne de poste est obligatoire en mode SAISIE_API.", _SOUMETTRE
)
CREDIT_NOTE_ORIGIN = ErrorCode(
    20124, "Le numéro de la facture d'origine est obligatoire pour un avoir.", _SOUMETTRE
)
FIELD_TOO_LONG = ErrorCode(
    20125, "Le champ {field} dépasse {max} caractères.", _SOUMETTRE + ", recycler, completer"
)
VAT_CODE_UNKNOWN = ErrorCode(20126, "Le taux de TVA {code} est inconnu.", _SOUMETTRE)
MODE_DEPOT_INVALID = ErrorCode(
    20127, "Le mode de dépôt {mode} n'est pas autorisé pour ce service.", _SOUMETTRE
)
SUPPLIER_INACTIVE = ErrorCode(20128, "La structure fournisseur {id} est inactive.", _SOUMETTRE)
CADRE_INVALID = ErrorCode(20129, "Le cadre de facturation {cadre} est inconnu.", _SOUMETTRE)
TYPE_FACTURE_INVALID = ErrorCode(20130, "Le type de facture {type} n'est pas autorisé.", _SOUMETTRE)
#: A public-sector rule (BR-FR-CPRO-*, XP Z12-012 annex A) broken: Chorus Pro's refusal reason
#: REJ_CONT_B2G, with the rule and what breaks it (`b2g`). A flux reports the same text.
REJ_CONT_B2G = ErrorCode(20131, "{refusal}", _SOUMETTRE)

#: Every code, for the documentation table and its test.
CATALOGUE: tuple[ErrorCode, ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, ErrorCode)
)
