"""What the export lacks: read from the invoice's PDF, asked of accounting, and taken back.

- `complete_from_pdfs`: after the preflight, an invoice whose buyer SIRET, engagement, service code
  or (credit note) original number is empty gets the value its PDF announces by the guide's
  keywords, as Chorus Pro's OCR would read it, or the buyer SIRET of its embedded Factur-X when
  that is a SIRET; a value the export gives and the PDF contradicts is a reason. A filled value
  still passes every rule (the flow asks the directory again for those invoices).
- `write_to_complete`: one "à compléter" CSV per export, one row per invoice still missing
  something, its missing columns empty and the reasons in French, for accounting to fill;
- `merge_complement`: that file, filled and dropped into the export's folder, fills the empty
  cells of the export's rows at the next ingest (another value than the export's is a reason).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from chorus_etl.untrusted import spreadsheet_cell
from schemas.export import Column, is_valid_siret
from schemas.issues import Reason
from tasks.ingest import extract
from tasks.ingest.caerp import ambiguity, disagreement
from tasks.ingest.file_checks import FileLimits
from tasks.ingest.validate import InvoiceDraft, clean_siret
from tasks.preflight.fields import BUYER_SIRET, ENGAGEMENT, ORIGINAL, SERVICE
from tasks.preflight.pdfs import PdfCheck

Key = tuple[str, str]
PDF_TEXT, EMBEDDED_XML, COMPLEMENT = "pdf text", "embedded xml", "complement"
FILLABLE = (BUYER_SIRET, SERVICE, ENGAGEMENT, ORIGINAL)
#: Rules that only say a column is empty: gone once the column is filled.
EMPTY_RULES: dict[str, frozenset[str]] = {
    BUYER_SIRET: frozenset(
        {"buyer_siret.invalid", "buyer_siret.missing", "buyer_siret.siren_only", "buyer_siret.rna"}
    ),
    ORIGINAL: frozenset({"credit_note.original_missing"}),
}
_LIMITS = {ENGAGEMENT: 50, SERVICE: 100, ORIGINAL: 20}
#: The rules an "à compléter" row answers (the directory's demands included).
COMPLETABLE = frozenset(
    {
        *EMPTY_RULES[BUYER_SIRET],
        *EMPTY_RULES[ORIGINAL],
        "buyer.service_required",
        "buyer.engagement_required",
        "buyer.service_or_engagement_required",
        "service.engagement_required",
        "source.disagree",
        "source.ambiguous",
    }
)
COMPLEMENT_COLUMNS: tuple[Column, ...] = (
    Column("supplier_siret", ("siret_fournisseur",), True),
    Column("invoice_number", ("numero_facture",), True),
    Column("buyer_name", ("client",), False),
    Column(BUYER_SIRET, ("siret_client",), False),
    Column(SERVICE, ("code_service",), False),
    Column(ENGAGEMENT, ("numero_engagement",), False),
    Column(ORIGINAL, ("facture_origine",), False),
    Column("reasons", ("raisons", "raison"), False),
)
_HEADER = [
    "siret_fournisseur",
    "numero_facture",
    "client",
    "siret_client",
    "code_service",
    "numero_engagement",
    "facture_origine",
    "raisons",
]
COMPLEMENT_GLOB = "*a-completer*.csv"


def _source_note(column: str, value: str, where: str) -> Reason:
    """A warning that says where a value the export lacked was read."""
    what = {
        BUYER_SIRET: "Le SIRET du client",
        ENGAGEMENT: "Le numéro d'engagement",
        SERVICE: "Le code service",
        ORIGINAL: "Le numéro de la facture d'origine",
    }[column]
    place = "sur le PDF de la facture" if where == PDF_TEXT else "dans le XML Factur-X du PDF"
    return Reason(
        rule=f"source.{where.replace(' ', '_')}",
        column=column,
        value=value,
        message_fr=f"{what} « {value} » a été lu {place} (l'export ne le donnait pas) : "
        "vérifiez-le.",
        message_en=f"{column} {value!r} read from the {where} (the export left it empty)",
    )


def _candidates(column: str, check: PdfCheck) -> list[tuple[str, str]]:
    """(value, source) the PDF offers for a column: its text, then its embedded XML."""
    found = [(v, PDF_TEXT) for v in check.found.get(column, ())]
    xml = check.embedded_xml
    if column == BUYER_SIRET:
        found = [(v, w) for v, w in found if len(v) == 14]
        buyer = clean_siret(xml.buyer_id or "") if xml is not None else ""
        if is_valid_siret(buyer) and buyer not in {v for v, _ in found}:
            found.append((buyer, EMBEDDED_XML))
    return found


def _fill(draft: InvoiceDraft, column: str, check: PdfCheck) -> bool:
    """Fills one empty column from the PDF; True when it did."""
    offered = _candidates(column, check)
    current = draft.get(column)
    values = tuple(dict.fromkeys(v for v, _ in offered))
    if current:
        if values and current not in values and column != ORIGINAL:
            where = draft.sources.get(column, "export")
            draft.reasons.append(disagreement(column, current, where, values[0], offered[0][1]))
        return False
    if not values:
        return False
    if len(values) > 1:
        draft.reasons.append(ambiguity(column, values, offered[0][1]))
        return False
    value, where = offered[0]
    if len(value) > _LIMITS.get(column, 14) or (
        column == BUYER_SIRET and not is_valid_siret(value)
    ):
        return False
    draft.header[column] = value
    draft.sources[column] = where
    gone = EMPTY_RULES.get(column, frozenset())
    draft.reasons = [r for r in draft.reasons if not (r.rule in gone and r.column == column)]
    draft.warnings.append(_source_note(column, value, where))
    return True


def complete_from_pdfs(
    drafts: Iterable[InvoiceDraft], checks: dict[Key, PdfCheck]
) -> list[InvoiceDraft]:
    """Fills what each invoice lacks from its PDF; returns the invoices whose routing (buyer,
    service, engagement) changed, which the directory must judge again."""
    rerouted: list[InvoiceDraft] = []
    for draft in drafts:
        check = checks.get((draft.supplier_siret, draft.invoice_number))
        if check is None or (not check.ok and not check.found):
            continue
        columns = [c for c in FILLABLE if c != ORIGINAL or draft.get("invoice_type") == "AVOIR"]
        filled = [column for column in columns if _fill(draft, column, check)]
        if any(column != ORIGINAL for column in filled):
            rerouted.append(draft)
    return rerouted


def to_complete_rows(drafts: Iterable[InvoiceDraft]) -> list[list[str]]:
    rows = []
    for draft in drafts:
        reasons = [r for r in draft.reasons if r.rule in COMPLETABLE]
        if not reasons:
            continue
        rows.append(
            [
                draft.supplier_siret,
                draft.invoice_number,
                draft.get("buyer_name") or "",
                draft.get(BUYER_SIRET) or "" if is_valid_siret(draft.get(BUYER_SIRET)) else "",
                draft.get(SERVICE) or "",
                draft.get(ENGAGEMENT) or "",
                draft.get(ORIGINAL) or "",
                " ; ".join(dict.fromkeys(r.message_fr for r in reasons)),
            ]
        )
    return rows


def write_to_complete(drafts: Iterable[InvoiceDraft], target: Path) -> Path | None:
    """Writes (or, when nothing is missing any more, removes) the export's "à compléter" CSV;
    UTF-8 with a BOM and `;`, as a French spreadsheet opens it. Returns its path if written."""
    rows = to_complete_rows(drafts)
    if not rows:
        target.unlink(missing_ok=True)
        return None
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(_HEADER)
    writer.writerows([[spreadsheet_cell(cell) for cell in row] for row in rows])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\ufeff" + buffer.getvalue(), encoding="utf-8")
    return target


def merge_complement(table: extract.Table, export_dir: Path, limits: FileLimits) -> None:
    """Fills the empty cells of `table` from the "à compléter" files found in the export's folder
    (`*a-completer*.csv`), recording the source; a different value is a reason. Unreadable
    files, or files over the configured limits, are file reasons, as any export file."""
    if not table.readable or table.frame.empty:
        return
    frame = table.frame
    rows_of: dict[tuple[str, str], list[int]] = {}
    for position, key in enumerate(
        zip(frame["supplier_siret"].map(clean_siret), frame["invoice_number"], strict=True)
    ):
        rows_of.setdefault(key, []).append(position)
    for path in sorted(export_dir.glob(COMPLEMENT_GLOB)):
        complement = extract.read_table(path, COMPLEMENT_COLUMNS, "à compléter", limits)
        if not complement.readable:
            table.reasons += complement.reasons
            continue
        for _, row in complement.frame.iterrows():
            key = (clean_siret(str(row["supplier_siret"])), str(row["invoice_number"]).strip())
            positions = rows_of.get(key, [])
            if not positions:
                continue
            for column in FILLABLE:
                given = str(row[column]).strip()
                if column == BUYER_SIRET:
                    given = clean_siret(given)
                if not given:
                    continue
                current = str(frame.at[frame.index[positions[0]], column]).strip()
                if column == BUYER_SIRET:
                    current = clean_siret(current)
                sources = table.sources.setdefault(key, {})
                if current and current != given:
                    table.extra_reasons.setdefault(key, []).append(
                        disagreement(
                            column, current, sources.get(column, "export"), given, COMPLEMENT
                        )
                    )
                    continue
                for position in positions:
                    frame.at[frame.index[position], column] = given
                sources[column] = COMPLEMENT
                gone = EMPTY_RULES.get(column, frozenset())
                table.extra_reasons[key] = [
                    r
                    for r in table.extra_reasons.get(key, [])
                    if not (r.rule in gone and r.column == column)
                ]
