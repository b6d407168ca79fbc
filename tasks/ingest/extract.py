"""Read an export folder: the invoice table (CSV or XLSX) and the optional entrepreneurs file.

The reader is forgiving about form (encoding, separator, header spelling) and strict about content:
it returns every cell as text with its line number, and leaves judging to validation. The only
cells it changes are those no later step could hold (`tasks.ingest.cells`: control characters,
line breaks in a one-line column, a cell over its limit), and it says so for their line. A file it
cannot read at all becomes one file-level reason, never an exception.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from chorus_etl.errors import NeedsAction
from schemas.export import ENTREPRENEUR_COLUMNS, INVOICE_COLUMNS, Column, alias_map, header_key
from schemas.issues import Reason
from tasks.ingest import file_checks
from tasks.ingest.cells import LineFindings, clean_column
from tasks.ingest.file_checks import FileLimits, file_reason
from tasks.preflight.split import Part

INVOICE_FILES = ("invoices.csv", "invoices.xlsx", "factures.csv", "factures.xlsx")
ENTREPRENEUR_FILES = ("entrepreneurs.csv", "entrepreneurs.xlsx")
LINE = "_line"


Key = tuple[str, str]


@dataclass
class Table:
    """A table read from one file: canonical columns of text, plus the 1-based file line.

    An invoice table read from another layout (`tasks.ingest.caerp`) also says, per invoice,
    where each value came from (`sources`, column -> "export", "customers", …), the reasons
    its reading found (`extra_reasons`), what else its source hash covers (`extra_source`: the
    rows and files of the layout that the contract columns do not show), and the PDFs already
    read (`known_pdfs`: the parts of a merged PDF)."""

    path: Path
    sha256: str
    frame: pd.DataFrame
    ignored_columns: list[str] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    #: What the cells' cleaning found, by file line (`tasks.ingest.cells`).
    findings: LineFindings = field(default_factory=LineFindings)
    layout: str = "contract"
    sources: dict[Key, dict[str, str]] = field(default_factory=dict)
    extra_reasons: dict[Key, list[Reason]] = field(default_factory=dict)
    extra_source: dict[Key, str] = field(default_factory=dict)
    known_pdfs: dict[str, Part] = field(default_factory=dict)

    @property
    def readable(self) -> bool:
        return not self.reasons


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (BOM or not) first; Windows-1252 otherwise, ISO-8859-15 for its undefined bytes."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("iso-8859-15"), "iso-8859-15"


def detect_separator(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: header.count(sep) for sep in (";", "\t", ",")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ";"


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_rows(path: Path, data: bytes, max_bytes: int) -> list[list[str]]:
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
    text, _encoding = decode(data)
    # No cell can be longer than its file: a long one refuses its row (`tasks.ingest.cells`)
    # instead of the csv module refusing the file. The limit is the module's, for the process.
    csv.field_size_limit(max(csv.field_size_limit(), max_bytes))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=detect_separator(text))
    return [[cell.strip() for cell in row] for row in reader]


def read_table(
    path: Path, columns: tuple[Column, ...], label_fr: str, limits: FileLimits = FileLimits()
) -> Table:
    """Reads one table; a missing required column fails the whole file with one clear message,
    and so does a file `file_checks` refuses before it is parsed."""
    oversize = file_checks.too_large(path, path.stat().st_size, limits, label_fr)
    if oversize is not None:
        return Table(path=path, sha256="", frame=pd.DataFrame(), reasons=[oversize])
    data = path.read_bytes()
    table = Table(path=path, sha256=hashlib.sha256(data).hexdigest(), frame=pd.DataFrame())
    refused = file_checks.refusal(path, data, limits, label_fr)
    if refused is not None:
        table.reasons.append(refused)
        return table
    try:
        rows = _read_rows(path, data, limits.max_bytes)
    except Exception as exc:  # any parser failure on hostile bytes is a file-level reason
        table.reasons.append(
            file_reason(
                "file.unreadable",
                path,
                f"Le fichier {label_fr} « {path.name} » est illisible ({type(exc).__name__}).",
                f"{path.name} cannot be read: {type(exc).__name__}: {exc}",
            )
        )
        return table
    header_index = next((i for i, row in enumerate(rows) if any(row)), None)
    if header_index is None:
        table.reasons.append(
            file_reason(
                "file.empty",
                path,
                f"Le fichier {label_fr} « {path.name} » est vide.",
                f"{path.name} is empty",
            )
        )
        return table
    mapping = alias_map(columns)
    names = [c.name for c in columns]
    header = rows[header_index]
    positions: dict[str, int] = {}
    for position, name in enumerate(header):
        canonical = mapping.get(header_key(name))
        if canonical is None:
            if name.strip():
                table.ignored_columns.append(name.strip())
        elif canonical not in positions:
            positions[canonical] = position
    missing = [c.name for c in columns if c.required and c.name not in positions]
    if missing:
        table.reasons.append(
            file_reason(
                "file.missing_columns",
                path,
                f"Colonnes obligatoires absentes de « {path.name} » : {', '.join(missing)}.",
                f"{path.name} lacks required columns: {', '.join(missing)}",
            )
        )
        return table
    # Column by column: a dict per row cost more than the rest of reading an unchanged export.
    cells: dict[str, list[str]] = {name: [] for name in [*names, LINE]}
    found = [(cells[name], pos) for name, pos in positions.items()]
    absent = [cells[name] for name in names if name not in positions]
    for line, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        if not any(cell.strip() for cell in row):
            continue
        width = len(row)
        for values, pos in found:
            values.append(row[pos].strip() if pos < width else "")
        for values in absent:
            values.append("")
        cells[LINE].append(str(line))
    for column in columns:
        clean_column(column, cells[column.name], cells[LINE], table.findings)
    table.frame = pd.DataFrame(
        {name: pd.Series(values, dtype=str) for name, values in cells.items()}
    )
    return table


def find_invoice_table(export_dir: Path, limits: FileLimits) -> Path | None:
    """The contract's invoice table, else a CAERP invoice list (`find_caerp_table`)."""
    for name in INVOICE_FILES:
        candidate = export_dir / name
        if candidate.is_file():
            return candidate
    return find_caerp_table(export_dir, CAERP_LIST, limits)


