"""A sample export in CAERP's shape: the same invoices as the contract-shaped sample of the same
seed, written the way a CAE gets them out of CAERP (formerly enDI).

- `export_factures.csv`: CAERP's "Liste des factures" (`;`, every field quoted, `dd/mm/yyyy`,
  amounts with a `.`; credit notes with negative amounts and no type column; a `HT <name>;<name>`
  pair per VAT rate the CAE configured);
- `detail_factures.csv`: "Détail des factures", one row per line;
- `clients.csv`: the customers, the SIRET column holding the buyer's SIRET for most of them, empty
  for some (their entrepreneurs wrote "SIRET client : …" in the object instead);
- `entrepreneurs.csv`: the contract's directory, its `nom` being CAERP's `Enseigne`;
- PDFs laid out as CAERP prints them (`Facture N° …`, `N° d'identification : …`, `Objet : …` with
  the routing written by the entrepreneur, a footer `Facture <numero>` on every page), one file per
  invoice (`pdf/facture_<numero>.pdf`, `pdf/avoir_<numero>.pdf`) for half of them and the other
  half merged into `factures_ventes.pdf` (CAERP's "Export massif"); every fourth single PDF embeds
  CAERP's Factur-X XML.

Bad input (`with_errors`) is the contract sample's, in CAERP's terms: a PDF path cannot leave the
export here, so that invoice's PDF is missing instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from pypdf import PdfReader, PdfWriter

from chorus_etl.french import format_euros, plain_amount
from chorus_pro.simulator import seed
from tasks.facturx.pdfa import Pdfa3, attach_facturx, open_pdf
from tasks.sample.caerp_xml import caerp_facturx_xml
from tasks.sample.export import (
    ERROR_RULES,
    EXEMPTION,
    SampleInvoice,
    sample_items,
    write_broken_pdf,
    write_entrepreneurs,
    write_manifest,
)
from tasks.sample.pdfs import SampleInvoicePdf

LIST_FILE = "export_factures.csv"
DETAIL_FILE = "detail_factures.csv"
CUSTOMERS_FILE = "clients.csv"
MERGED_FILE = "factures_ventes.pdf"

#: The CAE's VAT rates as it named them in CAERP (the 0 % one after its legal mention).
VAT_NAMES: dict[Decimal, str] = {
    Decimal(20): "TVA 20%",
    Decimal(10): "TVA 10%",
    Decimal("5.5"): "TVA 5,5%",
    Decimal(0): EXEMPTION,
}
LIST_HEADER = [
    "Enseigne",
    "Client",
    "Date du document",
    "Numéro de facture",
    "Objet",
    "Lieu d’exécution",
    "Montant HT",
    "Montant TTC",
    "Montant restant dû",
    *(column for name in VAT_NAMES.values() for column in (f"HT {name}", name)),
    "Assurance",
    "Taux d'assurance",
    "Montant de l'assurance",
    "Date de début",
    "Date de fin",
]
DETAIL_HEADER = [
    "Enseigne",
    "Facture",
    "Date",
    "Client",
    "Description",
    "Prix Unit. HT",
    "Prix Unit. TTC",
    "Quantité",
    "Unité",
    "TVA",
    "Total HT",
    "Total TVA",
    "Total TTC",
    "Compte produit",
    "Date d'exécution",
]
CUSTOMER_HEADER = [
    "Type",
    "Raison sociale",
    "Nom",
    "Numéro SIRET (ou SIREN)",
    "Numéro d'immatriculation",
    "TVA intracommunautaire",
    "Compte CG",
    "Compte tiers",
    "Adresse",
    "Code postal",
    "Ville",
    "Pays",
    "Civilité",
    "Nom",
    "Prénom",
    "Adresse e-mail",
]

#: Each kind of bad input, and the rules any of which reports it in a CAERP export.
CAERP_ERROR_RULES = {**ERROR_RULES, "path_escape": {"pdf.missing"}}
_BAD_PDFS = ("scanned_pdf", "encrypted_pdf", "truncated_pdf", "pdf_mismatch", "path_escape")


def _signed(data: SampleInvoicePdf, cents: int) -> int:
    return -cents if data.invoice_type == "AVOIR" else cents


def siret_in_file(data: SampleInvoicePdf, label: str) -> bool:
    """Whether the customers file holds the buyer's SIRET: not for one buyer in four (the same
    in every sample), whose entrepreneurs write it in the object; always for a customer of a
    mistyped SIRET (`label` differs from the buyer's name)."""
    return label != data.buyer_name or int(data.buyer_siret[-3:]) % 4 != 3


def pdf_name(data: SampleInvoicePdf) -> str:
    """CAERP's download name, `{type_document}_{numero}`, spaces as underscores."""
    kind = "avoir" if data.invoice_type == "AVOIR" else "facture"
    return f"{kind}_{data.invoice_number.replace(' ', '_')}.pdf"


def object_text(data: SampleInvoicePdf, label: str) -> str:
    """The object the entrepreneur typed: what was done, then the routing the guide asks for."""
    parts = [data.lines[0].description]
    if data.engagement_number:
        parts.append(f"Engagement : {data.engagement_number}")
    if data.buyer_service_code:
        parts.append(f"Code service : {data.buyer_service_code}")
    if not siret_in_file(data, label):
        parts.append(f"SIRET client : {data.buyer_siret}")
    return " - ".join(parts)


class _CaerpPdf(FPDF):
    """WeasyPrint's layout in fpdf: the same labels, the footer on every page."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 5, self.footer_text, align="C")


def _text(pdf: FPDF, text: str, *, size: float = 9, bold: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", size)
    pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def caerp_pdf_bytes(data: SampleInvoicePdf, *, label: str, printed_siret: str | None) -> bytes:
    """The invoice as CAERP prints it; `printed_siret` is the customers file's value (CAERP prints
    `N° d'identification` only when it has one), `label` the customer's name there."""
    pdf = _CaerpPdf(format="A4")
    pdf.core_fonts_encoding = "cp1252"
    pdf.footer_text = f"Facture {data.invoice_number}"
    pdf.set_creation_date(datetime.combine(data.invoice_date, time(12, 0), tzinfo=UTC))
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=25)
    pdf.add_page()
    _text(pdf, data.supplier_name, bold=True)
    _text(pdf, f"{data.entrepreneur_name} - {' '.join(data.supplier_address)}")
    pdf.ln(4)
    for part in (label, *data.buyer_address):
        _text(pdf, part)
    pdf.ln(4)
    _text(pdf, f"Le {data.invoice_date.strftime('%d/%m/%Y')},")
    _text(pdf, f"{data.title} N° {data.invoice_number}", size=14, bold=True)
    if data.invoice_type == "AVOIR" and data.original_invoice_number:
        _text(pdf, f"Référence : Facture N° {data.original_invoice_number}")
    if printed_siret:
        _text(pdf, f"N° d'identification : {printed_siret}")
    _text(pdf, f"Objet : {object_text(data, label)}")
    pdf.ln(4)
    for line in data.lines:
        amount = format_euros(_signed(data, line.amount_ht_cents))
        rate = f"{line.vat_rate.normalize():f}".replace(".", ",")
        _text(pdf, f"{line.description}    {line.quantity.normalize():f}    {rate} %    {amount}")
    pdf.ln(4)
    _text(pdf, f"Total HT    {format_euros(_signed(data, data.total_ht_cents))}")
    for vat in data.vat_totals():
        name = VAT_NAMES[vat.rate]
        _text(pdf, f"{name}    {format_euros(_signed(data, vat.vat_cents))}")
    _text(pdf, f"Total TTC    {format_euros(_signed(data, data.total_ttc_cents))}", bold=True)
    _text(pdf, "Conditions de paiement : à réception de facture, par virement")
    if sum(map(ord, data.invoice_number)) % 3 == 0:  # some invoices run onto a second page
        pdf.add_page()
        _text(pdf, "Détail des prestations", bold=True)
        for line in data.lines:
            _text(pdf, f"{line.description} : prestation réalisée selon le devis accepté.")
    return bytes(pdf.output())


