"""Request and response bodies of the Chorus Pro (PISTE) operations the pipeline uses.

Field names are the API's own camelCase names, unaliased, so that a model reads like the AIFE
annex and a payload can be compared with the reference line by line. Every model keeps unknown
fields (`extra="allow"`): Chorus adds fields between annex versions and dropping them would hide
information the pipeline may need later, while refusing them would break on every new release.

Amounts are `Decimal` in Python and JSON numbers on the wire (Chorus refuses strings), dates are
`date` sent as `YYYY-MM-DD`, and timestamps are timezone-aware `datetime`: Chorus answers in three
forms (`YYYY-MM-DD`, ISO-8601 with an offset, `YYYY-MM-DD HH:MM`) and the naive ones are French
local time.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

__all__ = [
    "CHORUS_TIMEZONE",
    "Amount",
    "BankAccount",
    "BankAccountList",
    "CadreDeFacturation",
    "ChorusDate",
    "ChorusDateTime",
    "ChorusModel",
    "ChorusResponse",
    "CompleteInvoiceRequest",
    "CompleteInvoiceResponse",
    "DepositFluxRequest",
    "DepositFluxResponse",
    "Destinataire",
    "DownloadRequest",
    "DownloadResponse",
    "ErreurDP",
    "ErreurTechnique",
    "FluxReport",
    "FluxReportRequest",
    "Fournisseur",
    "HandleRejectionRequest",
    "HealthCheckResponse",
    "HistoStatut",
    "HistoriquesDesStatuts",
    "InvoiceDetail",
    "InvoiceDetailResponse",
    "InvoiceHistory",
    "InvoiceSearchCriteria",
    "InvoiceSearchPage",
    "InvoiceSummary",
    "LignePoste",
    "LigneTva",
    "ModeDepot",
    "MontantTotal",
    "PageRequest",
    "ParametresRetour",
    "PieceJointeComplementaire",
    "PieceJointePrincipale",
    "RecycleInvoiceRequest",
    "RecycleInvoiceResponse",
    "References",
    "ServiceDetail",
    "ServicePage",
    "ServiceSummary",
    "StructureDetail",
    "StructurePage",
    "StructureParametres",
    "StructureSummary",
    "SubmitInvoiceRequest",
    "SubmitInvoiceResponse",
    "SupplierStructure",
    "SupplierStructureList",
    "SyntaxeFlux",
    "UploadFileRequest",
    "UploadFileResponse",
    "parse_chorus_date",
    "parse_chorus_datetime",
]

#: Chorus Pro runs on French time; timestamps it sends without an offset are read in this zone.
CHORUS_TIMEZONE = ZoneInfo("Europe/Paris")

_MINUTES_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")

#: A float holds any decimal of up to 15 significant digits exactly, through its shortest repr.
_MAX_EXACT_DIGITS = 15


def parse_chorus_date(value: Any) -> Any:
    """Accepts a bare date and also a timestamp, because some answers put one where a date is due."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) > 10:
            parsed = parse_chorus_datetime(text)
            return parsed.date() if isinstance(parsed, datetime) else parsed
        return date.fromisoformat(text)
    return value


def parse_chorus_datetime(value: Any) -> Any:
    """Makes every Chorus timestamp timezone-aware so that the warehouse can store it as UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=CHORUS_TIMEZONE)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=CHORUS_TIMEZONE)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=CHORUS_TIMEZONE)
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            if not _MINUTES_FORM.match(value.strip()):
                raise ValueError(f"unrecognised Chorus Pro timestamp {value!r}")
            parsed = parsed.replace(tzinfo=CHORUS_TIMEZONE)
        return parsed
    return value


def _decimal_to_number(value: Decimal) -> float | int:
    """Chorus wants JSON numbers; refuse rather than round a value a float cannot carry exactly."""
    if value == value.to_integral_value() and abs(value) < 2**53:
        return int(value)
    if len(value.normalize().as_tuple().digits) > _MAX_EXACT_DIGITS:
        raise ValueError(f"amount {value} has too many digits to be sent exactly as a JSON number")
    return float(value)


def _datetime_to_text(value: datetime) -> str:
    """Seconds precision with the offset; the only timestamp form all the sources agree on."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=CHORUS_TIMEZONE)
    return aware.isoformat(timespec="seconds")


