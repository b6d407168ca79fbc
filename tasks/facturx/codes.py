"""The export's words turned into the EN 16931 code lists the CII XML must carry.

The accounting export speaks French and free text ("AVOIR", "VIREMENT", "TVA non applicable, art.
293 B du CGI"); the CII XML needs UNTDID 1001 document types, UNTDID 4461 payment means, UNCL 5305
VAT categories and CEF VATEX exemption codes. Each translation lives here, once, with its sources,
so the builder and the checks agree on it.
"""

from __future__ import annotations

import re

__all__ = [
    "CREDIT_NOTE",
    "CREDIT_TRANSFER_CODES",
    "ELECTRONIC_ADDRESS_SCHEME",
    "EXEMPT",
    "FRENCH_VAT_RATES_BP",
    "INVOICE",
    "NOTE_DISCOUNT",
    "NOTE_LATE_PENALTIES",
    "NOTE_RECOVERY_FEE",
    "SIREN_SCHEME",
    "SIRET_SCHEME",
    "STANDARD",
    "VAT_ON_DEBITS",
    "VAT_ON_RECEIPT",
    "document_type_code",
    "payment_means_code",
    "vat_category",
    "vat_due_date_code",
    "vatex_code",
]

#: UNTDID 1001: commercial invoice, credit note (BT-3).
INVOICE = "380"
CREDIT_NOTE = "381"

#: UNCL 5305 VAT categories (BT-118, BT-151) that the export can express.
STANDARD = "S"
EXEMPT = "E"

#: ISO 6523 ICD schemes of the French rules: SIREN in the legal registration identifiers (BT-30,
#: BT-47), SIRET in the party identifiers (BT-29, BT-46), and the electronic addresses of the
#: national directory (BT-34, BT-49).
SIREN_SCHEME = "0002"
SIRET_SCHEME = "0009"
ELECTRONIC_ADDRESS_SCHEME = "0225"

#: UNTDID 4451 subjects of the notes French law requires (BR-FR-05): the fixed indemnity for
#: recovery costs, the late-payment penalties, the early-payment discount (or its absence).
NOTE_RECOVERY_FEE = "PMT"
NOTE_LATE_PENALTIES = "PMD"
NOTE_DISCOUNT = "AAB"

#: BT-8 (UNTDID 2005 as CII writes it): VAT due on debits (the invoice date), or on receipt of
#: the payment, the rule for services unless the supplier opted for debits.
VAT_ON_DEBITS = "5"
VAT_ON_RECEIPT = "72"

#: The VAT rates the French rules accept (BR-FR-16), in basis points: mainland, Corsica, overseas.
FRENCH_VAT_RATES_BP = frozenset(
    {0, 90, 105, 175, 210, 550, 700, 850, 920, 960, 1000, 1300, 1960, 2000, 2060}
)

#: UNTDID 4461 codes for which EN 16931 requires the payee's account (BR-50, BR-61).
CREDIT_TRANSFER_CODES = frozenset({"30", "58"})

_DOCUMENT_TYPES = {"FACTURE": INVOICE, "AVOIR": CREDIT_NOTE}

#: The export's payment modes (Chorus Pro's own list) to UNTDID 4461 (BT-81). Chorus Pro requires
#: a TypeCode on every Factur-X, so every mode has one: "AUTRE" is 1 (instrument not defined),
#: "REPORT" (settled later by set-off) is 97 (clearing between partners).
_PAYMENT_MEANS = {
    "VIREMENT": "30",
    "CHEQUE": "20",
    "PRELEVEMENT": "49",
    "ESPECE": "10",
    "AUTRE": "1",
    "REPORT": "97",
}

