"""Reading a CAERP (formerly enDI) export folder as the export contract's invoice table.

CAERP's "Liste des factures" has one row per document, credit notes mixed in with negative amounts,
the entrepreneur as a trade name (`Enseigne`), the customer as a name, and a `HT <name>;<name>` pair
per VAT rate the CAE configured. This reader turns it into the contract's columns, row per VAT
line, so that the rest of the ingest (validation, directory, preflight, staging) is the contract
export's own:

- entrepreneur and supplier structure: `Enseigne` is the entrepreneur's name in the directory (or
  `CHORUS_ETL_CAERP_ENSEIGNES` maps it to a code);
- buyer SIRET: the customers file (`clients.csv`), by the customer's name; a SIREN, an RNA number
  or nothing there is a reason, unless the object names the SIRET;
- service code and engagement: the guide's keywords in the object and, with the detail export,
  in the lines' descriptions (`tasks.preflight.fields`); what is still missing after that is read
  from the PDF by the preflight (`tasks.ingest.complete`);
- VAT lines: each non-zero pair, its name mapped to a rate (`20 %` in the name, a 0 % mention, or
  `CHORUS_ETL_CAERP_VAT_RATES`);
- credit notes: negative totals (the original's number is read from the PDF's reference);
- PDFs: `facture_<numero>.pdf` / `avoir_<numero>.pdf` anywhere in the folder, else the invoice's
  part of a merged `factures_ventes*.pdf`, split once into a folder of the pipeline's own
  (`tasks.preflight.split`).

Every value records its source; two sources that disagree give a reason, never a silent choice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd

from chorus_etl.french import plain_amount
from schemas.export import INVOICE_COLUMNS, is_valid_siret
from schemas.issues import Reason
from tasks.ingest import extract
from tasks.ingest.file_checks import FileLimits
from tasks.ingest.validate import EntrepreneurEntry, clean_siret, parse_amount_cents
from tasks.preflight.fields import BUYER_SIRET, ENGAGEMENT, ORIGINAL, SERVICE, find_fields
from tasks.preflight.split import Part, split_dir_of, split_merged_pdf

Key = tuple[str, str]
MERGED_GLOB = "factures_ventes*.pdf"
EXPORT, CUSTOMERS, DETAIL = "export", "customers file", "detail export"
_RNA = re.compile(r"^W\d{9}$", re.IGNORECASE)
_RATE_IN_NAME = re.compile(r"(\d{1,2}(?:[.,]\d{1,2})?)\s*%")
_EXEMPT_WORDS = ("exon", "non applicable", "293 b", "franchise", "autoliquidation", "hors taxe")
_LIST_COLUMNS = {
    "enseigne": "Enseigne",
    "client": "Client",
    "datedudocument": "Date du document",
    "numerodefacture": "Numéro de facture",
    "objet": "Objet",
    "montantht": "Montant HT",
    "montantttc": "Montant TTC",
}
_AFTER_PAIRS = {"assurance", "tauxdassurance", "montantdelassurance", "datededebut", "datedefin"}


def _name_key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(folded.casefold().split())


def vat_rate_of(name: str, overrides: Mapping[str, Decimal]) -> Decimal | None:
    """The rate of a CAERP VAT name: the settings' mapping, a percentage written in the name
    ("TVA 20%", "TVA 5,5 %"), or 0 for an exemption mention ("TVA non applicable, art. 293 B")."""
    for known, rate in overrides.items():
        if _name_key(known) == _name_key(name):
            return rate
    match = _RATE_IN_NAME.search(name)
    if match:
        return Decimal(match.group(1).replace(",", "."))
    if any(word in _name_key(name) for word in _EXEMPT_WORDS):
        return Decimal(0)
    return None


def _reason(rule: str, column: str | None, value: str | None, fr: str, en: str) -> Reason:
    return Reason(
        rule=rule,
        column=column,
        value=None if value is None else value[:200],
        message_fr=fr,
        message_en=en,
    )


def disagreement(column: str, kept: str, kept_from: str, other: str, other_from: str) -> Reason:
    """Two sources give two values: a reason, for accounting to say which is right."""
    return _reason(
        "source.disagree",
        column,
        f"{kept} / {other}",
        f"Deux sources se contredisent pour {FRENCH_COLUMN.get(column, column)} : « {kept} » "
        f"({FRENCH_SOURCE.get(kept_from, kept_from)}) et « {other} » "
        f"({FRENCH_SOURCE.get(other_from, other_from)}). Indiquez la bonne valeur.",
        f"{column}: {kept!r} from {kept_from} disagrees with {other!r} from {other_from}",
    )


def ambiguity(column: str, values: tuple[str, ...], where: str) -> Reason:
    return _reason(
        "source.ambiguous",
        column,
        " / ".join(values),
        f"{FRENCH_SOURCE.get(where, where).capitalize()} donne plusieurs valeurs pour "
        f"{FRENCH_COLUMN.get(column, column)} ({', '.join(values)}) : indiquez la bonne.",
        f"{column}: several values in the {where}: {', '.join(values)}",
    )


FRENCH_COLUMN = {
    BUYER_SIRET: "le SIRET du client",
    ENGAGEMENT: "le numéro d'engagement",
    SERVICE: "le code service",
    ORIGINAL: "la facture d'origine de l'avoir",
}
FRENCH_SOURCE = {
    EXPORT: "l'export",
    CUSTOMERS: "le fichier des clients",
    DETAIL: "le détail des factures",
    "pdf text": "le texte du PDF",
    "embedded xml": "le XML Factur-X du PDF",
    "complement": "le fichier à compléter",
}


def buyer_id_reason(value: str, customer: str) -> Reason | None:
    """Why the customers file's identifier is no buyer SIRET (None when it is one, or when it is
    some other text: validation reports that as an invalid SIRET)."""
    digits = clean_siret(value)
    if not digits:
        return _reason(
            "buyer_siret.missing",
            BUYER_SIRET,
            customer,
            f"Le SIRET du client « {customer} » est absent du fichier des clients et de la "
            "facture : indiquez-le (14 chiffres), annoncé sur la facture par « SIRET client ».",
            f"no SIRET for customer {customer!r} in the customers file nor on the invoice",
        )
    if _RNA.match(digits):
        return _reason(
            "buyer_siret.rna",
            BUYER_SIRET,
            digits,
            f"Le client « {customer} » est identifié par un numéro RNA ({digits}), pas par un "
            "SIRET : Chorus Pro exige le SIRET (14 chiffres) du service destinataire.",
            f"customer {customer!r} has an RNA number, not a SIRET",
        )
    if digits.isdigit() and len(digits) == 9:
        return _reason(
            "buyer_siret.siren_only",
            BUYER_SIRET,
            digits,
            f"Le fichier des clients ne donne que le SIREN ({digits}) du client « {customer} » : "
            "Chorus Pro exige le SIRET (14 chiffres) de l'établissement destinataire.",
            f"customer {customer!r} has only a SIREN ({digits})",
        )
    return None


@dataclass
class _Customers:
    by_name: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path | None, limits: FileLimits) -> _Customers:
        customers = cls()
        if path is None:
            return customers
        _sha, rows = extract.read_rows(path, limits, "des clients")
        header_index = next((i for i, row in enumerate(rows) if any(row)), None)
        if header_index is None:
            return customers
        header = [extract.plain_key(cell) for cell in rows[header_index]]
        name_at = header.index("raisonsociale")
        siret_at = header.index("numerosiretousiren")
        internal_at = header.index("nom") if "nom" in header else None  # the first "Nom"
        for row in rows[header_index + 1 :]:
            cells = [*row, *[""] * (len(header) - len(row))]
            record = [cells[name_at], cells[siret_at]]
            for name in (cells[name_at], cells[internal_at] if internal_at is not None else ""):
                if name.strip():
                    customers.by_name.setdefault(_name_key(name), record)
        return customers


def _entrepreneur_of(
    enseigne: str,
    entries: Mapping[tuple[str, str], EntrepreneurEntry],
    mapping: Mapping[str, str],
) -> tuple[EntrepreneurEntry | None, Reason | None]:
    code = next((c for name, c in mapping.items() if _name_key(name) == _name_key(enseigne)), None)
    if code is not None:
        found = [e for e in entries.values() if e.code == code]
    else:
        found = [e for e in entries.values() if _name_key(e.name) == _name_key(enseigne)]
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, _reason(
            "entrepreneur.enseigne_unknown",
            "entrepreneur_code",
            enseigne,
            f"L'enseigne « {enseigne} » ne correspond à aucun entrepreneur de l'annuaire : "
            "ajoutez-la (colonne nom) ou faites-la correspondre à un code "
            "(CHORUS_ETL_CAERP_ENSEIGNES).",
            f"Enseigne {enseigne!r} matches no entrepreneur of the directory",
        )
    return None, _reason(
        "entrepreneur.enseigne_ambiguous",
        "entrepreneur_code",
        enseigne,
        f"L'enseigne « {enseigne} » correspond à plusieurs entrepreneurs "
        f"({', '.join(e.code for e in found)}) : précisez le code (CHORUS_ETL_CAERP_ENSEIGNES).",
        f"Enseigne {enseigne!r} matches several entrepreneurs",
    )


def _pdf_files(export_dir: Path) -> dict[str, str]:
    """CAERP's own PDF names (lower case) -> path relative to the export."""
    found: dict[str, str] = {}
    for path in sorted(export_dir.rglob("*.pdf")):
        name = path.name.lower()
        if name.startswith(("facture_", "avoir_")) and path.is_file():
            found.setdefault(name, path.relative_to(export_dir).as_posix())
    return found


