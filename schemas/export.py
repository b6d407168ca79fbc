"""The accounting export contract: its columns, their French aliases, and the row rules (pandera).

Rows are first parsed into typed columns (cents, basis points, dates) by the reader; the pandera
schema below then checks every rule lazily, so one pass reports every problem of every row. Rules that
span several rows of one invoice (agreeing VAT lines, totals) live with the grouping in the
validation task, because they need the whole invoice.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import pandas as pd
import pandera.pandas as pa
from stdnum.fr import siret as stdnum_siret

INVOICE_NUMBER_RE = r"^[A-Za-z0-9 \-+_/]{1,20}$"
INVOICE_TYPES = ("FACTURE", "AVOIR")
PAYMENT_MODES = ("VIREMENT", "CHEQUE", "PRELEVEMENT", "ESPECE", "AUTRE", "REPORT")
#: Rates French law allows, in hundredths of a percent (mainland, Corsica, overseas departments).
VAT_RATES_BP = frozenset({2000, 1000, 850, 550, 210, 175, 105, 90, 1300, 0})
CURRENCIES = frozenset({"EUR", "USD", "GBP", "CHF", "XPF"})
#: Characters a cell may hold, well above any column a real export fills (a comment holds 2000, a
#: path 1000, a list of attachments a few of them); a longer cell refuses its row. The csv
#: module's own limit, 128 KiB, used to refuse the whole file for one cell over it.
FIELD_LIMIT = 32 * 1024


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the export. `max_length` is the reader's limit when it is tighter than
    `FIELD_LIMIT`: for the cells stored as they are read (what identifies an invoice, the
    directory), what the warehouse holds. `multiline` columns keep their line breaks; in the
    others a line break becomes a space."""

    name: str
    aliases: tuple[str, ...]
    required: bool
    max_length: int = FIELD_LIMIT
    multiline: bool = False


INVOICE_COLUMNS: tuple[Column, ...] = (
    Column("invoice_number", ("numero_facture", "numéro_facture", "n_facture"), True, 64),
    Column("invoice_date", ("date_facture",), True),
    Column("invoice_type", ("type_facture",), False),
    Column("original_invoice_number", ("facture_origine", "numero_facture_origine"), False),
    Column("supplier_siret", ("siret_fournisseur",), True, 32),
    Column("entrepreneur_code", ("code_entrepreneur",), True),
    Column("buyer_siret", ("siret_client", "siret_destinataire"), True),
    Column("buyer_name", ("client", "nom_client", "destinataire"), True),
    Column("buyer_service_code", ("code_service",), False),
    Column("engagement_number", ("numero_engagement", "engagement", "ej"), False),
    Column("market_number", ("numero_marche",), False),
    Column("currency", ("devise",), False),
    Column("vat_rate", ("taux_tva",), True),
    Column("amount_ht", ("montant_ht",), True),
    Column("amount_vat", ("montant_tva",), True),
    Column("total_ttc", ("montant_ttc",), False),
    Column("vat_exemption_reason", ("motif_exoneration",), False),
    Column("payment_mode", ("mode_paiement",), False),
    Column("due_date", ("date_echeance",), False),
    Column("pdf_file", ("fichier_pdf",), True),
    Column("attachments", ("pieces_jointes",), False),
    Column("comment", ("commentaire",), False, multiline=True),
)

ENTREPRENEUR_COLUMNS: tuple[Column, ...] = (
    Column("entrepreneur_code", ("code_entrepreneur",), True, 100),
    Column("name", ("nom",), True, 200),
    Column("email", ("courriel", "mail"), True, 320),
    Column("supplier_siret", ("siret_fournisseur",), True, 32),
)

#: Invoice-level columns: every VAT line of one invoice must agree on them.
HEADER_COLUMNS = (
    "invoice_date",
    "invoice_type",
    "original_invoice_number",
    "entrepreneur_code",
    "buyer_siret",
    "buyer_name",
    "buyer_service_code",
    "engagement_number",
    "market_number",
    "currency",
    "total_ttc_cents",
    "payment_mode",
    "due_date",
    "pdf_file",
    "attachments",
    "comment",
)