#: A monetary amount: exact in Python, a JSON number on the wire.
Amount = Annotated[Decimal, PlainSerializer(_decimal_to_number, when_used="json")]
#: A calendar date, sent as `YYYY-MM-DD`.
ChorusDate = Annotated[date, BeforeValidator(parse_chorus_date)]
#: A timezone-aware timestamp; naive Chorus timestamps are Europe/Paris.
ChorusDateTime = Annotated[
    datetime,
    BeforeValidator(parse_chorus_datetime),
    PlainSerializer(_datetime_to_text, when_used="json"),
]


class ChorusModel(BaseModel):
    """Base of every payload: unknown fields kept, values re-validated when assigned."""

    model_config = ConfigDict(extra="allow", validate_assignment=True, use_enum_values=True)


class ChorusResponse(ChorusModel):
    """The envelope every operation answers with; `codeRetour == 0` is success whatever `libelle`."""

    codeRetour: int = 0
    libelle: str | None = None


class SyntaxeFlux(StrEnum):
    """`syntaxeFlux` values Chorus accepts for a supplier deposit (the Swagger enum)."""

    IN_DP_E1_UBL_INVOICE = "IN_DP_E1_UBL_INVOICE"
    IN_DP_E1_CII_16B = "IN_DP_E1_CII_16B"
    IN_DP_E1_CII = "IN_DP_E1_CII"
    IN_DP_E1_PES_FACTURE = "IN_DP_E1_PES_FACTURE"
    IN_DP_E1_XCBL = "IN_DP_E1_XCBL"
    IN_DP_E2_UBL_INVOICE_MIN = "IN_DP_E2_UBL_INVOICE_MIN"
    IN_DP_E2_CII_MIN_16B = "IN_DP_E2_CII_MIN_16B"
    IN_DP_E2_CII_MIN = "IN_DP_E2_CII_MIN"
    IN_DP_E2_PES_FACTURE_MIN = "IN_DP_E2_PES_FACTURE_MIN"
    IN_DP_E2_CPP_FACTURE_MIN = "IN_DP_E2_CPP_FACTURE_MIN"
    IN_DP_E2_CII_FACTURX = "IN_DP_E2_CII_FACTURX"
    IN_DP_E3_UBL_INVOICE = "IN_DP_E3_UBL_INVOICE"


class ModeDepot(StrEnum):
    """`modeDepot` values a supplier may send to `soumettre`."""

    SAISIE_API = "SAISIE_API"
    DEPOT_PDF_API = "DEPOT_PDF_API"
    DEPOT_PDF_SIGNE_API = "DEPOT_PDF_SIGNE_API"


# --- pagination --------------------------------------------------------------------------------


class PageRequest(ChorusModel):
    """The pagination object; its key in the body differs per operation, its content does not."""

    pageResultatDemandee: int = Field(default=1, ge=1)
    nbResultatsParPage: int = Field(default=50, ge=1)
    nbResultatsMaximum: int | None = None
    triColonne: str | None = None
    triSens: Literal["Ascendant", "Descendant"] | None = None


class ParametresRetour(ChorusModel):
    """Where a paged answer stands; absent fields mean "a single page" rather than an error."""

    pageCourante: int = 1
    pages: int = 1
    nbResultatsParPage: int | None = None
    total: int | None = None


# --- transverses: files, flux reports, supplier lookups ----------------------------------------


class UploadFileRequest(ChorusModel):
    pieceJointeFichier: str
    pieceJointeNom: str
    pieceJointeTypeMime: str
    pieceJointeExtension: str
    idUtilisateurCourant: int | None = None


class UploadFileResponse(ChorusResponse):
    pieceJointeId: int


class FluxReportRequest(ChorusModel):
    numeroFluxDepot: str
    syntaxeFlux: str | None = None


class ErreurDP(ChorusModel):
    """One invoice of a flux that Chorus refused; `numeroDP` is the invoice number."""

    numeroDP: str | None = None
    identifiantFournisseur: str | None = None
    identifiantDestinataire: str | None = None
    libelleErreurDP: str | None = None


class ErreurTechnique(ChorusModel):
    codeErreur: str | None = None
    libelleErreur: str | None = None
    natureErreur: str | None = None