_ARTICLE_293B = re.compile(r"\b293\s*[-–]?\s*B\b", re.IGNORECASE)
_ARTICLE_261 = re.compile(
    r"\b261\s*[-–]?\s*(?P<letter>[A-E](?![a-z]))?\s*[-–.,]?\s*(?P<number>\d(?:\s*°?\s*bis)?)?",
    re.IGNORECASE,
)
_ARTICLE_OTHER = {
    re.compile(r"\b275\b"): "VATEX-FR-CGI275",
    re.compile(r"\b277\s*[-–]?\s*A\b", re.IGNORECASE): "VATEX-FR-CGI277A",
    re.compile(r"\b295\b"): "VATEX-FR-CGI295",
}
#: The article 261 codes of the VATEX list (Factur-X 1.09 code database), keyed by (letter, number).
_ARTICLE_261_CODES = {
    ("", "1"): "VATEX-FR-CGI261-1",
    ("", "2"): "VATEX-FR-CGI261-2",
    ("", "3"): "VATEX-FR-CGI261-3",
    ("", "4"): "VATEX-FR-CGI261-4",
    ("", "5"): "VATEX-FR-CGI261-5",
    ("", "7"): "VATEX-FR-CGI261-7",
    ("", "8"): "VATEX-FR-CGI261-8",
    ("A", ""): "VATEX-FR-CGI261A",
    ("B", ""): "VATEX-FR-CGI261B",
    ("C", "1"): "VATEX-FR-CGI261C-1",
    ("C", "2"): "VATEX-FR-CGI261C-2",
    ("C", "3"): "VATEX-FR-CGI261C-3",
    ("D", "1"): "VATEX-FR-CGI261D-1",
    ("D", "1BIS"): "VATEX-FR-CGI261D-1BIS",
    ("D", "2"): "VATEX-FR-CGI261D-2",
    ("D", "3"): "VATEX-FR-CGI261D-3",
    ("D", "4"): "VATEX-FR-CGI261D-4",
    ("E", "1"): "VATEX-FR-CGI261E-1",
    ("E", "2"): "VATEX-FR-CGI261E-2",
}


def document_type_code(invoice_type: str) -> str:
    """BT-3 of the export's `type_facture`; anything but AVOIR is an invoice, as the ingest reads it."""
    return _DOCUMENT_TYPES.get(invoice_type.strip().upper(), INVOICE)


def payment_means_code(payment_mode: str) -> str:
    """BT-81 of the export's `mode_paiement`; an unknown mode is 1 (instrument not defined)."""
    return _PAYMENT_MEANS.get(payment_mode.strip().upper(), "1")


def vat_category(rate_bp: int) -> str:
    """BT-118 of a VAT line: the export has no zero-rated or reverse-charge column, and its contract
    requires an exemption reason on every 0 % line, so 0 % is an exemption (E), any other rate S."""
    return EXEMPT if rate_bp == 0 else STANDARD


def vat_due_date_code(*, on_debits: bool) -> str:
    """BT-8 of a structure: 5 when it opted for VAT on debits, else 72 (on receipt)."""
    return VAT_ON_DEBITS if on_debits else VAT_ON_RECEIPT


def vatex_code(exemption_reason: str | None) -> str | None:
    """The VATEX code (BT-121) the export's free-text exemption reason names, or None.

    Recognised, in this order: article 293 B du CGI (franchise en base) → VATEX-FR-FRANCHISE;
    article 261 with its paragraph (261-4, 261 D-1 bis, 261 C 2, ...) → VATEX-FR-CGI261-…, when the
    VATEX list has that paragraph; articles 275, 277 A and 295 → their VATEX-FR-CGI code. Anything
    else, including a bare "article 261" whose paragraph is unknown, gives None: the text alone
    (BT-120) then says why, which EN 16931 accepts (BR-E-10), rather than a guessed code that
    could tell the buyer's accounting something the invoice does not say.
    """
    if not exemption_reason:
        return None
    text = exemption_reason.replace("\u00a0", " ")
    if _ARTICLE_293B.search(text):
        return "VATEX-FR-FRANCHISE"
    match = _ARTICLE_261.search(text)
    if match:
        letter = (match.group("letter") or "").upper()
        number = re.sub(r"[\s°]+", "", match.group("number") or "").upper()
        return _ARTICLE_261_CODES.get((letter, number)) or _ARTICLE_261_CODES.get((letter, ""))
    for pattern, code in _ARTICLE_OTHER.items():
        if pattern.search(text):
            return code
    return None
