"""Structured flux (`deposer/flux`): cheap reading of the file, then asynchronous integration.

The simulator does not validate UBL/CII against their schemas. It reads, with regular
expressions, the few values it needs from each invoice in the file: number, seller and buyer
SIRET (any 14-digit identifier in the party block), buyer reference (service code), order
reference (engagement), type, date and totals. A Factur-X PDF is searched for its embedded CII
(raw or in a Flate-compressed stream); `.zip` and `.tar.gz` archives are read member by member.

Outcome, decided when the flux settles (on the poll after `flux_polls_before_result` polls, or
at the next clock advance): each readable invoice goes through the recipient and number rules;
all pass → IN_INTEGRE, some → IN_INTEGRE_PARTIEL, none → IN_REJETE, with the refusals in
`listeErreurDP`. A file that is neither XML, PDF nor archive is IN_REJETE with a technical
error. An XML or PDF in which no invoice number can be found still integrates as ONE invoice
with a generated number (`FLX` + the flux sequence), from the first attached supplier structure
to the buyer that requires nothing — a documented simplification, not Chorus behaviour.
"""

from __future__ import annotations

import base64
import gzip
import html
import io
import re
import tarfile
import zipfile
import zlib
from datetime import date
from typing import Any

from chorus_pro.simulator import codes
from chorus_pro.simulator.clock import format_iso
from chorus_pro.simulator.codes import BusinessError
from chorus_pro.simulator.seed import BUYER_NO_REQUIREMENT, supplier_by_siret
from chorus_pro.simulator.store import Flux, FluxDocument, InvoiceData, Store
from chorus_pro.simulator.validation import check_invoice_number, check_routing

__all__ = [
    "IN_INTEGRE",
    "IN_INTEGRE_PARTIEL",
    "IN_REJETE",
    "PENDING",
    "SYNTAXES",
    "consulter_cr",
    "consulter_cr_detaille",
    "poll",
    "read_documents",
    "settle",
    "settle_pending",
]

SYNTAXES = (
    "IN_DP_E1_UBL_INVOICE",
    "IN_DP_E1_CII_16B",
    "IN_DP_E1_CII",
    "IN_DP_E1_PES_FACTURE",
    "IN_DP_E1_XCBL",
    "IN_DP_E2_UBL_INVOICE_MIN",
    "IN_DP_E2_CII_MIN_16B",
    "IN_DP_E2_CII_MIN",
    "IN_DP_E2_PES_FACTURE_MIN",
    "IN_DP_E2_CPP_FACTURE_MIN",
    "IN_DP_E2_CII_FACTURX",
    "IN_DP_E3_UBL_INVOICE",
)
PENDING = "IN_DEPOT_PORTAIL_EN_ATTENTE_TRAITEMENT_SE_CPP"
IN_INTEGRE = "IN_INTEGRE"
IN_INTEGRE_PARTIEL = "IN_INTEGRE_PARTIEL"
IN_REJETE = "IN_REJETE"
CODE_INTERFACE = "FSO1110A"

_MAX_MEMBERS = 50
_MAX_INFLATED = 20 * 1024 * 1024
_MAX_PDF_STREAMS = 200
_PREFIX = r"(?:[\w.-]+:)?"
_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)

_UNKNOWN_SUPPLIER = (
    "L'identifiant fournisseur de la demande de paiement (balise : "
    "AccountingSupplierParty.Party.PartyIdentification.ID.value) n'est pas reference dans notre "
    "systeme."
)
_NUMBER_TOO_LONG = (
    "Le champ identifiant de la facture (FichierXml.ExchangedDocument.ID.value) ne doit pas "
    "depasser 20 caracteres"
)


# --- reading --------------------------------------------------------------------------------


def _block(text: str, name: str) -> str | None:
    match = re.search(rf"<{_PREFIX}{name}\b[^>]*>(.*?)</{_PREFIX}{name}>", text, re.S)
    return match.group(1) if match else None


def _tag(text: str | None, name: str) -> str | None:
    if text is None:
        return None
    match = re.search(rf"<{_PREFIX}{name}\b[^>]*>([^<]*)</{_PREFIX}{name}>", text)
    value = html.unescape(match.group(1)).strip() if match else ""
    return value or None


def _siret(block: str | None) -> str | None:
    match = re.search(r">\s*(\d{14})\s*<", block) if block else None
    return match.group(1) if match else None