class FluxReport(ChorusResponse):
    """`consulterCRDetaille`; `etatCourantDepotFlux` stays a string because the list is open."""

    nomFichier: str | None = None
    dateDepotFlux: ChorusDateTime | None = None
    codeInterfaceDepotFlux: str | None = None
    etatCourantDepotFlux: str | None = None
    dateHeureEtatCourantFlux: ChorusDateTime | None = None
    listeErreurDP: list[ErreurDP] = Field(default_factory=list)
    listeErreurTechnique: list[ErreurTechnique] = Field(default_factory=list)


class SupplierStructure(ChorusModel):
    idStructureCPP: int
    designationStructure: str | None = None
    identifiant: str | None = None


class SupplierStructureList(ChorusResponse):
    listeStructures: list[SupplierStructure] = Field(default_factory=list)


class BankAccount(ChorusModel):
    idCoordonneeBancaire: int
    nomCoordonneeBancaire: str | None = None


class BankAccountList(ChorusResponse):
    listeCoordonneeBancaire: list[BankAccount] = Field(default_factory=list)


class HealthCheckResponse(ChorusModel):
    """The health check answers outside the usual envelope."""

    body: Any = None
    statusCodeValue: int | None = None
    statusCode: str | None = None


# --- factures: submit, deposit, follow-up ------------------------------------------------------


class Destinataire(ChorusModel):
    codeDestinataire: str
    codeServiceExecutant: str | None = None


class Fournisseur(ChorusModel):
    idFournisseur: int
    idServiceFournisseur: int | None = None
    codeCoordonneesBancairesFournisseur: int | None = None


class CadreDeFacturation(ChorusModel):
    codeCadreFacturation: str = "A1_FACTURE_FOURNISSEUR"
    codeServiceValideur: str | None = None
    codeStructureValideur: str | None = None


class References(ChorusModel):
    deviseFacture: str = "EUR"
    typeFacture: str = "FACTURE"
    typeTva: str = "TVA_SUR_DEBIT"
    modePaiement: str | None = None
    numeroMarche: str | None = None
    numeroBonCommande: str | None = None
    numeroFactureOrigine: str | None = None
    motifExonerationTva: str | None = None


class LignePoste(ChorusModel):
    lignePosteNumero: int
    lignePosteReference: str | None = None
    lignePosteDenomination: str
    lignePosteQuantite: Amount
    lignePosteUnite: str | None = None
    lignePosteMontantUnitaireHT: Amount
    lignePosteMontantRemiseHT: Amount | None = None
    lignePosteTauxTva: str | None = None
    lignePosteTauxTvaManuel: Amount | None = None


class LigneTva(ChorusModel):
    ligneTvaMontantBaseHtParTaux: Amount
    ligneTvaMontantTvaParTaux: Amount
    ligneTvaTaux: str | None = None
    ligneTvaTauxManuel: Amount | None = None


class MontantTotal(ChorusModel):
    montantHtTotal: Amount
    montantTVA: Amount
    montantTtcTotal: Amount
    montantAPayer: Amount
    montantRemiseGlobaleTTC: Amount | None = None
    motifRemiseGlobaleTTC: str | None = None
    acompte: Amount | None = None


class PieceJointePrincipale(ChorusModel):
    pieceJointePrincipaleDesignation: str
    pieceJointePrincipaleId: int


class PieceJointeComplementaire(ChorusModel):
    pieceJointeComplementaireDesignation: str
    pieceJointeComplementaireId: int
    pieceJointeComplementaireIdLiaison: int | None = None
    pieceJointeComplementaireNumeroLigneFacture: int | None = None
    pieceJointeComplementaireType: str | None = None


class SubmitInvoiceRequest(ChorusModel):
    """`soumettre`. Business rules (number format, routing, totals) belong to preflight, not here."""

    modeDepot: ModeDepot
    numeroFactureSaisi: str | None
    dateFacture: ChorusDate | None = None
    idUtilisateurCourant: int | None = None
    destinataire: Destinataire
    fournisseur: Fournisseur
    cadreDeFacturation: CadreDeFacturation = Field(default_factory=CadreDeFacturation)
    references: References = Field(default_factory=References)
    lignePoste: list[LignePoste] = Field(default_factory=list)
    ligneTva: list[LigneTva] = Field(default_factory=list)
    montantTotal: MontantTotal
    pieceJointePrincipale: list[PieceJointePrincipale] = Field(default_factory=list)
    pieceJointeComplementaire: list[PieceJointeComplementaire] = Field(default_factory=list)
    commentaire: str | None = None