@dataclass
class _Merged:
    """The parts of the export's merged PDFs, by invoice number, and the files' own stamps."""

    parts: dict[str, tuple[Path, Part]] = field(default_factory=dict)
    stamps: str = ""
    reasons: list[Reason] = field(default_factory=list)

    @classmethod
    def split(cls, export_dir: Path, split_root: Path, workers: int) -> _Merged:
        merged = cls()
        for path in sorted(export_dir.glob(MERGED_GLOB)):
            stat = path.stat()
            merged.stamps += f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino};"
            folder = split_dir_of(path, split_root)
            split = split_merged_pdf(path, folder, workers=workers)
            if split.unreadable:
                merged.reasons.append(
                    _reason(
                        "pdf.merged_unreadable",
                        "pdf_file",
                        path.name,
                        f"Le PDF groupé « {path.name} » est illisible : exportez de nouveau les "
                        "factures (une par fichier ou l'export massif).",
                        f"merged PDF {path.name} cannot be read: {split.unreadable}",
                    )
                )
            for number, part in split.parts.items():
                merged.parts.setdefault(number, (folder, part))
        return merged


def _pairs(header: list[str]) -> list[tuple[int, int, str]]:
    """(position of HT, position of VAT, VAT name) for each `HT <name>;<name>` pair."""
    pairs = []
    for position, cell in enumerate(header):
        name = cell.strip()
        if name.upper().startswith("HT ") and position + 1 < len(header):
            vat_name = header[position + 1].strip()
            if _name_key(vat_name) == _name_key(name[3:]):
                pairs.append((position, position + 1, vat_name))
    return pairs