def _amount(text: str | None, name: str) -> float | None:
    value = _tag(text, name)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    digits = value.replace("-", "")
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def _read_cii(text: str) -> FluxDocument:
    header = _block(text, "ExchangedDocument")
    totals = _block(text, "SpecifiedTradeSettlementHeaderMonetarySummation")
    return FluxDocument(
        numero=_tag(header, "ID"),
        supplier_siret=_siret(_block(text, "SellerTradeParty")),
        buyer_siret=_siret(_block(text, "BuyerTradeParty")),
        service_code=_tag(text, "BuyerReference"),
        engagement=_tag(_block(text, "BuyerOrderReferencedDocument"), "IssuerAssignedID"),
        type_facture="AVOIR" if _tag(header, "TypeCode") == "381" else "FACTURE",
        date_facture=_date(_tag(header, "DateTimeString")),
        montant_ht=_amount(totals, "TaxBasisTotalAmount"),
        montant_tva=_amount(totals, "TaxTotalAmount"),
        montant_ttc=_amount(totals, "GrandTotalAmount"),
        montant_a_payer=_amount(totals, "DuePayableAmount"),
    )


def _read_ubl(text: str) -> FluxDocument:
    head = text.split("<cac:", 1)[0]
    totals = _block(text, "LegalMonetaryTotal")
    credit_note = re.search(rf"<{_PREFIX}CreditNote\b", text) is not None
    return FluxDocument(
        numero=_tag(head, "ID"),
        supplier_siret=_siret(_block(text, "AccountingSupplierParty")),
        buyer_siret=_siret(_block(text, "AccountingCustomerParty")),
        service_code=_tag(text, "BuyerReference"),
        engagement=_tag(_block(text, "OrderReference"), "ID"),
        type_facture="AVOIR"
        if credit_note or _tag(head, "InvoiceTypeCode") == "381"
        else "FACTURE",
        date_facture=_date(_tag(head, "IssueDate")),
        montant_ht=_amount(totals, "TaxExclusiveAmount"),
        montant_tva=_amount(_block(text, "TaxTotal"), "TaxAmount"),
        montant_ttc=_amount(totals, "TaxInclusiveAmount"),
        montant_a_payer=_amount(totals, "PayableAmount"),
    )


def _read_xml(text: str) -> FluxDocument:
    if "CrossIndustryInvoice" in text:
        return _read_cii(text)
    if re.search(rf"<{_PREFIX}(Invoice|CreditNote)\b", text):
        return _read_ubl(text)
    return FluxDocument()


def _inflate(data: bytes) -> bytes | None:
    try:
        return zlib.decompressobj().decompress(data, _MAX_INFLATED)
    except zlib.error:
        return None


def _xml_in_pdf(content: bytes) -> str | None:
    for index, match in enumerate(_PDF_STREAM.finditer(content)):
        if index >= _MAX_PDF_STREAMS:
            break
        for candidate in (match.group(1), _inflate(match.group(1))):
            if candidate and b"CrossIndustryInvoice" in candidate:
                return candidate.decode("utf-8", "replace")
    return None


def _read_single(content: bytes) -> FluxDocument | None:
    if content.startswith(b"%PDF"):
        xml = _xml_in_pdf(content)
        return _read_xml(xml) if xml else FluxDocument()
    stripped = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return _read_xml(stripped.decode("utf-8", "replace"))
    return None


def _archive_members(content: bytes) -> list[bytes] | None:
    """Member contents in name order, or None if the bytes are not an archive."""
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                infos = sorted(
                    (i for i in archive.infolist() if not i.is_dir()), key=lambda i: i.filename
                )[:_MAX_MEMBERS]
                return [archive.read(i) for i in infos if i.file_size <= _MAX_INFLATED]
        except zipfile.BadZipFile:
            return None
    if content.startswith(b"\x1f\x8b"):
        try:
            with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
                members = sorted(
                    (m for m in archive.getmembers() if m.isfile() and m.size <= _MAX_INFLATED),
                    key=lambda m: m.name,
                )[:_MAX_MEMBERS]
                files = [archive.extractfile(m) for m in members]
                return [f.read() for f in files if f is not None]
        except (tarfile.TarError, OSError):
            try:
                return [gzip.decompress(content)]
            except (OSError, EOFError):
                return None
    return None


def read_documents(content: bytes) -> list[FluxDocument] | None:
    """The invoices in a flux file; None when the file cannot be read at all."""
    members = _archive_members(content)
    if members is None:
        single = _read_single(content)
        return None if single is None else [single]
    documents = [doc for doc in (_read_single(member) for member in members) if doc is not None]
    return documents or None


# --- integration ----------------------------------------------------------------------------
class _FluxRefusal(BusinessError):
    """A refusal worded as Chorus words flux errors (no codeRetour reaches the client)."""

    def __init__(self, libelle: str) -> None:
        super().__init__(codes.ErrorCode(0, libelle, "deposer/flux"))


