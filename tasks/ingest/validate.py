"""Validate the export's rows and group them into invoices, each with every reason it fails.

Three passes: parse text cells into typed columns (cents, basis points, dates), run the pandera row
schema lazily, then check what only a whole invoice can show (agreeing VAT lines, totals, the
entrepreneur directory). A row's reasons become its invoice's reasons: one bad VAT line makes the whole
invoice invalid, and never stops the other invoices.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import pandas as pd
import pandera.errors as pa_errors

from schemas.export import HEADER_COLUMNS, invoice_row_schema
from schemas.issues import Reason
from tasks.ingest.cells import LineFindings
from tasks.ingest.extract import LINE

_SPACES = re.compile(r"[\s\u00a0\u202f]+")


@dataclass(frozen=True, slots=True)
class EntrepreneurEntry:
    code: str
    name: str
    email: str
    supplier_siret: str


@dataclass(frozen=True, slots=True)
class VatLine:
    rate_bp: int
    base_cents: int
    vat_cents: int
    exemption_reason: str | None


@dataclass
class InvoiceDraft:
    """One invoice as the export describes it, before staging."""

    supplier_siret: str
    invoice_number: str
    lines: list[int]
    header: dict[str, object]
    vat_lines: list[VatLine]
    reasons: list[Reason] = field(default_factory=list)
    #: Shown to the entrepreneur, never blocking (the guide's OCR rules in Factur-X mode).
    warnings: list[Reason] = field(default_factory=list)
    #: Where a value came from when not from the export's own column (column -> "customers
    #: file", "pdf text", "embedded xml", "complement", …).
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def amount_ht_cents(self) -> int:
        return sum(line.base_cents for line in self.vat_lines)

    @property
    def amount_vat_cents(self) -> int:
        return sum(line.vat_cents for line in self.vat_lines)

    @property
    def total_ttc_cents(self) -> int:
        return self.amount_ht_cents + self.amount_vat_cents

    @property
    def attachments(self) -> list[str]:
        raw = str(self.header.get("attachments") or "")
        return [part.strip() for part in raw.split("|") if part.strip()]

    @property
    def valid(self) -> bool:
        return not self.reasons

    def get(self, name: str) -> str | None:
        value = self.header.get(name)
        return None if value is None or value == "" else str(value)


def parse_amount_cents(text: str) -> int | None:
    """French or English amounts (`1 234,56`, `1.234,56`, `1234.56`) to integer cents; None if bad."""
    cleaned = _SPACES.sub("", text).replace("€", "").replace("EUR", "")
    if not cleaned:
        return None
    if "," in cleaned and "." in cleaned:
        decimal_sep = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        cleaned = cleaned.replace(thousands, "").replace(decimal_sep, ".")
    elif cleaned.count(",") == 1:
        cleaned = cleaned.replace(",", ".")
    elif cleaned.count(",") > 1 or cleaned.count(".") > 1:
        return None
    if not re.fullmatch(r"-?\d+(\.\d{1,2})?", cleaned):
        return None
    try:
        return int((Decimal(cleaned) * 100).to_integral_exact())
    except InvalidOperation:
        return None


def parse_rate_bp(text: str) -> int | None:
    """`20`, `5,5`, `5.5 %` to hundredths of a percent."""
    cleaned = _SPACES.sub("", text).replace("%", "").replace(",", ".")
    if not re.fullmatch(r"\d{1,2}(\.\d{1,2})?", cleaned):
        return None
    return int((Decimal(cleaned) * 100).to_integral_exact())


@functools.lru_cache(maxsize=4096)
def parse_date(text: str) -> date | None:
    """`YYYY-MM-DD` or `DD/MM/YYYY`; cached, since an export repeats a few hundred dates."""
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def clean_siret(text: str) -> str:
    return re.sub(r"[\s.\-\u00a0\u202f]", "", text)


_MESSAGES: dict[str, tuple[str, str, str]] = {
    # check name: (rule id, French for the entrepreneur, English for logs)
    "invoice_number_format": (
        "invoice_number.format",
        "Le numéro de facture doit faire 1 à 20 caractères parmi lettres, chiffres, espace, - + _ / "
        "(règle BR-FR-CPRO-02 de Chorus Pro).",
        "invoice number must be 1-20 characters from letters, digits, space, - + _ / "
        "(BR-FR-CPRO-02)",
    ),
    "date_not_future": (
        "invoice_date.future",
        "La date de facture est dans le futur.",
        "invoice date is in the future",
    ),
    "invoice_type": (
        "invoice_type.unknown",
        "Le type de facture doit être FACTURE ou AVOIR.",
        "invoice type must be FACTURE or AVOIR",
    ),
    "supplier_known": (
        "supplier.unknown",
        "Le SIRET fournisseur n'est pas celui d'une structure de la coopérative.",
        "supplier SIRET is not one of the configured supplier structures",
    ),
    "siret_checksum": (
        "buyer_siret.invalid",
        "Le SIRET du client est invalide (14 chiffres avec une clé de contrôle correcte).",
        "buyer SIRET is invalid (14 digits with a valid checksum)",
    ),
    "buyer_name_length": (
        "buyer_name.missing",
        "Le nom du client est obligatoire (200 caractères au plus).",
        "buyer name is required (at most 200 characters)",
    ),
    "engagement_length": (
        "engagement.too_long",
        "Le numéro d'engagement fait plus de 50 caractères (règle BR-FR-CPRO-15 de Chorus Pro).",
        "engagement number is longer than 50 characters (BR-FR-CPRO-15)",
    ),
    "service_code_length": (
        "service_code.too_long",
        "Le code service fait plus de 100 caractères.",
        "service code is longer than 100 characters",
    ),
    "currency_code": (
        "currency.unknown",
        "La devise doit être un code ISO 4217 (EUR par défaut).",
        "currency must be an ISO 4217 code",
    ),
    "payment_mode": (
        "payment_mode.unknown",
        "Le mode de paiement doit être VIREMENT, CHEQUE, PRELEVEMENT, ESPECE, AUTRE ou REPORT.",
        "payment mode is not one Chorus Pro accepts",
    ),
    "vat_rate_allowed": (
        "vat_rate.unknown",
        "Ce taux de TVA n'existe pas en France (20, 10, 5,5, 2,1, 0 …).",
        "VAT rate is not a French rate",
    ),
    "amount_not_negative": (
        "amount.negative",
        "Les montants doivent être positifs (un avoir porte des montants positifs).",
        "amounts must not be negative (credit notes carry positive amounts)",
    ),
    "comment_length": (
        "comment.too_long",
        "Le commentaire dépasse 2000 caractères.",
        "comment is longer than 2000 characters",
    ),
    "pdf_required": (
        "pdf.required",
        "Le fichier PDF de la facture est obligatoire.",
        "the invoice PDF is required",
    ),
    "vat_amount_consistent": (
        "vat.amount_mismatch",
        "Le montant de TVA ne correspond pas au montant HT multiplié par le taux.",
        "VAT amount differs from base x rate by more than 0.01",
    ),
    "exemption_reason_required": (
        "vat.exemption_reason_missing",
        "Un taux de TVA à 0 exige le motif d'exonération (ex. « TVA non applicable, art. 293 B du CGI »).",
        "a 0 % VAT line needs an exemption reason",
    ),
    "original_invoice_required": (
        "credit_note.original_missing",
        "Un avoir doit indiquer le numéro de la facture d'origine.",
        "a credit note needs the original invoice number",
    ),
    "due_date_after_invoice": (
        "due_date.before_invoice",
        "La date d'échéance est antérieure à la date de facture.",
        "due date is before the invoice date",
    ),
}

#: Each column of the row schema carries one check; its failures map through this table.
_CHECK_OF_COLUMN = {
    "invoice_number": "invoice_number_format",
    "invoice_date": "date_not_future",
    "invoice_type": "invoice_type",
    "supplier_siret": "supplier_known",
    "buyer_siret": "siret_checksum",
    "buyer_name": "buyer_name_length",
    "engagement_number": "engagement_length",
    "buyer_service_code": "service_code_length",
    "currency": "currency_code",
    "payment_mode": "payment_mode",
    "vat_rate_bp": "vat_rate_allowed",
    "amount_ht_cents": "amount_not_negative",
    "amount_vat_cents": "amount_not_negative",
    "comment": "comment_length",
    "pdf_file": "pdf_required",
}

_COLUMN_OF_CHECK = {
    "vat_amount_consistent": "amount_vat_cents",
    "exemption_reason_required": "vat_exemption_reason",
    "original_invoice_required": "original_invoice_number",
    "due_date_after_invoice": "due_date",
}


def _parse_reason(rule: str, column: str, value: str, fr: str, en: str) -> Reason:
    return Reason(rule=rule, column=column, value=value[:200], message_fr=fr, message_en=en)


def typed_frame(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, list[Reason]]]:
    """Parses text cells; unparseable values become nulls plus a reason on their row."""
    reasons: dict[int, list[Reason]] = defaultdict(list)
    frame = pd.DataFrame(index=raw.index)
    for column in (
        "invoice_number",
        "original_invoice_number",
        "entrepreneur_code",
        "buyer_name",
        "buyer_service_code",
        "engagement_number",
        "market_number",
        "vat_exemption_reason",
        "pdf_file",
        "attachments",
        "comment",
    ):
        frame[column] = raw[column].astype(str)
    frame["supplier_siret"] = raw["supplier_siret"].map(clean_siret)
    frame["buyer_siret"] = raw["buyer_siret"].map(clean_siret)
    frame["invoice_type"] = raw["invoice_type"].str.upper().replace("", "FACTURE")
    frame["currency"] = raw["currency"].str.upper().replace("", "EUR")
    frame["payment_mode"] = raw["payment_mode"].str.upper().replace("", "VIREMENT")

    def parse(
        column: str, target: str, parser: object, rule: str, fr: str, en: str
    ) -> list[object]:
        values: list[object] = []
        for index, text in raw[column].items():
            parsed = parser(text) if text else None  # type: ignore[operator]
            if text and parsed is None:
                reasons[int(index)].append(_parse_reason(rule, column, text, fr, en))
            values.append(parsed)
        return values

    frame["invoice_date"] = parse(
        "invoice_date",
        "invoice_date",
        parse_date,
        "invoice_date.format",
        "La date de facture doit être au format AAAA-MM-JJ ou JJ/MM/AAAA.",
        "invoice date must be YYYY-MM-DD or DD/MM/YYYY",
    )
    frame["due_date"] = parse(
        "due_date",
        "due_date",
        parse_date,
        "due_date.format",
        "La date d'échéance doit être au format AAAA-MM-JJ ou JJ/MM/AAAA.",
        "due date must be YYYY-MM-DD or DD/MM/YYYY",
    )
    amount_fr = "Montant illisible : utilisez par exemple 1 234,56 ou 1234.56."
    for column in ("amount_ht", "amount_vat", "total_ttc"):
        frame[f"{column}_cents"] = pd.array(
            parse(
                column,
                column,
                parse_amount_cents,
                "amount.format",
                amount_fr,
                f"{column} is not an amount with at most 2 decimals",
            ),
            dtype="Int64",
        )
    frame["vat_rate_bp"] = pd.array(
        parse(
            "vat_rate",
            "vat_rate",
            parse_rate_bp,
            "vat_rate.format",
            "Taux de TVA illisible : indiquez un pourcentage comme 20 ou 5,5.",
            "VAT rate is not a percentage",
        ),
        dtype="Int64",
    )
    for column, rule, fr, en in (
        (
            "invoice_date",
            "invoice_date.missing",
            "La date de facture est obligatoire.",
            "invoice date is required",
        ),
        ("vat_rate", "vat_rate.missing", "Le taux de TVA est obligatoire.", "VAT rate is required"),
        (
            "amount_ht",
            "amount.missing",
            "Le montant HT est obligatoire.",
            "amount_ht is required",
        ),
        (
            "amount_vat",
            "amount.missing",
            "Le montant de TVA est obligatoire.",
            "amount_vat is required",
        ),
        (
            "entrepreneur_code",
            "entrepreneur.missing",
            "Le code entrepreneur (code service fournisseur) est obligatoire.",
            "entrepreneur code is required",
        ),
    ):
        for index, text in raw[column].items():
            if not text:
                reasons[int(index)].append(_parse_reason(rule, column, "", fr, en))
    frame[LINE] = raw[LINE].astype(int)
    return frame, reasons


def schema_reasons(
    frame: pd.DataFrame, today: date, supplier_sirets: frozenset[str]
) -> dict[int, list[Reason]]:
    """Runs the pandera schema lazily and turns every failure case into a row reason."""
    reasons: dict[int, list[Reason]] = defaultdict(list)
    try:
        invoice_row_schema(today, supplier_sirets).validate(frame, lazy=True)
    except pa_errors.SchemaErrors as errors:
        seen: set[tuple[int, str]] = set()
        for case in errors.failure_cases.itertuples(index=False):
            if case.index is None or pd.isna(case.index):
                continue
            row = int(case.index)
            if case.schema_context == "Column":
                name = _CHECK_OF_COLUMN.get(str(case.column))
                column = str(case.column)
            else:
                name = str(case.check)
                column = _COLUMN_OF_CHECK.get(name, "")
            if name is None or name not in _MESSAGES or (row, name) in seen:
                continue
            seen.add((row, name))
            rule, fr, en = _MESSAGES[name]
            value = frame.at[row, column] if column in frame.columns else None
            reasons[row].append(
                Reason(
                    rule=rule,
                    column=column.removesuffix("_cents").removesuffix("_bp") or None,
                    value=None if value is None or pd.isna(value) else str(value)[:200],
                    message_fr=fr,
                    message_en=en,
                )
            )
    return reasons


_KEYS = ["supplier_siret", "invoice_number"]
_AMOUNT_COLUMNS = ("vat_rate_bp", "amount_ht_cents", "amount_vat_cents")


def _header_of(record: dict[str, object]) -> dict[str, object]:
    """The invoice-level values of one row (from `_records`: nulls are None already); empty
    cells become None."""
    header: dict[str, object] = {}
    for column in HEADER_COLUMNS:
        value = record[column]
        header[column] = None if value is None or value == "" else value
    return header


def _disagreeing_columns(frame: pd.DataFrame) -> list[list[str]]:
    """Per invoice, in order of first appearance: the header columns its rows disagree on.

    One grouped count for the whole frame; comparing text keeps `None`, NaN and `<NA>` apart
    exactly as a per-invoice `astype(str).nunique()` would.
    """
    counts = (
        frame[[*_KEYS, *HEADER_COLUMNS]]
        .astype(str)
        .groupby(_KEYS, sort=False, dropna=False)
        .nunique(dropna=False)
    )
    flags = (counts[list(HEADER_COLUMNS)] > 1).to_numpy()
    return [[c for c, flag in zip(HEADER_COLUMNS, row, strict=True) if flag] for row in flags]


def _disagreement(number: str, disagreeing: list[str]) -> Reason:
    return Reason(
        rule="invoice.lines_disagree",
        column=", ".join(disagreeing),
        value=number,
        message_fr=(
            f"Plusieurs lignes portent le numéro {number} mais ne concordent pas "
            f"({', '.join(disagreeing)}) : numéro en double ou lignes de TVA incohérentes."
        ),
        message_en=(
            f"rows sharing invoice number {number} disagree on {', '.join(disagreeing)}"
            " (duplicate number or inconsistent VAT lines)"
        ),
    )


def _duplicate_rate(number: str) -> Reason:
    return Reason(
        rule="invoice.duplicate_vat_rate",
        column="vat_rate",
        value=number,
        message_fr="Le même taux de TVA apparaît sur deux lignes de la facture.",
        message_en="the same VAT rate appears on two rows of the invoice",
    )


def _total_mismatch(declared: int, computed: int) -> Reason:
    return Reason(
        rule="invoice.total_mismatch",
        column="total_ttc",
        value=f"{declared / 100:.2f}",
        message_fr=(
            f"Le total TTC indiqué ({declared / 100:.2f}) ne correspond pas à "
            f"la somme HT + TVA des lignes ({computed / 100:.2f})."
        ),
        message_en=(
            f"total_ttc {declared / 100:.2f} differs from the sum of HT + VAT {computed / 100:.2f}"
        ),
    )


def _entrepreneur_reason(
    code: str,
    supplier: str,
    entrepreneurs: dict[tuple[str, str], EntrepreneurEntry],
    codes: set[tuple[str, str]],
    owner: str,
) -> Reason | None:
    if (supplier, code) in entrepreneurs:
        return None
    elsewhere = (owner, code) in codes
    return Reason(
        rule="entrepreneur.wrong_structure" if elsewhere else "entrepreneur.unknown",
        column="entrepreneur_code",
        value=code,
        message_fr=(
            f"Le code entrepreneur {code} n'appartient pas à la structure {supplier}."
            if elsewhere
            else f"Le code entrepreneur {code} est inconnu de l'annuaire des entrepreneurs."
        ),
        message_en=(
            f"entrepreneur {code} does not belong to supplier {supplier}"
            if elsewhere
            else f"entrepreneur {code} is not in the entrepreneurs directory"
        ),
    )


def _vat_line(record: dict[str, object]) -> VatLine | None:
    if any(record[c] is None for c in _AMOUNT_COLUMNS):
        return None
    return VatLine(
        rate_bp=int(str(record["vat_rate_bp"])),
        base_cents=int(str(record["amount_ht_cents"])),
        vat_cents=int(str(record["amount_vat_cents"])),
        exemption_reason=str(record["vat_exemption_reason"]) or None,
    )


def _one_owner(_siret: str) -> str:
    """Without owners, every structure is of one cooperative (one-cooperative installations)."""
    return ""


def group_invoices(
    frame: pd.DataFrame,
    row_reasons: dict[int, list[Reason]],
    entrepreneurs: dict[tuple[str, str], EntrepreneurEntry] | None,
    owner: Callable[[str], str] = _one_owner,
    unchecked: Container[str] = frozenset(),
    row_warnings: dict[int, list[Reason]] | None = None,
) -> list[InvoiceDraft]:
    """Groups VAT lines into invoices and adds the rules that need the whole invoice.

    The checks across an invoice's rows run as grouped column operations over the whole frame and
    the drafts are built from plain records: pandas calls per invoice cost milliseconds each,
    which at 10,000 invoices was most of the ingest's validation time.

    `owner` gives a structure's cooperative: an entrepreneur code is looked up in the invoice's
    structure, and "belongs to another structure" only within its cooperative, since every
    cooperative numbers its entrepreneurs its own way. The invoices of the cooperatives in
    `unchecked` (whose directory could not be read) are not checked against it. `row_warnings`
    become the warnings of their rows' invoices, as `row_reasons` their reasons.
    """
    if frame.empty:
        return []
    records = _records(frame)
    groups: dict[tuple[str, str], list[int]] = {}
    for position, record in enumerate(records):
        key = (str(record["supplier_siret"]), str(record["invoice_number"]))
        groups.setdefault(key, []).append(position)
    codes = {(owner(siret), code) for siret, code in entrepreneurs or {}}
    drafts: list[InvoiceDraft] = []
    for ((supplier, number), positions), disagreeing in zip(
        groups.items(), _disagreeing_columns(frame), strict=True
    ):
        rows = [records[p] for p in positions]
        indexes = [int(frame.index[p]) for p in positions]
        draft = InvoiceDraft(
            supplier_siret=supplier,
            invoice_number=number,
            lines=[int(str(row[LINE])) for row in rows],
            header=_header_of(rows[0]),
            vat_lines=[line for line in map(_vat_line, rows) if line is not None],
            reasons=_row_reasons(indexes, row_reasons),
            warnings=_row_reasons(indexes, row_warnings or {}),
        )
        if disagreeing:
            draft.reasons.append(_disagreement(number, disagreeing))
        rates = [row["vat_rate_bp"] for row in rows if row["vat_rate_bp"] is not None]
        if len(rates) != len(set(rates)):
            draft.reasons.append(_duplicate_rate(number))
        declared = draft.header.get("total_ttc_cents")
        if declared is not None and draft.valid and int(str(declared)) != draft.total_ttc_cents:
            draft.reasons.append(_total_mismatch(int(str(declared)), draft.total_ttc_cents))
        code = draft.get("entrepreneur_code")
        cooperative = owner(supplier)
        if entrepreneurs is not None and code is not None and cooperative not in unchecked:
            unknown = _entrepreneur_reason(code, supplier, entrepreneurs, codes, cooperative)
            draft.reasons.extend([unknown] if unknown is not None else [])
        drafts.append(draft)
    return drafts


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """`frame.to_dict("records")`, built from whole columns: pandas boxes cell by cell, which cost
    as much as the rest of the grouping. Nulls come out as None, as there."""
    names = list(frame.columns)
    columns = []
    for name in names:
        values = frame[name].tolist()
        if frame[name].hasnans:
            values = [None if v is None or v is pd.NA or v != v else v for v in values]
        columns.append(values)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _row_reasons(indexes: list[int], row_reasons: dict[int, list[Reason]]) -> list[Reason]:
    """The reasons of an invoice's rows, each said once, in row order."""
    found: list[Reason] = []
    seen: set[str] = set()
    for index in indexes:
        for reason in row_reasons.get(index, []):
            key = f"{reason.rule}|{reason.column}|{reason.value}"
            if key not in seen:
                seen.add(key)
                found.append(reason)
    return found


def validate_rows(
    raw: pd.DataFrame,
    *,
    today: date,
    supplier_sirets: Iterable[str],
    entrepreneurs: dict[tuple[str, str], EntrepreneurEntry] | None,
    owner: Callable[[str], str] = _one_owner,
    unchecked: Container[str] = frozenset(),
    findings: LineFindings | None = None,
) -> list[InvoiceDraft]:
    """The whole validation of one invoice table: every invoice with all its reasons (`owner`
    and `unchecked` as in `group_invoices`); what the reader found in the cells of a line
    (`findings`) comes first, since it explains the values the other reasons quote."""
    if raw.empty:
        return []
    frame, reasons = typed_frame(raw.reset_index(drop=True))
    warnings: dict[int, list[Reason]] = {}
    if findings is not None:
        for row, line in enumerate(frame[LINE].tolist()):
            if line in findings.reasons:
                reasons[row][:0] = findings.reasons[line]
            if line in findings.warnings:
                warnings[row] = findings.warnings[line]
    for row, more in schema_reasons(frame, today, frozenset(supplier_sirets)).items():
        reasons[row].extend(more)
    return group_invoices(frame, reasons, entrepreneurs, owner, unchecked, warnings)