def _customer_label(invoice: SampleInvoice, canonical: dict[str, str]) -> str:
    """The customer's name in CAERP: one customer per buyer; a buyer named with another SIRET
    (a mistyped one) is another customer, told apart by CAERP's suffix."""
    data = invoice.pdf
    known = canonical.setdefault(data.buyer_name, data.buyer_siret)
    return data.buyer_name if known == data.buyer_siret else f"{data.buyer_name} (2)"


def _customers(items: list[SampleInvoice], labels: list[str]) -> list[list[str]]:
    seen: dict[str, list[str]] = {}
    for invoice, label in zip(items, labels, strict=True):
        data = invoice.pdf
        if label in seen:
            continue
        seen[label] = [
            "company",
            label,
            label[:20],
            data.buyer_siret if siret_in_file(data, label) else "",
            "",
            "",
            "411000",
            f"411{len(seen):04d}",
            data.buyer_address[0],
            data.buyer_address[-1].split(" ", 1)[0],
            data.buyer_address[-1].split(" ", 1)[-1],
            "France",
            "Madame",
            "Comptabilité",
            "Service",
            "compta@acheteur.example",
        ]
    return list(seen.values())


def _list_row(invoice: SampleInvoice, label: str) -> list[str]:
    data = invoice.pdf
    total = invoice.declared_total_cents or data.total_ttc_cents
    pairs: dict[Decimal, tuple[int, int]] = {
        vat.rate: (vat.base_cents, vat.vat_cents) for vat in data.vat_totals()
    }
    cells = [
        data.entrepreneur_name,
        label,
        data.invoice_date.strftime("%d/%m/%Y"),
        data.invoice_number,
        object_text(data, label),
        "",
        plain_amount(_signed(data, data.total_ht_cents)),
        plain_amount(_signed(data, total)),
        plain_amount(_signed(data, total)),
    ]
    for rate in VAT_NAMES:
        base, vat = pairs.get(rate, (0, 0))
        cells += [plain_amount(_signed(data, base)), plain_amount(_signed(data, vat))]
    return [*cells, "", "", "", "", ""]