def _to_invoice(store: Store, flux: Flux, document: FluxDocument, index: int) -> InvoiceData:
    generated = f"FLX{flux.numero[-12:]}" + (f"-{index}" if index else "")
    numero = document.numero or generated
    try:
        check_invoice_number(numero)
    except BusinessError as error:
        if error.code == codes.NUMBER_TOO_LONG.code:
            raise _FluxRefusal(_NUMBER_TOO_LONG) from None
        raise
    if document.supplier_siret is None:
        attached = store.config.attached_supplier_sirets
        supplier = supplier_by_siret(attached[0]) if attached else None
    else:
        supplier = supplier_by_siret(document.supplier_siret)
    if supplier is None or not store.is_attached(supplier):
        raise _FluxRefusal(_UNKNOWN_SUPPLIER)
    buyer_siret = document.buyer_siret or BUYER_NO_REQUIREMENT.siret
    buyer, service = check_routing(buyer_siret, document.service_code, document.engagement)
    if store.config.reject_duplicate_numbers and store.find_duplicate(supplier, numero):
        raise codes.NUMBER_DUPLICATE(numero=numero)
    ht = document.montant_ht or 0.0
    tva = document.montant_tva or 0.0
    ttc = document.montant_ttc if document.montant_ttc is not None else ht + tva
    return InvoiceData(
        numero=numero,
        supplier=supplier,
        supplier_service=None,
        bank_account=supplier.bank_accounts[0] if supplier.bank_accounts else None,
        buyer=buyer,
        service=service,
        engagement=document.engagement,
        mode_depot="EDI",
        type_facture=document.type_facture,
        date_facture=document.date_facture,
        montant_ht=ht,
        montant_tva=tva,
        montant_ttc=ttc,
        montant_a_payer=document.montant_a_payer if document.montant_a_payer is not None else ttc,
    )


def settle(store: Store, flux: Flux) -> None:
    """Integrates (or rejects) a pending flux now; call with the store lock held."""
    now = store.clock.now()
    flux.state_at = now
    if store.config.flux_outcome == "IN_REJETE" or flux.documents is None:
        flux.state = IN_REJETE
        reason = (
            "Rejet forcé par la configuration du simulateur."
            if flux.documents is not None
            else "IRRECEVABILITE: le fichier n'est ni un XML, ni un PDF, ni une archive lisible."
        )
        flux.errors_technical.append(
            {
                "codeErreur": "ERR_IRRECEVABLE",
                "libelleErreur": reason,
                "natureErreur": "IRRECEVABILITE",
            }
        )
        return
    for index, document in enumerate(flux.documents):
        try:
            data = _to_invoice(store, flux, document, index)
        except BusinessError as error:
            flux.errors_dp.append(
                {
                    "numeroDP": document.numero or "",
                    "identifiantFournisseur": document.supplier_siret or "",
                    "identifiantDestinataire": document.buyer_siret or "",
                    "libelleErreurDP": error.libelle,
                }
            )
            continue
        invoice = store.add_invoice(data, "flux", numero_flux=flux.numero)
        flux.invoice_ids.append(invoice.id)
    if not flux.errors_dp:
        flux.state = IN_INTEGRE
    else:
        flux.state = IN_INTEGRE_PARTIEL if flux.invoice_ids else IN_REJETE


def poll(store: Store, flux: Flux) -> None:
    """A report request: the pending state is kept for the first configured number of polls."""
    flux.polls += 1
    if flux.state == PENDING and flux.polls > store.config.flux_polls_before_result:
        settle(store, flux)


def settle_pending(store: Store) -> int:
    pending = [f for f in store.flux.values() if f.state == PENDING]
    for flux in pending:
        settle(store, flux)
    return len(pending)


def _report_pdf(flux: Flux) -> str:
    """A tiny text stand-in for the PDF report Chorus attaches (`fichierCR`)."""
    lines = [
        "%PDF-1.4",
        f"% Compte rendu de traitement du flux {flux.numero}",
        f"% Fichier : {flux.nom_fichier}",
        f"% Etat : {flux.state}",
        "%%EOF",
    ]
    return base64.b64encode("\n".join(lines).encode("utf-8")).decode("ascii")


def consulter_cr(flux: Flux) -> dict[str, Any]:
    return {
        "numeroFluxDepot": flux.numero,
        "etatCourantFlux": flux.state,
        "dateDepotFlux": format_iso(flux.deposited_at),
        "dateHeureEtatCourantFlux": format_iso(flux.state_at),
        "codeInterfaceFlux": CODE_INTERFACE,
        "codeAppliPartenaire": "CPP",
        "designationPartenaire": "Chorus Pro (simulateur)",
        "nomFichierFlux": flux.nom_fichier,
        "fichierCR": _report_pdf(flux),
    }


def consulter_cr_detaille(flux: Flux) -> dict[str, Any]:
    return {
        "nomFichier": f"{CODE_INTERFACE}_CPP001_{flux.numero}",
        "dateDepotFlux": format_iso(flux.deposited_at),
        "codeInterfaceDepotFlux": CODE_INTERFACE,
        "etatCourantDepotFlux": flux.state,
        "dateHeureEtatCourantFlux": format_iso(flux.state_at),
        "listeErreurDP": list(flux.errors_dp),
        "listeErreurTechnique": list(flux.errors_technical),
    }