#: The header cells that tell CAERP's exports apart (matched as `header_key` does).
CAERP_LIST = ("enseigne", "numerodefacture", "montantttc")
CAERP_DETAIL = ("enseigne", "facture", "description", "prixunitht")
CAERP_CUSTOMERS = ("raisonsociale", "numerosiretousiren")
_SNIFF_BYTES = 4096


def _first_row(path: Path, limits: FileLimits) -> list[str]:
    """The header of a CSV or XLSX file, read cheaply; [] for anything unreadable, and for a
    workbook the file checks refuse (openpyxl inflates its shared strings on opening)."""
    try:
        if path.suffix.lower() == ".xlsx":
            from openpyxl import load_workbook

            data = path.read_bytes() if path.stat().st_size <= limits.max_bytes else b""
            if not data or file_checks.refusal(path, data, limits, "de l'export") is not None:
                return []
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                for row in workbook.worksheets[0].iter_rows(values_only=True, max_row=5):
                    cells = [_cell_text(v) for v in row]
                    if any(cells):
                        return cells
                return []
            finally:
                workbook.close()
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
        text, _encoding = decode(head)
        first = next((line for line in text.splitlines() if line.strip()), "")
        return next(csv.reader([first], delimiter=detect_separator(first)), [])
    except Exception:  # a file that cannot be sniffed is not the one looked for
        return []


def plain_key(cell: str) -> str:
    """`header_key` with only letters and digits left: CAERP's headers carry parentheses and
    apostrophes ("Numéro SIRET (ou SIREN)", "Lieu d’exécution")."""
    return re.sub(r"[^a-z0-9]", "", header_key(cell))


def find_caerp_table(export_dir: Path, wanted: tuple[str, ...], limits: FileLimits) -> Path | None:
    """The CSV or XLSX file at the top of the export whose header holds every cell of `wanted`
    (`CAERP_LIST`, `CAERP_DETAIL`, `CAERP_CUSTOMERS`): CAERP names its downloads after the date."""
    try:
        candidates = sorted(
            p
            for p in export_dir.iterdir()
            if p.is_file() and p.suffix.lower() in (".csv", ".xlsx") and "completer" not in p.name
        )
    except OSError:
        return None
    for candidate in candidates:
        header = {plain_key(cell) for cell in _first_row(candidate, limits)}
        if all(cell in header for cell in wanted):
            return candidate
    return None


class FileRefused(NeedsAction):
    """A file of another layout that the file checks refuse before it is parsed."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.message_en)
        self.reason = reason


def read_rows(
    path: Path, limits: FileLimits = FileLimits(), label_fr: str = "de l'export"
) -> tuple[str, list[list[str]]]:
    """Every row of a CSV or XLSX file as text, and its SHA-256 (a file of another layout is read
    whole, then mapped by its own reader), after the same checks as the contract's tables:
    `FileRefused` with the reason when they refuse it."""
    oversize = file_checks.too_large(path, path.stat().st_size, limits, label_fr)
    if oversize is not None:
        raise FileRefused(oversize)
    data = path.read_bytes()
    refused = file_checks.refusal(path, data, limits, label_fr)
    if refused is not None:
        raise FileRefused(refused)
    try:
        rows = _read_rows(path, data, limits.max_bytes)
    except Exception as exc:  # any parser failure on hostile bytes is a file-level reason
        raise FileRefused(
            file_reason(
                "file.unreadable",
                path,
                f"Le fichier {label_fr} « {path.name} » est illisible ({type(exc).__name__}).",
                f"{path.name} cannot be read: {type(exc).__name__}: {exc}",
            )
        ) from None
    return hashlib.sha256(data).hexdigest(), rows


def read_invoices(export_dir: Path, limits: FileLimits = FileLimits()) -> Table:
    path = find_invoice_table(export_dir, limits)
    if path is None:
        missing = export_dir / "invoices.csv"
        return Table(
            path=missing,
            sha256="",
            frame=pd.DataFrame(),
            reasons=[
                file_reason(
                    "file.missing",
                    missing,
                    f"L'export « {export_dir.name} » ne contient pas de fichier invoices.csv "
                    "ou invoices.xlsx.",
                    f"{export_dir} has no invoices.csv or invoices.xlsx",
                )
            ],
        )
    return read_table(path, INVOICE_COLUMNS, "des factures", limits)


def read_entrepreneurs(path: Path, limits: FileLimits = FileLimits()) -> Table:
    return read_table(path, ENTREPRENEUR_COLUMNS, "des entrepreneurs", limits)


def export_entrepreneurs_file(export_dir: Path) -> Path | None:
    """The directory file an export brings with it, if any."""
    for name in ENTREPRENEUR_FILES:
        candidate = export_dir / name
        if candidate.is_file():
            return candidate
    return None


def find_entrepreneurs_file(export_dir: Path, configured: Path) -> Path | None:
    """The export's own directory file wins over the configured one."""
    own = export_entrepreneurs_file(export_dir)
    if own is not None:
        return own
    return configured if configured.is_file() else None