def _detail_rows(invoice: SampleInvoice, label: str) -> list[list[str]]:
    data = invoice.pdf
    rows = []
    for line in data.lines:
        ht = _signed(data, line.amount_ht_cents)
        vat = int((Decimal(ht) * line.vat_rate / 100).quantize(Decimal(1)))
        unit = _signed(data, line.unit_price_cents)
        rows.append(
            [
                data.entrepreneur_name,
                data.invoice_number,
                data.invoice_date.strftime("%d/%m/%Y"),
                label,
                line.description,
                plain_amount(unit),
                plain_amount(int(unit * (1 + line.vat_rate / 100))),
                f"{line.quantity.normalize():f}",
                "prestation",
                f"{line.vat_rate.normalize():f}",
                plain_amount(ht),
                plain_amount(vat),
                plain_amount(ht + vat),
                "706000",
                data.invoice_date.strftime("%d/%m/%Y"),
            ]
        )
    return rows


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _merged(index: int, invoice: SampleInvoice, numbers: dict[str, int]) -> bool:
    """Half the invoices come in the merged file, never a bad PDF nor a number used twice."""
    return (
        index % 2 == 1
        and invoice.error not in _BAD_PDFS
        and numbers[invoice.pdf.invoice_number] == 1
    )


def _write_pdf(out_dir: Path, invoice: SampleInvoice, content: bytes) -> None:
    data = invoice.pdf
    target = out_dir / "pdf" / pdf_name(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not write_broken_pdf(target, data, invoice.error) and invoice.error != "path_escape":
        target.write_bytes(content)


def generate_caerp_export(
    out_dir: Path,
    *,
    invoices: int = 40,
    seed_value: int = 1,
    with_errors: bool = False,
    today: date | None = None,
    suppliers: Sequence[seed.Supplier] = seed.SUPPLIERS,
) -> dict[str, object]:
    """Writes the CAERP-shaped export of the invoices `generate_export` writes for the same
    arguments, and returns its manifest."""
    _rng, items = sample_items(invoices, seed_value, with_errors, today or date.today(), suppliers)
    out_dir.mkdir(parents=True, exist_ok=True)
    canonical: dict[str, str] = {}
    labels = [_customer_label(item, canonical) for item in items]
    numbers: dict[str, int] = {}
    for item in items:
        numbers[item.pdf.invoice_number] = numbers.get(item.pdf.invoice_number, 0) + 1
    merged = PdfWriter()
    written: set[str] = set()
    for index, (item, label) in enumerate(zip(items, labels, strict=True)):
        data = item.pdf
        if item.pdf.invoice_number in written:
            continue  # CAERP has one PDF per number: a duplicate row shares it
        written.add(data.invoice_number)
        printed = data.buyer_siret if siret_in_file(data, label) else None
        shown = data
        if item.error == "pdf_mismatch":
            shown = replace(data, invoice_number=data.invoice_number + "X")
        content = caerp_pdf_bytes(shown, label=label, printed_siret=printed)
        if _merged(index, item, numbers):
            merged.append(PdfReader(io.BytesIO(content)))
            continue
        if index % 4 == 0 and item.error is None:
            xml = caerp_facturx_xml(
                number=data.invoice_number,
                day=data.invoice_date,
                seller=data.supplier_name,
                buyer=label,
                buyer_id=printed or "",
                ht_cents=_signed(data, data.total_ht_cents),
                ttc_cents=_signed(data, data.total_ttc_cents),
            )
            # As CAERP does: its XML in the PDF as it is, not made PDF/A-3 (no Ghostscript here).
            content = attach_facturx(Pdfa3(open_pdf(content), None, converted=False), xml)
        _write_pdf(out_dir, item, content)
    if merged.pages:
        with (out_dir / MERGED_FILE).open("wb") as handle:
            merged.write(handle)
    (out_dir / LIST_FILE).write_bytes(
        _csv([LIST_HEADER, *(_list_row(i, label) for i, label in zip(items, labels, strict=True))])
    )
    details = [
        row for i, label in zip(items, labels, strict=True) for row in _detail_rows(i, label)
    ]
    (out_dir / DETAIL_FILE).write_bytes(_csv([DETAIL_HEADER, *details]))
    (out_dir / CUSTOMERS_FILE).write_bytes(_csv([CUSTOMER_HEADER, *_customers(items, labels)]))
    write_entrepreneurs(out_dir, suppliers)
    return write_manifest(out_dir, items, seed_value, with_errors, CAERP_ERROR_RULES)