def _cents(text: str) -> int:
    parsed = parse_amount_cents(text) if text else 0
    return parsed if parsed is not None else 0


def _unsigned(cents: int) -> str:
    """The contract's amounts carry no sign: an avoir says what it is by its type."""
    return plain_amount(abs(cents))


def _rate_text(rate: Decimal) -> str:
    return f"{rate.normalize():f}"


@dataclass
class CaerpReader:
    """One CAERP export folder read into contract rows."""

    export_dir: Path
    entries: Mapping[tuple[str, str], EntrepreneurEntry]
    vat_rates: Mapping[str, Decimal]
    enseignes: Mapping[str, str]
    split_root: Path
    workers: int = 2
    limits: FileLimits = field(default_factory=FileLimits)

    def read(self, list_path: Path) -> extract.Table:
        """The list as contract rows; a file the checks refuse (size, encoding, a workbook's
        inflation) refuses the export with its reason, as for a contract export."""
        try:
            return self._read(list_path)
        except extract.FileRefused as refused:
            return extract.Table(
                path=list_path, sha256="", frame=pd.DataFrame(), reasons=[refused.reason]
            )

    def _read(self, list_path: Path) -> extract.Table:
        sha, rows = extract.read_rows(list_path, self.limits, "des factures")
        table = extract.Table(path=list_path, sha256=sha, frame=pd.DataFrame(), layout="caerp")
        header_index = next((i for i, row in enumerate(rows) if any(row)), None)
        if header_index is None:
            return table
        header = rows[header_index]
        keys = [extract.plain_key(cell) for cell in header]
        positions = {name: keys.index(key) for key, name in _LIST_COLUMNS.items() if key in keys}
        pairs = _pairs(header)
        paired = {p for ht, vat, _ in pairs for p in (ht, vat)}
        table.ignored_columns = [
            cell
            for position, cell in enumerate(header)
            if cell.strip()
            and position not in paired
            and position not in positions.values()
            and keys[position] not in _AFTER_PAIRS
        ]
        customers = _Customers.read(
            extract.find_caerp_table(self.export_dir, extract.CAERP_CUSTOMERS, self.limits),
            self.limits,
        )
        details = self._details()
        pdfs = _pdf_files(self.export_dir)
        merged = _Merged.split(self.export_dir, self.split_root, self.workers)
        table.reasons += merged.reasons
        out: list[dict[str, str]] = []
        for line, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
            if not any(cell.strip() for cell in row):
                continue
            cells = [*row, *[""] * (len(header) - len(row))]

            def cell(name: str, cells: list[str] = cells) -> str:
                position = positions.get(name)
                return cells[position].strip() if position is not None else ""

            parsed = self._row(cell, cells, pairs, customers, details, pdfs, merged)
            for values in parsed.vat_rows:
                out.append({**parsed.cells, **values, extract.LINE: str(line)})
            key = parsed.key
            table.sources.setdefault(key, {}).update(parsed.sources)
            table.extra_reasons.setdefault(key, []).extend(parsed.reasons)
            table.extra_source[key] = table.extra_source.get(key, "") + parsed.raw
            if parsed.part is not None:
                table.known_pdfs[parsed.cells["pdf_file"]] = parsed.part
        names = [c.name for c in INVOICE_COLUMNS]
        table.frame = pd.DataFrame(
            {
                name: pd.Series([r.get(name, "") for r in out], dtype=str)
                for name in [*names, extract.LINE]
            }
        )
        stamp = merged.stamps
        table.extra_source = {k: v + stamp for k, v in table.extra_source.items()}
        return table

    def _details(self) -> dict[str, list[str]]:
        """The lines' descriptions of each invoice, by number, from the detail export if any."""
        path = extract.find_caerp_table(self.export_dir, extract.CAERP_DETAIL, self.limits)
        if path is None:
            return {}
        _sha, rows = extract.read_rows(path, self.limits, "du détail des factures")
        header_index = next((i for i, row in enumerate(rows) if any(row)), None)
        if header_index is None:
            return {}
        keys = [extract.plain_key(cell) for cell in rows[header_index]]
        number_at, text_at = keys.index("facture"), keys.index("description")
        found: dict[str, list[str]] = {}
        for row in rows[header_index + 1 :]:
            if len(row) > max(number_at, text_at):
                found.setdefault(row[number_at].strip(), []).append(row[text_at])
        return found

    def _row(
        self,
        cell: Callable[[str], str],
        cells: list[str],
        pairs: list[tuple[int, int, str]],
        customers: _Customers,
        details: dict[str, list[str]],
        pdfs: dict[str, str],
        merged: _Merged,
    ) -> _Parsed:
        number = cell("Numéro de facture")
        enseigne = cell("Enseigne")
        customer = cell("Client")
        reasons: list[Reason] = []
        sources: dict[str, str] = {}
        entry, problem = _entrepreneur_of(enseigne, self.entries, self.enseignes)
        reasons += [problem] if problem else []
        total = _cents(cell("Montant TTC"))
        credit = total < 0 or (total == 0 and _cents(cell("Montant HT")) < 0)
        values: dict[str, str] = {
            "invoice_number": number,
            "invoice_date": cell("Date du document"),
            "invoice_type": "AVOIR" if credit else "FACTURE",
            "supplier_siret": entry.supplier_siret if entry else "",
            "entrepreneur_code": entry.code if entry else "",
            "buyer_name": customer,
            "total_ttc": _unsigned(total) if cell("Montant TTC") else "",
            "currency": "EUR",
        }
        # Buyer: the customers file, then the object's keywords.
        record = customers.by_name.get(_name_key(customer))
        listed = record[1].strip() if record else ""
        written = find_fields(cell("Objet"))
        in_detail = find_fields("\n".join(details.get(number, [])))
        siret = clean_siret(listed)
        id_problem = buyer_id_reason(listed, customer)
        if siret and id_problem is None:
            values["buyer_siret"], sources[BUYER_SIRET] = siret, CUSTOMERS
        for where, found in ((EXPORT, written), (DETAIL, in_detail)):
            for column in (BUYER_SIRET, ENGAGEMENT, SERVICE, ORIGINAL):
                given = found.get(column)
                if not given:
                    continue
                if len(given) > 1:
                    reasons.append(ambiguity(column, given, where))
                    continue
                current = values.get(column, "")
                if not current:
                    if column == BUYER_SIRET and (
                        not is_valid_siret(given[0])
                        or (len(siret) == 9 and not given[0].startswith(siret))
                    ):
                        if len(siret) == 9 and is_valid_siret(given[0]):
                            reasons.append(disagreement(column, siret, CUSTOMERS, given[0], where))
                        continue
                    values[column], sources[column] = given[0], where
                elif current != given[0]:
                    reasons.append(disagreement(column, current, sources[column], given[0], where))
        if not values.get("buyer_siret") and id_problem is not None:
            reasons.append(id_problem)
        elif not values.get("buyer_siret") and siret:
            values["buyer_siret"], sources[BUYER_SIRET] = siret, CUSTOMERS  # judged by validation
        # The PDF: its own file, else its part of a merged PDF.
        part: Part | None = None
        kind = "avoir" if credit else "facture"
        name = f"{kind}_{number.replace(' ', '_')}.pdf"
        if name.lower() in pdfs:
            values["pdf_file"] = pdfs[name.lower()]
        elif number in merged.parts:
            folder, found_part = merged.parts[number]
            values["pdf_file"] = str(folder / found_part.file_name)
            part = found_part
        else:
            values["pdf_file"] = name
        vat_rows: list[dict[str, str]] = []
        for ht_at, vat_at, vat_name in pairs:
            base, vat = _cents(cells[ht_at].strip()), _cents(cells[vat_at].strip())
            if base == 0 and vat == 0:
                continue
            rate = vat_rate_of(vat_name, self.vat_rates)
            if rate is None:
                reasons.append(
                    _reason(
                        "caerp.vat_name_unknown",
                        "vat_rate",
                        vat_name,
                        f"Le taux de la TVA « {vat_name} » est inconnu : indiquez-le "
                        "(CHORUS_ETL_CAERP_VAT_RATES).",
                        f"VAT name {vat_name!r} has no known rate",
                    )
                )
            vat_rows.append(
                {
                    "vat_rate": "" if rate is None else _rate_text(rate),
                    "amount_ht": _unsigned(base),
                    "amount_vat": _unsigned(vat),
                    "vat_exemption_reason": vat_name if rate == 0 else "",
                }
            )
        if not vat_rows:
            vat_rows.append({"vat_rate": "", "amount_ht": _unsigned(_cents(cell("Montant HT")))})
        raw = "\x1f".join([*cells, listed, *details.get(number, [])]) + "\x1e"
        key = (values["supplier_siret"], number)
        return _Parsed(key, values, vat_rows, sources, reasons, raw, part)


@dataclass
class _Parsed:
    key: Key
    cells: dict[str, str]
    vat_rows: list[dict[str, str]]
    sources: dict[str, str]
    reasons: list[Reason]
    raw: str
    part: Part | None
