"""The business rules Chorus Pro applies when an invoice is submitted, recycled or read from a flux.

Checks run in a fixed order and stop at the first failure, like Chorus which returns a single
`codeRetour`: request shape, invoice number, supplier side, recipient routing, invoice frame and
type, attachments or lines, amounts, then the public-sector rules (`b2g`, REJ_CONT_B2G). The duplicate-number check is not here: it needs the store
and must happen under the same lock as the insert, so the submit handler does it last.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from typing import Any

from chorus_pro.simulator import b2g, codes
from chorus_pro.simulator.params import get_int, get_list, get_number, get_object, get_str
from chorus_pro.simulator.seed import (
    FACTURES_PUBLIQUES,
    VAT_RATES,
    Buyer,
    Service,
    Supplier,
    buyer_by_siret,
    supplier_by_id,
)
from chorus_pro.simulator.store import InvoiceData

__all__ = [
    "ALLOWED_ATTACHMENT_EXTENSIONS",
    "MODES_DEPOT",
    "check_attachments",
    "check_invoice_number",
    "check_routing",
    "check_supplier",
    "validate_submission",
]

MODES_DEPOT = ("SAISIE_API", "DEPOT_PDF_API", "DEPOT_PDF_SIGNE_API")
TYPES_FACTURE = ("FACTURE", "AVOIR", "ACOMPTE")
MAX_NUMBER_LENGTH = 20
MAX_ENGAGEMENT_LENGTH = 50
MAX_SERVICE_CODE_LENGTH = 100
MAX_COMMENT_LENGTH = 2000
AMOUNT_TOLERANCE = 0.01

#: Letters, digits, space, `-`, `+`, `_`, `/` (annex rule G1.05).
_NUMBER_PATTERN = re.compile(r"^[A-Za-z0-9 +_/-]+$")
#: A1_FACTURE_FOURNISSEUR ... A25_...: the billing frames.
_CADRE_PATTERN = re.compile(r"^A([1-9]|1[0-9]|2[0-5])_[A-Z_]+$")
_VAT_CODES = frozenset(rate.code for rate in VAT_RATES)

#: File types Chorus accepts as attachments (upper case).
_EXTENSIONS = (
    "BMP GIF FAX ODT PPT TIFF XLS BZ2 GZ JPEG P7S RTF TXT XML CSV GZIP JPG PDF SVG XHTML XLSX DOC "
    "HTM ODP PNG TGZ XLC ZIP DOCX HTML ODS PPS TIF XLM PPTX"
)
ALLOWED_ATTACHMENT_EXTENSIONS = frozenset(_EXTENSIONS.split())


def check_invoice_number(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise codes.NUMBER_MISSING()
    if not isinstance(value, str):
        raise codes.INVALID_PARAMETER(field="numeroFactureSaisi")
    if len(value) > MAX_NUMBER_LENGTH:
        raise codes.NUMBER_TOO_LONG()
    if not _NUMBER_PATTERN.match(value):
        raise codes.NUMBER_BAD_CHARACTER()
    return value


def check_supplier(supplier_id: int, attached_sirets: Collection[str]) -> Supplier:
    supplier = supplier_by_id(supplier_id)
    if supplier is None:
        raise codes.SUPPLIER_UNKNOWN(id=supplier_id)
    if supplier.siret not in attached_sirets:
        raise codes.SUPPLIER_NOT_ATTACHED(id=supplier_id)
    if not supplier.active:
        raise codes.SUPPLIER_INACTIVE(id=supplier_id)
    return supplier


def check_routing(
    siret: str, service_code: str | None, engagement: str | None
) -> tuple[Buyer, Service | None]:
    """Recipient known and active, service and engagement as its parameters demand."""
    buyer = buyer_by_siret(siret)
    if buyer is None:
        raise codes.RECIPIENT_UNKNOWN(siret=siret)
    if not buyer.active:
        raise codes.RECIPIENT_INACTIVE(siret=siret)
    if service_code is not None and len(service_code) > MAX_SERVICE_CODE_LENGTH:
        raise codes.FIELD_TOO_LONG(field="codeServiceExecutant", max=MAX_SERVICE_CODE_LENGTH)
    if engagement is not None and len(engagement) > MAX_ENGAGEMENT_LENGTH:
        raise codes.FIELD_TOO_LONG(field="numeroBonCommande", max=MAX_ENGAGEMENT_LENGTH)
    service: Service | None = None
    if service_code is not None:
        if service_code == FACTURES_PUBLIQUES:
            raise codes.SERVICE_FACTURES_PUBLIQUES()
        service = buyer.service_by_code(service_code)
        if service is None:
            raise codes.SERVICE_UNKNOWN(code=service_code, siret=siret)
        if not service.active:
            raise codes.SERVICE_INACTIVE(code=service_code)
    flags = buyer.flags
    if flags.service_required and service is None:
        raise codes.SERVICE_REQUIRED()
    if flags.engagement_required and engagement is None:
        raise codes.ENGAGEMENT_REQUIRED()
    if flags.service_or_engagement and service is None and engagement is None:
        raise codes.SERVICE_OR_ENGAGEMENT()
    if service is not None and service.engagement_required and engagement is None:
        raise codes.ENGAGEMENT_REQUIRED_BY_SERVICE(code=service.code)
    return buyer, service


def check_attachments(items: list[Any], prefix: str, uploads: Collection[int]) -> None:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise codes.INVALID_PARAMETER(field=f"{prefix}[{index}]")
        attachment_id = get_int(item, f"{prefix}Id", required=True, field=f"{prefix}Id")
        assert attachment_id is not None
        if attachment_id not in uploads:
            raise codes.ATTACHMENT_UNKNOWN(id=attachment_id)


def _check_vat_codes(items: list[Any], list_name: str, code_key: str) -> None:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise codes.INVALID_PARAMETER(field=f"{list_name}[{index}]")
        code = get_str(item, code_key, field=f"{list_name}[{index}].{code_key}")
        if code is not None and code not in _VAT_CODES:
            raise codes.VAT_CODE_UNKNOWN(code=code)


def _differs(left: float, right: float) -> bool:
    return abs(left - right) > AMOUNT_TOLERANCE + 1e-9


def _check_totals(
    totals: dict[str, Any], vat_lines: list[Any]
) -> tuple[float, float, float, float]:
    ht = get_number(totals, "montantHtTotal", required=True, field="montantTotal.montantHtTotal")
    tva = get_number(totals, "montantTVA", required=True, field="montantTotal.montantTVA")
    ttc = get_number(totals, "montantTtcTotal", required=True, field="montantTotal.montantTtcTotal")
    to_pay = get_number(totals, "montantAPayer", field="montantTotal.montantAPayer")
    assert ht is not None and tva is not None and ttc is not None
    if vat_lines:
        bases = [
            get_number(line, "ligneTvaMontantBaseHtParTaux", required=True, field="ligneTva")
            for line in vat_lines
        ]
        taxes = [
            get_number(line, "ligneTvaMontantTvaParTaux", required=True, field="ligneTva")
            for line in vat_lines
        ]
        if _differs(sum(b or 0.0 for b in bases), ht) or _differs(
            sum(t or 0.0 for t in taxes), tva
        ):
            raise codes.TOTALS_VAT_MISMATCH()
    if _differs(ht + tva, ttc):
        raise codes.TOTALS_TTC_MISMATCH()
    return ht, tva, ttc, ttc if to_pay is None else to_pay


def _parse_date(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise codes.INVALID_PARAMETER(field=field) from None


def validate_submission(
    body: dict[str, Any], *, attached_sirets: Collection[str], uploads: Collection[int]
) -> InvoiceData:
    """Everything `soumettre` checks except the duplicate number; returns the invoice to store."""
    mode = get_str(body, "modeDepot", required=True)
    assert mode is not None
    if mode not in MODES_DEPOT:
        raise codes.MODE_DEPOT_INVALID(mode=mode)
    numero = check_invoice_number(body.get("numeroFactureSaisi"))

    fournisseur = get_object(body, "fournisseur", required=True)
    supplier_id = get_int(
        fournisseur, "idFournisseur", required=True, field="fournisseur.idFournisseur"
    )
    assert supplier_id is not None
    supplier = check_supplier(supplier_id, attached_sirets)
    supplier_service = None
    service_id = get_int(
        fournisseur, "idServiceFournisseur", field="fournisseur.idServiceFournisseur"
    )
    if service_id is not None:
        supplier_service = supplier.service_by_id(service_id)
        if supplier_service is None:
            raise codes.SUPPLIER_SERVICE_UNKNOWN(id=service_id)
        if not supplier_service.active:
            raise codes.SUPPLIER_SERVICE_INACTIVE(id=service_id)
    bank_account = None
    bank_id = get_int(
        fournisseur,
        "codeCoordonneesBancairesFournisseur",
        field="fournisseur.codeCoordonneesBancairesFournisseur",
    )
    if bank_id is not None:
        bank_account = next((b for b in supplier.bank_accounts if b.id == bank_id), None)
        if bank_account is None:
            raise codes.BANK_UNKNOWN(id=bank_id)

    destinataire = get_object(body, "destinataire", required=True)
    siret = get_str(
        destinataire, "codeDestinataire", required=True, field="destinataire.codeDestinataire"
    )
    assert siret is not None
    service_code = get_str(
        destinataire, "codeServiceExecutant", field="destinataire.codeServiceExecutant"
    )
    references = get_object(body, "references")
    engagement = get_str(references, "numeroBonCommande", field="references.numeroBonCommande")
    buyer, service = check_routing(siret, service_code, engagement)

    cadre = get_str(get_object(body, "cadreDeFacturation"), "codeCadreFacturation")
    cadre = cadre or "A1_FACTURE_FOURNISSEUR"
    if not _CADRE_PATTERN.match(cadre):
        raise codes.CADRE_INVALID(cadre=cadre)
    type_facture = get_str(references, "typeFacture", field="references.typeFacture") or "FACTURE"
    if type_facture not in TYPES_FACTURE:
        raise codes.TYPE_FACTURE_INVALID(type=type_facture)
    origin = get_str(references, "numeroFactureOrigine", field="references.numeroFactureOrigine")
    if type_facture == "AVOIR" and origin is None:
        raise codes.CREDIT_NOTE_ORIGIN()
    devise = get_str(references, "deviseFacture", field="references.deviseFacture") or "EUR"
    if len(devise) != 3:
        raise codes.INVALID_PARAMETER(field="references.deviseFacture")

    lines = get_list(body, "lignePoste")
    vat_lines = get_list(body, "ligneTva")
    main_attachments = get_list(body, "pieceJointePrincipale")
    other_attachments = get_list(body, "pieceJointeComplementaire")
    if mode == "SAISIE_API" and not lines:
        raise codes.LINE_REQUIRED()
    if mode != "SAISIE_API" and not main_attachments:
        raise codes.MAIN_ATTACHMENT_REQUIRED(mode=mode)
    check_attachments(main_attachments, "pieceJointePrincipale", uploads)
    check_attachments(other_attachments, "pieceJointeComplementaire", uploads)
    _check_vat_codes(lines, "lignePoste", "lignePosteTauxTva")
    _check_vat_codes(vat_lines, "ligneTva", "ligneTvaTaux")
    ht, tva, ttc, to_pay = _check_totals(get_object(body, "montantTotal", required=True), vat_lines)

    commentaire = get_str(body, "commentaire")
    if commentaire is not None and len(commentaire) > MAX_COMMENT_LENGTH:
        raise codes.FIELD_TOO_LONG(field="commentaire", max=MAX_COMMENT_LENGTH)
    numero_marche = get_str(references, "numeroMarche", field="references.numeroMarche")
    refusal = b2g.submission_refusal(origin, numero_marche, commentaire)
    if refusal is not None:
        raise codes.REJ_CONT_B2G(refusal=refusal)

    return InvoiceData(
        numero=numero,
        supplier=supplier,
        supplier_service=supplier_service,
        bank_account=bank_account,
        buyer=buyer,
        service=service,
        engagement=engagement,
        mode_depot=mode,
        cadre=cadre,
        type_facture=type_facture,
        type_tva=get_str(references, "typeTva", field="references.typeTva"),
        mode_paiement=get_str(references, "modePaiement", field="references.modePaiement"),
        devise=devise,
        numero_marche=numero_marche,
        numero_facture_origine=origin,
        date_facture=_parse_date(get_str(body, "dateFacture"), "dateFacture"),
        montant_ht=ht,
        montant_tva=tva,
        montant_ttc=ttc,
        montant_a_payer=to_pay,
        lignes_poste=tuple(lines),
        lignes_tva=tuple(vat_lines),
        pieces_principales=tuple(main_attachments),
        pieces_complementaires=tuple(other_attachments),
        commentaire=commentaire,
    )