class SubmitInvoiceResponse(ChorusResponse):
    identifiantFactureCPP: int
    numeroFacture: str | None = None
    dateDepot: ChorusDate | None = None
    statutFacture: str | None = None
    identifiantStructure: str | None = None
    empreinteCertificatDepot: str | None = None


class DepositFluxRequest(ChorusModel):
    fichierFlux: str
    nomFichier: str
    syntaxeFlux: SyntaxeFlux
    avecSignature: bool = False
    idUtilisateurCourant: int | None = None


class DepositFluxResponse(ChorusResponse):
    """Only proves receipt: the flux is validated later, see `FluxReport`."""

    numeroFluxDepot: str
    dateDepot: ChorusDate | None = None
    syntaxeFlux: str | None = None


class CompleteInvoiceRequest(ChorusModel):
    identifiantFactureCPP: int
    commentaire: str | None = None
    pieceJointeComplementaire: list[PieceJointeComplementaire] = Field(default_factory=list)
    idUtilisateurCourant: int | None = None


class CompleteInvoiceResponse(ChorusResponse):
    identifiantFactureCPP: int | None = None
    numeroFacture: str | None = None
    dateTraitement: ChorusDate | None = None


class RecycleInvoiceRequest(ChorusModel):
    """`recycler`; the key of the references object is unconfirmed, so extra keys pass through."""

    identifiantFactureCPP: int
    destinataire: Destinataire | None = None
    reference: dict[str, Any] | None = None
    commentaire: str | None = None
    idUtilisateurCourant: int | None = None


class RecycleInvoiceResponse(ChorusResponse):
    identifiantFactureCPP: int | None = None
    numeroFacture: str | None = None
    dateDepot: ChorusDate | None = None
    statutFacture: str | None = None


class DownloadRequest(ChorusModel):
    """`telecharger/groupe` (the reference's §10): `format` PDF, XML, ZIP or PIVOT (the full
    list is unconfirmed), the attachments flag `OUI`/`NON`."""

    format: str = "PDF"
    avecPiecesJointesComplementaires: str = "OUI"
    listeFacture: list[dict[str, int]]
    idUtilisateurCourant: int | None = None
    idEspace: int | None = None


class DownloadResponse(ChorusResponse):
    fichierResultat: str


class HandleRejectionRequest(ChorusModel):
    """`traiterRejet`: acknowledges the rejection of invoices (`idDemandePaiement` = invoice id)."""

    listeDemandePaiement: list[dict[str, int]]
    motifRejet: str | None = None
    cpltInfos: str | None = None


# --- factures: search, consult, history --------------------------------------------------------


class InvoiceSearchCriteria(ChorusModel):
    """Filters of `rechercher/fournisseur`; the client adds the pagination object itself."""

    numeroFluxDepot: str | None = None
    numeroFacture: str | None = None
    numeroFactureOrigine: str | None = None
    numeroBonCommande: str | None = None
    numeroMarche: str | None = None
    typeFacture: str | None = None
    modeDepot: str | None = None
    cadreFacturation: str | None = None
    statutCourant: list[str] | None = None
    idFournisseur: int | None = None
    idServiceFournisseur: int | None = None
    listeDestinataire: list[dict[str, Any]] | None = None
    montantTTCMin: Amount | None = None
    montantTTCMax: Amount | None = None
    periodeDateDepotDu: ChorusDate | None = None
    periodeDateDepotAu: ChorusDate | None = None
    periodeDateFactureDu: ChorusDate | None = None
    periodeDateFactureAu: ChorusDate | None = None
    periodeDateHeureEtatCourantDu: ChorusDateTime | None = None
    periodeDateHeureEtatCourantAu: ChorusDateTime | None = None
    rejetTraite: bool | None = None


class InvoiceSummary(ChorusModel):
    """One line of `listeFactures`; the current status is `statut` (not `statutFacture`)."""

    identifiantFactureCPP: int
    numeroFacture: str | None = None
    statut: str | None = None
    numeroFluxDepot: str | None = None
    dateDepot: ChorusDate | None = None
    dateFacture: ChorusDate | None = None
    dateHeureEtatCourant: ChorusDateTime | None = None
    commentaireEtatCourant: str | None = None
    rejetTraite: bool | None = None
    typeFacture: str | None = None
    typeDemandePaiement: str | None = None
    modeDepot: str | None = None
    devise: str | None = None
    montantHT: Amount | None = None
    montantTTC: Amount | None = None
    montantAPayer: Amount | None = None
    codeFournisseur: str | None = None
    idFournisseur: int | None = None
    codeDestinataire: str | None = None
    designationDestinataire: str | None = None
    codeServiceExecutant: str | None = None
    numeroBonCommande: str | None = None
    numeroMarche: str | None = None


