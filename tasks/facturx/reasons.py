"""The wording of every Factur-X refusal, in one place.

A Factur-X is refused for two kinds of cause: the invoice's own data (amounts, dates, references),
which the entrepreneur fixes in their invoicing software and exports again, and the cooperative's
set-up (its SIRET, VAT number, IBAN), which only the accounting service can fix. Each `message_fr`
says which, and what to do; `message_en` names the EN 16931 rule for operators.
"""

from __future__ import annotations

from chorus_etl.french import format_euros, plain_amount
from schemas.issues import Reason

__all__ = [
    "EXPORT_AGAIN",
    "SETUP_ADVICE",
    "amount_mismatch",
    "buyer_name_missing",
    "buyer_siret",
    "credit_note_original_date_missing",
    "credit_note_reference_missing",
    "currency_invalid",
    "currency_not_euro",
    "date_out_of_range",
    "due_date_before_issue",
    "due_date_missing",
    "exemption_reason_missing",
    "iban_missing",
    "invoice_number_missing",
    "invoice_number_too_long",
    "issue_date_missing",
    "no_lines",
    "number_characters",
    "pdf_encrypted",
    "pdf_not_pdfa",
    "pdf_unreadable",
    "seller_name_missing",
    "seller_siren",
    "seller_siret",
    "seller_vat_id_invalid",
    "seller_vat_id_missing",
    "xsd_invalid",
]

EXPORT_AGAIN = "corrigez-la dans votre logiciel de facturation, puis exportez-la de nouveau"
SETUP_ADVICE = (
    "Cette information vient de la fiche de la coopérative, pas de votre facture : prévenez le "
    "service comptabilité, qui la corrigera"
)
MAX_NUMBER_LENGTH = 20


def _reason(
    rule: str, fr: str, en: str, column: str | None = None, value: str | None = None
) -> Reason:
    return Reason(rule=f"facturx.{rule}", message_fr=fr, message_en=en, column=column, value=value)


def xsd_invalid(detail: str) -> Reason:
    return _reason(
        "xsd",
        "La facture électronique (Factur-X) produite pour cette facture n'est pas conforme au "
        "format exigé par Chorus Pro. Ce n'est pas de votre fait : le service comptabilité est "
        "prévenu et vous recontactera si la facture doit être modifiée.",
        f"CII XML fails the Factur-X EN 16931 XSD: {detail}",
    )


def invoice_number_missing() -> Reason:
    return _reason(
        "br-02",
        f"La facture n'a pas de numéro : {EXPORT_AGAIN}.",
        "BR-02: invoice number (BT-1) is empty",
        column="invoice_number",
    )


def invoice_number_too_long(number: str) -> Reason:
    return _reason(
        "invoice_number_length",
        f"Le numéro de facture « {number} » compte {len(number)} caractères : Chorus Pro en "
        f"accepte au plus {MAX_NUMBER_LENGTH}. Numérotez vos factures plus court (par exemple "
        "« FC0142-24 »), puis exportez la facture de nouveau.",
        f"invoice number {number!r} is {len(number)} characters long, Chorus Pro takes at most "
        f"{MAX_NUMBER_LENGTH} (FichierXml.ExchangedDocument.ID)",
        column="invoice_number",
        value=number,
    )


def issue_date_missing() -> Reason:
    return _reason(
        "br-03",
        f"La facture n'a pas de date d'émission : {EXPORT_AGAIN}.",
        "BR-03: invoice issue date (BT-2) is missing",
        column="invoice_date",
    )


def due_date_before_issue(due: str, issued: str) -> Reason:
    return _reason(
        "due_date_before_issue",
        f"La date d'échéance ({due}) est antérieure à la date de la facture ({issued}) : "
        f"{EXPORT_AGAIN}.",
        f"due date (BT-9) {due} is before the issue date (BT-2) {issued}",
        column="due_date",
        value=due,
    )


def due_date_missing(total_cents: int) -> Reason:
    return _reason(
        "br-co-25",
        f"La facture demande {format_euros(total_cents)} mais n'indique pas de date d'échéance : "
        f"ajoutez-la, puis exportez la facture de nouveau.",
        "BR-CO-25: amount due (BT-115) is positive but there is no due date (BT-9) nor payment "
        "terms (BT-20)",
        column="due_date",
    )


def currency_invalid(currency: str) -> Reason:
    return _reason(
        "currency_code",
        f"La devise « {currency} » n'est pas un code de devise valide (par exemple « EUR ») : "
        f"{EXPORT_AGAIN}.",
        f"currency (BT-5) {currency!r} is not an ISO 4217 code",
        column="currency",
        value=currency,
    )


