"""The wording of every invoice-PDF refusal, in one place.

The entrepreneur reads `message_fr` in an alert and has to fix the PDF alone, so each message says
what to do, in the words of the cooperative's guide to Chorus Pro where it has some.
"""

from __future__ import annotations

from chorus_etl.french import format_euros, format_megabytes, plain_amount
from schemas.issues import Reason

PDF_COLUMN = "pdf_file"
SCAN_ADVICE = "Déposez vos factures au format PDF (pas de scans, ni d'images)"
EXPORT_ADVICE = "exportez la facture en PDF depuis votre logiciel de facturation"
REEXPORT_ADVICE = "Exportez-le de nouveau en PDF depuis votre logiciel de facturation"
REPLACE_ADVICE = "remplacez le fichier : la facture partira avec le prochain export"

#: The rules that exist for Chorus Pro's OCR (the guide's "PDF texte", keywords on the first pages).
#: A Factur-X carries its data in its XML, so for structures that deposit Factur-X they only warn.
#: Still refused in that mode: a PDF without text, and one without the invoice's number or total,
#: because then nothing shows that the PDF is the invoice of its export row.
OCR_RULES = frozenset(
    {
        "pdf.image_only_page",
        "pdf.buyer_siret_missing",
        "pdf.engagement_missing",
        "pdf.service_missing",
    }
)


def _file_reason(rule: str, relative_path: str, fr: str, en: str) -> Reason:
    return Reason(rule=rule, message_fr=fr, message_en=en, column=PDF_COLUMN, value=relative_path)


def missing(relative_path: str) -> Reason:
    return _file_reason(
        "pdf.missing",
        relative_path,
        f"Le PDF de la facture « {relative_path} » est introuvable dans l'export. Vérifiez le "
        "chemin indiqué dans la colonne fichier_pdf et que le fichier accompagne bien l'export.",
        f"invoice PDF {relative_path!r} is not a file in the export folder",
    )


def outside_export(relative_path: str) -> Reason:
    return _file_reason(
        "pdf.outside_export",
        relative_path,
        f"Le chemin du PDF « {relative_path} » sort du dossier de l'export. Indiquez un chemin "
        "relatif au dossier de l'export, par exemple « pdf/FC0142-24.pdf ».",
        f"invoice PDF path {relative_path!r} is absolute or leads outside the export folder",
    )


def not_pdf(relative_path: str) -> Reason:
    return _file_reason(
        "pdf.not_pdf",
        relative_path,
        f"Le fichier « {relative_path} » n'est pas un PDF. {SCAN_ADVICE} : {EXPORT_ADVICE}.",
        f"{relative_path!r} does not start with the PDF signature %PDF-",
    )


def too_large(relative_path: str, size_bytes: int, limit_bytes: int) -> Reason:
    return _file_reason(
        "pdf.too_large",
        relative_path,
        f"Le PDF « {relative_path} » pèse {format_megabytes(size_bytes)}, au-delà des "
        f"{format_megabytes(limit_bytes)} acceptés par "
        "Chorus Pro. Allégez-le (images moins lourdes, PDF produit directement par votre logiciel "
        f"de facturation plutôt que scanné), puis {REPLACE_ADVICE}.",
        f"invoice PDF {relative_path!r} is {size_bytes} bytes, over the {limit_bytes}-byte limit",
    )


def encrypted(relative_path: str) -> Reason:
    return _file_reason(
        "pdf.encrypted",
        relative_path,
        f"Le PDF « {relative_path} » est protégé (mot de passe ou chiffrement) : Chorus Pro ne peut "
        f"pas le lire. Enregistrez-le sans protection, puis {REPLACE_ADVICE}.",
        f"invoice PDF {relative_path!r} is encrypted",
    )


def unreadable(relative_path: str, detail: str) -> Reason:
    return _file_reason(
        "pdf.unreadable",
        relative_path,
        f"Le PDF « {relative_path} » est endommagé ou illisible. {REEXPORT_ADVICE}, puis "
        f"{REPLACE_ADVICE}.",
        f"invoice PDF {relative_path!r} cannot be read: {detail}",
    )


def timeout(relative_path: str, seconds: float) -> Reason:
    return _file_reason(
        "pdf.timeout",
        relative_path,
        f"L'analyse du PDF « {relative_path} » a dépassé {seconds:g} secondes : le fichier est sans "
        f"doute trop complexe ou endommagé. {REEXPORT_ADVICE}, sans images lourdes, puis "
        f"{REPLACE_ADVICE}.",
        f"reading invoice PDF {relative_path!r} took longer than {seconds:g} s",
    )