class InvoiceSearchPage(ChorusResponse):
    listeFactures: list[InvoiceSummary] = Field(default_factory=list)
    parametresRetour: ParametresRetour = Field(default_factory=ParametresRetour)


class InvoiceDetail(ChorusModel):
    """The `facture` object of `consulter/fournisseur`; nested blocks stay loosely typed."""

    identifiantFactureCPP: int | None = None
    numeroFacture: str | None = None
    statutFacture: str | None = None
    modeDepot: str | None = None
    commentaire: str | None = None
    cadreDeFacturation: dict[str, Any] | None = None
    destinataire: dict[str, Any] | None = None
    fournisseur: dict[str, Any] | None = None
    references: dict[str, Any] | None = None
    montantTotal: dict[str, Any] | None = None
    lignesDePoste: dict[str, Any] | None = None
    recapitulatifDeTva: dict[str, Any] | None = None
    listeDesPiecesJointes: dict[str, Any] | None = None
    pieceJointePrincipale: Any = None


class InvoiceDetailResponse(ChorusResponse):
    facture: InvoiceDetail = Field(default_factory=InvoiceDetail)


class HistoStatut(ChorusModel):
    histoStatutId: int | None = None
    histoStatutCode: str
    histoStatutDatePassage: ChorusDateTime | None = None
    histoStatutCommentaire: str | None = None


class HistoriquesDesStatuts(ChorusModel):
    histoStatut: list[HistoStatut] = Field(default_factory=list)
    pageCouranteHistoStatut: int = 1
    pagesHistoStatut: int = 1
    nbResultatsParPageHistoStatut: int | None = None
    totalHistoStatut: int | None = None


class InvoiceHistory(ChorusResponse):
    idFacture: int | None = None
    numeroFacture: str | None = None
    modeDepot: str | None = None
    statutCourantCode: str | None = None
    derniereAction: dict[str, Any] | None = None
    historiquesDesStatuts: HistoriquesDesStatuts = Field(default_factory=HistoriquesDesStatuts)
    historiquesDesActionsUtilisateurs: dict[str, Any] | None = None
    historiquesDesEvenementsComplementaires: dict[str, Any] | None = None


# --- structures --------------------------------------------------------------------------------


class StructureSummary(ChorusModel):
    idStructureCPP: int
    identifiantStructure: str | None = None
    designationStructure: str | None = None
    typeIdentifiantStructure: str | None = None
    statut: str | None = None


class StructurePage(ChorusResponse):
    listeStructures: list[StructureSummary] = Field(default_factory=list)
    parametresRetour: ParametresRetour = Field(default_factory=ParametresRetour)


class StructureParametres(ChorusModel):
    """What a recipient demands on its invoices; the flag names are the Swagger's."""

    codeServiceDoitEtreRenseigne: bool = False
    numeroEJDoitEtreRenseigne: bool = False
    gestionNumeroEJOuCodeService: bool = False
    statutMiseEnPaiementNestPasRemonte: bool = False


class StructureDetail(ChorusResponse):
    informationGenerales: dict[str, Any] = Field(default_factory=dict)
    adressePostaleDuSiege: dict[str, Any] | None = None
    parametres: StructureParametres = Field(default_factory=StructureParametres)


class ServiceSummary(ChorusModel):
    idService: int
    codeService: str
    libelleService: str | None = None
    estActif: bool = True
    statutService: str | None = None
    dateDbtService: ChorusDateTime | None = None
    dateFinService: ChorusDateTime | None = None


class ServicePage(ChorusResponse):
    listeServices: list[ServiceSummary] = Field(default_factory=list)
    parametresRetour: ParametresRetour = Field(default_factory=ParametresRetour)


class ServiceDetail(ChorusResponse):
    informationsGenerales: dict[str, Any] = Field(default_factory=dict)
    adressePostale: dict[str, Any] | None = None
    parametres: dict[str, Any] = Field(default_factory=dict)

    @property
    def requires_engagement(self) -> bool:
        """`parametres.numeroEngagement` is the per-service "EJ required" flag."""
        return bool(self.parametres.get("numeroEngagement", False))