def credit_note_reference_missing(number: str) -> Reason:
    return _reason(
        "credit_note_reference",
        f"L'avoir « {number} » n'indique pas le numéro de la facture qu'il corrige : renseignez "
        "la facture d'origine, puis exportez l'avoir de nouveau.",
        "credit note (381) without the preceding invoice reference (BT-25)",
        column="original_invoice_number",
    )


def number_characters(number: str, *, original: bool = False) -> Reason:
    """BR-FR-02: BT-1 and BT-25 take letters, digits and + - _ / only, no space."""
    what_fr = "de la facture d'origine" if original else "de facture"
    return _reason(
        "br-fr-02",
        f"Le numéro {what_fr} « {number} » contient une espace ou un caractère que la facture "
        "électronique n'accepte pas (seuls les lettres sans accent, les chiffres et + - _ / le "
        f"sont) : {EXPORT_AGAIN}.",
        f"BR-FR-02: {'BT-25' if original else 'BT-1'} {number!r} has a character outside "
        "[A-Za-z0-9+-_/] (spaces included)",
        column="original_invoice_number" if original else "invoice_number",
        value=number,
    )


def date_out_of_range(column: str, business_term: str, shown: str) -> Reason:
    """BR-FR-03: every date's year lies between 2000 and 2099."""
    return _reason(
        "br-fr-03",
        f"La date du {shown} est hors des années 2000 à 2099 que la facture électronique accepte : "
        f"{EXPORT_AGAIN}.",
        f"BR-FR-03: {business_term} {shown} is outside the years 2000-2099",
        column=column,
        value=shown,
    )


def credit_note_original_date_missing(number: str, original: str) -> Reason:
    return _reason(
        "br-fr-co-05",
        f"L'avoir « {number} » corrige la facture « {original} », que la coopérative ne connaît "
        "pas : la facture électronique d'un avoir doit donner la date de la facture corrigée. "
        "Vérifiez le numéro de la facture d'origine ; si elle a été déposée sans passer par la "
        "coopérative, prévenez le service comptabilité.",
        f"BR-FR-CO-05: credit note without the date (BT-26) of its preceding invoice {original!r} "
        "(BT-25), which is not in the warehouse nor in the export",
        column="original_invoice_number",
        value=original,
    )


def currency_not_euro(currency: str) -> Reason:
    return _reason(
        "br-fr-co-12",
        f"La facture est en {currency} : une facture électronique dans une autre devise que l'euro "
        "doit aussi donner sa TVA en euros, ce que l'export ne permet pas. Établissez la facture "
        "en euros, puis exportez-la de nouveau.",
        f"BR-FR-CO-12: invoice currency {currency} is not EUR and the export has no VAT total in "
        "EUR (BT-6, BT-111)",
        column="currency",
        value=currency,
    )


def seller_siren(siret: str) -> Reason:
    return _reason(
        "br-fr-10",
        f"Le SIRET de la coopérative « {siret} » n'est pas un numéro valide (sa clé de contrôle, "
        f"ou celle de son SIREN, est fausse) : la facture électronique doit porter son SIREN. "
        f"{SETUP_ADVICE}.",
        f"BR-FR-10: seller SIRET {siret!r} or its SIREN (BT-30) fails its checksum",
        column="supplier_siret",
        value=siret,
    )


def seller_name_missing() -> Reason:
    return _reason(
        "br-06",
        f"Le nom de la coopérative (le vendeur) manque sur la facture électronique. {SETUP_ADVICE}.",
        "BR-06: seller name (BT-27) is empty in the supplier profile",
    )


def seller_siret(siret: str) -> Reason:
    return _reason(
        "seller_siret",
        f"Le SIRET de la coopérative « {siret} » n'a pas 14 chiffres : Chorus Pro ne saurait pas "
        f"à quelle structure rattacher la facture. {SETUP_ADVICE}.",
        f"seller SIRET (BT-29, scheme 0009) {siret!r} is not 14 digits",
        column="supplier_siret",
        value=siret,
    )


def seller_vat_id_missing(category: str) -> Reason:
    return _reason(
        "br-s-02" if category == "S" else "br-e-02",
        "Le numéro de TVA intracommunautaire de la coopérative manque : il est obligatoire sur "
        f"une facture soumise à la TVA ou exonérée. {SETUP_ADVICE}.",
        f"BR-{category}-02: a line of category {category} needs the seller VAT "
        "identifier (BT-31), empty in the supplier profile",
    )