def header_key(name: str) -> str:
    """Header matching ignores case, accents, spaces, dashes and underscores."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[\s_\-°.]+", "", folded.lower())


def alias_map(columns: tuple[Column, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for column in columns:
        for alias in (column.name, *column.aliases):
            mapping[header_key(alias)] = column.name
    return mapping


def is_valid_siret(value: object) -> bool:
    """Luhn over 14 digits, with La Poste's digit-sum rule (python-stdnum implements both)."""
    return isinstance(value, str) and len(value) == 14 and _siret_checksum_ok(value)


@functools.lru_cache(maxsize=65536)
def _siret_checksum_ok(value: str) -> bool:
    """Cached: an export names the same few hundred buyers on thousands of rows."""
    return bool(stdnum_siret.is_valid(value))


def _vat_consistent(frame: pd.DataFrame) -> pd.Series:
    expected = (frame["amount_ht_cents"] * frame["vat_rate_bp"] + 5000) // 10000
    return ((frame["amount_vat_cents"] - expected).abs() <= 1).fillna(True).astype(bool)


def _exemption_present(frame: pd.DataFrame) -> pd.Series:
    exempt = frame["vat_rate_bp"] == 0
    return ~exempt | frame["vat_exemption_reason"].fillna("").str.strip().ne("")


def _original_present(frame: pd.DataFrame) -> pd.Series:
    credit_note = frame["invoice_type"] == "AVOIR"
    return ~credit_note | frame["original_invoice_number"].fillna("").str.strip().ne("")


def _due_after_invoice(frame: pd.DataFrame) -> pd.Series:
    due = frame["due_date"]
    return due.isna() | frame["invoice_date"].isna() | (due >= frame["invoice_date"])


def invoice_row_schema(today: date, supplier_sirets: frozenset[str]) -> pa.DataFrameSchema:
    """Row rules on the typed frame; `today` and the configured suppliers are run inputs."""
    return pa.DataFrameSchema(
        {
            "invoice_number": pa.Column(
                str, pa.Check.str_matches(INVOICE_NUMBER_RE, name="invoice_number_format")
            ),
            "invoice_date": pa.Column(
                object,
                pa.Check(
                    lambda s: s.isna() | (s <= today), element_wise=False, name="date_not_future"
                ),
                nullable=True,
            ),
            "invoice_type": pa.Column(str, pa.Check.isin(INVOICE_TYPES, name="invoice_type")),
            "supplier_siret": pa.Column(
                str, pa.Check.isin(sorted(supplier_sirets), name="supplier_known")
            ),
            "buyer_siret": pa.Column(
                str, pa.Check(is_valid_siret, element_wise=True, name="siret_checksum")
            ),
            "buyer_name": pa.Column(str, pa.Check.str_length(1, 200, name="buyer_name_length")),
            "engagement_number": pa.Column(
                str, pa.Check.str_length(0, 50, name="engagement_length"), nullable=True
            ),
            "buyer_service_code": pa.Column(
                str, pa.Check.str_length(0, 100, name="service_code_length"), nullable=True
            ),
            "currency": pa.Column(str, pa.Check.isin(sorted(CURRENCIES), name="currency_code")),
            "payment_mode": pa.Column(str, pa.Check.isin(PAYMENT_MODES, name="payment_mode")),
            "vat_rate_bp": pa.Column(
                "Int64", pa.Check.isin(sorted(VAT_RATES_BP), name="vat_rate_allowed"), nullable=True
            ),
            "amount_ht_cents": pa.Column(
                "Int64", pa.Check.ge(0, name="amount_not_negative"), nullable=True
            ),
            "amount_vat_cents": pa.Column(
                "Int64", pa.Check.ge(0, name="amount_not_negative"), nullable=True
            ),
            "comment": pa.Column(
                str, pa.Check.str_length(0, 2000, name="comment_length"), nullable=True
            ),
            "pdf_file": pa.Column(str, pa.Check.str_length(1, 1000, name="pdf_required")),
        },
        checks=[
            pa.Check(_vat_consistent, name="vat_amount_consistent"),
            pa.Check(_exemption_present, name="exemption_reason_required"),
            pa.Check(_original_present, name="original_invoice_required"),
            pa.Check(_due_after_invoice, name="due_date_after_invoice"),
        ],
        strict=False,
        coerce=False,
    )