def no_text(relative_path: str, pages: int) -> Reason:
    where = "sa première page" if pages == 1 else f"ses {pages} premières pages"
    return _file_reason(
        "pdf.no_text",
        relative_path,
        f"Le PDF « {relative_path} » ne contient pas de texte sur {where} : "
        f"c'est sans doute un scan ou une image, que Chorus Pro ne sait pas lire. {SCAN_ADVICE} : "
        f"{EXPORT_ADVICE}.",
        f"invoice PDF {relative_path!r} has no text layer on its first {pages} page(s)",
    )


def image_only_page(relative_path: str, page_number: int) -> Reason:
    return _file_reason(
        "pdf.image_only_page",
        relative_path,
        f"La page {page_number} du PDF « {relative_path} » n'est qu'une image (un scan) : Chorus Pro "
        f"lit les trois premières pages de la facture et ne peut pas la lire. {SCAN_ADVICE}.",
        f"page {page_number} of invoice PDF {relative_path!r} is an image without text",
    )


def number_missing(number: str) -> Reason:
    return Reason(
        rule="pdf.number_missing",
        message_fr=f"Le numéro de facture « {number} » n'apparaît pas sur les trois premières pages "
        "du PDF. Vérifiez que le PDF est bien celui de cette facture, et annoncez le numéro par un "
        f"mot-clef, par exemple « Facture n° {number} », séparé des autres champs par un espace.",
        message_en=f"invoice number {number!r} not found on the first three pages of the PDF",
        column="invoice_number",
        value=number,
    )


def buyer_siret_missing(siret: str) -> Reason:
    return Reason(
        rule="pdf.buyer_siret_missing",
        message_fr=f"Le SIRET du client « {siret} » n'apparaît pas sur les trois premières pages du "
        "PDF. Indiquez-le, annoncé par le mot-clef « SIRET client » ou « SIRET destinataire » "
        f"(par exemple « SIRET client : {siret} »), et vérifiez qu'il s'agit du bon client.",
        message_en=f"buyer SIRET {siret} not found on the first three pages of the PDF",
        column="buyer_siret",
        value=siret,
    )


def engagement_missing(engagement: str) -> Reason:
    return Reason(
        rule="pdf.engagement_missing",
        message_fr=f"Le numéro d'engagement « {engagement} » n'apparaît pas sur les trois premières "
        "pages du PDF. Il doit figurer sur la facture (en objet ou en description des produits), "
        f"annoncé par « Engagement », « EJ » ou « Commande » (par exemple « Engagement : {engagement} »).",
        message_en=f"engagement number {engagement!r} not found on the first three pages of the PDF",
        column="engagement_number",
        value=engagement,
    )


def service_missing(service_code: str) -> Reason:
    return Reason(
        rule="pdf.service_missing",
        message_fr=f"Le code service « {service_code} » n'apparaît pas sur les trois premières pages "
        "du PDF. Il doit figurer sur la facture (en objet ou en description des produits), par "
        f"exemple « Code service : {service_code} ».",
        message_en=f"service code {service_code!r} not found on the first three pages of the PDF",
        column="buyer_service_code",
        value=service_code,
    )


def total_missing(total_ttc_cents: int) -> Reason:
    amount = format_euros(total_ttc_cents)
    return Reason(
        rule="pdf.total_missing",
        message_fr=f"Le montant total TTC de l'export ({amount}) n'apparaît pas sur les trois "
        "premières pages du PDF. Vérifiez que le PDF et l'export indiquent le même montant, annoncé "
        f"par « Total TTC » (par exemple « Total TTC : {amount} »).",
        message_en=f"total TTC {plain_amount(total_ttc_cents)} not found on the first three pages of the PDF",
        column="total_ttc",
        value=plain_amount(total_ttc_cents),
    )


def embedded_xml_kept(name: str) -> Reason:
    """A warning: the PDF carries an XML (CAERP's Factur-X) that Chorus Pro could read instead."""
    return Reason(
        rule="pdf.embedded_xml",
        message_fr=f"Le PDF contient un fichier XML « {name} » (une facture Factur-X produite par "
        "votre logiciel de facturation) que Chorus Pro pourrait lire à la place du PDF et refuser. "
        "Le dépôt enverra une copie du PDF sans ce fichier : rien à faire.",
        message_en=f"the PDF embeds {name!r}; a PDF deposit sends a copy without it",
        column=PDF_COLUMN,
        value=name,
    )