def seller_vat_id_invalid(vat_id: str) -> Reason:
    return _reason(
        "seller_vat_id",
        f"Le numéro de TVA intracommunautaire de la coopérative « {vat_id} » n'est pas valide. "
        f"{SETUP_ADVICE}.",
        f"seller VAT identifier (BT-31) {vat_id!r} is not a valid EU VAT number",
        value=vat_id,
    )


def iban_missing() -> Reason:
    return _reason(
        "br-61",
        "La facture est payable par virement mais le compte bancaire (IBAN) de la coopérative "
        f"n'est pas connu. {SETUP_ADVICE}.",
        "BR-61: payment means 30/58 (credit transfer) without the payee IBAN (BT-84)",
        column="payment_mode",
    )


def buyer_name_missing() -> Reason:
    return _reason(
        "br-07",
        f"Le nom du client manque : {EXPORT_AGAIN}.",
        "BR-07: buyer name (BT-44) is empty",
        column="buyer_name",
    )


def buyer_siret(siret: str) -> Reason:
    return _reason(
        "buyer_siret",
        f"Le SIRET du client « {siret} » n'a pas 14 chiffres : Chorus Pro ne saurait pas à qui "
        "adresser la facture. Indiquez le SIRET complet de l'établissement public destinataire "
        "(14 chiffres), puis exportez la facture de nouveau.",
        f"buyer SIRET (BT-46, scheme 0009) {siret!r} is not 14 digits",
        column="buyer_siret",
        value=siret,
    )


def no_lines() -> Reason:
    return _reason(
        "br-16",
        f"La facture n'a aucune ligne de TVA (taux, montant HT, TVA) : {EXPORT_AGAIN}.",
        "BR-16: the invoice has no line (BG-25): no VAT line in the warehouse",
        column="vat_rate",
    )


def amount_mismatch(
    rule: str, column: str, what_fr: str, shown: int, expected: int, explain_fr: str, en: str
) -> Reason:
    """Two amounts of the invoice that EN 16931 requires to agree to the cent, and do not."""
    return _reason(
        rule,
        f"{what_fr} ({format_euros(shown)}) ne correspond pas à {explain_fr} "
        f"({format_euros(expected)}) : vérifiez les montants de la facture, {EXPORT_AGAIN}.",
        f"{rule.upper()}: {en}: {plain_amount(shown)} != {plain_amount(expected)}",
        column=column,
        value=plain_amount(shown),
    )


def exemption_reason_missing(rate_text: str) -> Reason:
    return _reason(
        "br-e-10",
        f"La ligne à {rate_text} de TVA n'indique pas le motif d'exonération (par exemple « TVA "
        "non applicable, art. 293 B du CGI ») : renseignez-le dans la colonne motif_exoneration, "
        "puis exportez la facture de nouveau.",
        "BR-E-10: exempt VAT breakdown (category E) without exemption reason text (BT-120) or "
        "code (BT-121)",
        column="vat_exemption_reason",
    )


def pdf_encrypted(detail: str) -> Reason:
    return _reason(
        "pdf_encrypted",
        "Le PDF de la facture est protégé par un mot de passe : la facture électronique "
        "(Factur-X) ne peut pas y être jointe. Enregistrez-le sans protection depuis votre "
        "logiciel de facturation, puis remplacez le fichier dans l'export.",
        f"invoice PDF is encrypted with a user password: {detail}",
        column="pdf_file",
    )


def pdf_unreadable(detail: str) -> Reason:
    return _reason(
        "pdf_unreadable",
        "Le PDF de la facture est vide, endommagé ou n'est pas un PDF : la facture électronique "
        "(Factur-X) ne peut pas y être jointe. Exportez-le de nouveau en PDF depuis votre "
        "logiciel de facturation, puis remplacez le fichier dans l'export.",
        f"invoice PDF cannot be read: {detail}",
        column="pdf_file",
    )


def pdf_not_pdfa(detail: str) -> Reason:
    return _reason(
        "pdf_not_pdfa",
        "Le PDF de la facture n'a pas pu être converti au format d'archivage PDF/A-3 qu'exige la "
        "facture électronique (Factur-X). Exportez-le de nouveau depuis votre logiciel de "
        "facturation, en PDF/A si celui-ci le propose, puis remplacez le fichier dans l'export.",
        f"invoice PDF cannot be made PDF/A-3: {detail}",
        column="pdf_file",
    )
