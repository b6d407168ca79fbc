"""Realistic invoice PDFs (good and bad) for the sample exports, the demo and the tests.

The good invoice follows the cooperative's guide to Chorus Pro: text PDF, black on white, each datum
announced by the keyword Chorus Pro's OCR looks for, one field per line, plus the mentions French
law requires on an invoice. It is a PDF/A-3B, as an accounting tool set up for Factur-X produces
it: its font is embedded (DejaVu Sans, subset in `fonts/` to the Windows-1252 repertoire, which
covers French text and the euro sign; fpdf2 embeds only the glyphs used, about 20 kB a file) and
fpdf2 adds the sRGB OutputIntent. The bad ones are what entrepreneurs actually send: a scan, a
password-protected file, a file cut short by a failed upload.
"""

from __future__ import annotations

import csv
import io
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal

from fpdf import FPDF
from fpdf.enums import DocumentCompliance, XPos, YPos
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader, PdfWriter
from stdnum.fr import siren

from chorus_etl.french import format_euros
from chorus_etl.untrusted import spreadsheet_cell

DEFAULT_EXEMPTION = "TVA non applicable, art. 293 B du CGI"
TRAINING_EXEMPTION = (
    "Exonération de TVA, art. 261-4-4° a du CGI (formation professionnelle continue)"
)
LATE_PAYMENT_MENTION = (
    "Pas d'escompte pour paiement anticipé. En cas de retard de paiement, des intérêts moratoires "
    "sont dus au taux de la Banque centrale européenne majoré de huit points, ainsi qu'une "
    "indemnité forfaitaire pour frais de recouvrement de 40 € (articles L2192-13 et D2192-35 du "
    "code de la commande publique)."
)
PAYMENT_LABELS = {
    "VIREMENT": "virement bancaire",
    "CHEQUE": "chèque",
    "PRELEVEMENT": "prélèvement",
    "ESPECE": "espèces",
    "AUTRE": "autre",
    "REPORT": "report",
}
_PAGE_WIDTH = 170.0  # A4 minus 20 mm margins
#: The embedded font (fpdf2 refuses the PDF core fonts in a PDF/A document, which must embed all).
FONT = "DejaVu"
_FONTS = Path(__file__).with_name("fonts")
_SCAN_SIZE = (620, 877)  # an A4 page at 75 dpi: legible, and a few tens of kilobytes


@dataclass(frozen=True, slots=True)
class SampleLine:
    """One invoice line; `vat_rate` in percent (20, 10, 5.5, 2.1, 0)."""

    description: str
    quantity: Decimal
    unit_price_cents: int
    vat_rate: Decimal

    @property
    def amount_ht_cents(self) -> int:
        return int((self.quantity * self.unit_price_cents).quantize(Decimal(1), ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class SampleVatTotal:
    """One VAT line of the invoice, as the export's invoices.csv carries it (one row per rate)."""

    rate: Decimal
    base_cents: int
    vat_cents: int


@dataclass(frozen=True, slots=True)
class SampleInvoicePdf:
    """Everything printed on a sample invoice; the totals are derived here so that the export's CSV
    row and the PDF cannot disagree."""

    invoice_number: str
    invoice_date: date
    due_date: date
    supplier_name: str
    supplier_siret: str
    supplier_address: tuple[str, ...]
    entrepreneur_name: str
    entrepreneur_code: str
    buyer_name: str
    buyer_siret: str
    buyer_address: tuple[str, ...]
    lines: tuple[SampleLine, ...]
    buyer_service_code: str | None = None
    engagement_number: str | None = None
    market_number: str | None = None
    invoice_type: Literal["FACTURE", "AVOIR"] = "FACTURE"
    original_invoice_number: str | None = None
    vat_exemption_reason: str | None = None
    payment_mode: str = "VIREMENT"
    iban: str | None = None
    comment: str | None = None

    def vat_totals(self) -> list[SampleVatTotal]:
        """Per-rate base and VAT, VAT rounded half-up to the cent as the export contract checks it."""
        bases: dict[Decimal, int] = {}
        for line in self.lines:
            bases[line.vat_rate] = bases.get(line.vat_rate, 0) + line.amount_ht_cents
        return [
            SampleVatTotal(
                rate=rate,
                base_cents=base,
                vat_cents=int((base * rate / 100).quantize(Decimal(1), ROUND_HALF_UP)),
            )
            for rate, base in sorted(bases.items(), reverse=True)
        ]

    @property
    def total_ht_cents(self) -> int:
        return sum(total.base_cents for total in self.vat_totals())

    @property
    def total_vat_cents(self) -> int:
        return sum(total.vat_cents for total in self.vat_totals())

    @property
    def total_ttc_cents(self) -> int:
        return self.total_ht_cents + self.total_vat_cents

    @property
    def exemption_mention(self) -> str | None:
        """The legal mention owed when a line carries no VAT."""
        if any(line.vat_rate == 0 for line in self.lines):
            return self.vat_exemption_reason or DEFAULT_EXEMPTION
        return None

    @property
    def title(self) -> str:
        return "Avoir" if self.invoice_type == "AVOIR" else "Facture"


def _french_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _french_rate(rate: Decimal) -> str:
    return f"{rate.normalize():f}".replace(".", ",") + " %"


def _vat_number(siret: str) -> str:
    """The intra-community VAT number France derives from the SIREN (first nine SIRET digits)."""
    return f"FR{siren.to_tva(siret[:9])}"


def _new_document(data: SampleInvoicePdf, subject: str) -> FPDF:
    pdf = FPDF(format="A4", enforce_compliance=DocumentCompliance.PDFA_3B)
    pdf.add_font(FONT, "", _FONTS / "DejaVuSans-Latin.ttf")
    pdf.add_font(FONT, "B", _FONTS / "DejaVuSans-Bold-Latin.ttf")
    # A fixed creation date makes the same invoice produce the same bytes (and the same hash).
    pdf.set_creation_date(datetime.combine(data.invoice_date, time(12, 0), tzinfo=UTC))
    pdf.set_title(f"{data.title} {data.invoice_number}")
    pdf.set_author(data.supplier_name)
    pdf.set_subject(subject)
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_text_color(0)
    pdf.set_draw_color(0)
    pdf.add_page()
    return pdf


def _line(pdf: FPDF, text: str, *, size: float = 9, bold: bool = False, width: float = 0) -> None:
    pdf.set_font(FONT, "B" if bold else "", size)
    pdf.multi_cell(width or _PAGE_WIDTH, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _block(pdf: FPDF, x: float, y: float, width: float, lines: list[tuple[str, bool]]) -> float:
    """Writes `lines` (text, bold) in a column starting at (x, y); returns the column's bottom."""
    pdf.set_xy(x, y)
    for text, bold in lines:
        pdf.set_x(x)
        pdf.set_font(FONT, "B" if bold else "", 10 if bold else 9)
        pdf.multi_cell(width, 4.6, text, new_x=XPos.LEFT, new_y=YPos.NEXT)
    return float(pdf.get_y())


def _parties(pdf: FPDF, data: SampleInvoicePdf) -> None:
    supplier = [
        (data.supplier_name, True),
        ("Coopérative d'activité et d'emploi", False),
        *((part, False) for part in data.supplier_address),
        (f"SIRET : {data.supplier_siret}", False),
        (f"N° TVA intracommunautaire : {_vat_number(data.supplier_siret)}", False),
        (f"Entrepreneur : {data.entrepreneur_name} (code {data.entrepreneur_code})", False),
    ]
    buyer = [
        ("Client", True),
        (data.buyer_name, False),
        *((part, False) for part in data.buyer_address),
        (f"SIRET client : {data.buyer_siret}", False),
    ]
    if data.buyer_service_code:
        buyer.append((f"Code service : {data.buyer_service_code}", False))
    top = float(pdf.get_y())
    bottom = max(_block(pdf, 20, top, 80, supplier), _block(pdf, 115, top, 75, buyer))
    pdf.set_xy(20, bottom + 6)


def _references(pdf: FPDF, data: SampleInvoicePdf) -> None:
    _line(pdf, f"{data.title} n° {data.invoice_number}", size=15, bold=True)
    pdf.ln(2)
    _line(pdf, f"Date de facture : {_french_date(data.invoice_date)}")
    _line(pdf, f"Date d'échéance : {_french_date(data.due_date)}")
    if data.invoice_type == "AVOIR" and data.original_invoice_number:
        _line(pdf, f"Avoir en annulation de la facture n° {data.original_invoice_number}")
    if data.engagement_number:
        _line(pdf, f"Engagement (EJ / bon de commande) : {data.engagement_number}")
    if data.market_number:
        _line(pdf, f"Marché n° : {data.market_number}")
    if data.comment:
        _line(pdf, f"Objet : {data.comment}")
    pdf.ln(5)


def _lines_table(pdf: FPDF, data: SampleInvoicePdf) -> None:
    pdf.set_font(FONT, "", 9)
    with pdf.table(
        col_widths=(78, 17, 27, 18, 30),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        borders_layout="HORIZONTAL_LINES",
        line_height=5.5,
        width=_PAGE_WIDTH,
    ) as table:
        table.row(("Désignation", "Quantité", "Prix unitaire HT", "TVA", "Montant HT"))
        for line in data.lines:
            table.row(
                (
                    line.description,
                    f"{line.quantity.normalize():f}".replace(".", ","),
                    format_euros(line.unit_price_cents),
                    _french_rate(line.vat_rate),
                    format_euros(line.amount_ht_cents),
                )
            )
    pdf.ln(5)


def _totals(pdf: FPDF, data: SampleInvoicePdf) -> None:
    rows: list[tuple[str, str, bool]] = [("Total HT", format_euros(data.total_ht_cents), False)]
    for total in data.vat_totals():
        label = f"TVA {_french_rate(total.rate)} sur {format_euros(total.base_cents)}"
        rows.append((label, format_euros(total.vat_cents), False))
    rows.append(("Total TTC", format_euros(data.total_ttc_cents), True))
    rows.append(("Net à payer", format_euros(data.total_ttc_cents), True))
    for label, amount, bold in rows:
        pdf.set_x(100)
        pdf.set_font(FONT, "B" if bold else "", 10 if bold else 9)
        pdf.cell(55, 6, f"{label} :", new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.cell(35, 6, amount, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _mentions(pdf: FPDF, data: SampleInvoicePdf) -> None:
    if data.exemption_mention:
        _line(pdf, f"TVA à 0 % : {data.exemption_mention}")
    payment = PAYMENT_LABELS.get(data.payment_mode, data.payment_mode.lower())
    _line(pdf, f"Mode de paiement : {payment}, au plus tard le {_french_date(data.due_date)}")
    if data.iban:
        _line(pdf, f"IBAN : {data.iban}")
    pdf.ln(2)
    _line(pdf, LATE_PAYMENT_MENTION, size=8)
    pdf.ln(2)
    _line(
        pdf,
        f"{data.supplier_name}, coopérative d'activité et d'emploi - SIRET {data.supplier_siret} - "
        f"TVA {_vat_number(data.supplier_siret)}. Facture émise pour le compte de "
        f"{data.entrepreneur_name}, entrepreneur salarié de la coopérative.",
        size=8,
    )


def invoice_pdf_bytes(data: SampleInvoicePdf) -> bytes:
    """The invoice as the cooperative's guide would have it."""
    pdf = _new_document(data, "Facture déposée sur Chorus Pro")
    _parties(pdf, data)
    _references(pdf, data)
    _lines_table(pdf, data)
    _totals(pdf, data)
    _mentions(pdf, data)
    return bytes(pdf.output())


def write_invoice_pdf(path: Path, data: SampleInvoicePdf) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(invoice_pdf_bytes(data))


def invoice_as_text_lines(data: SampleInvoicePdf) -> list[str]:
    """The invoice's essentials as plain lines: what a scan shows and what a text note repeats."""
    lines = [
        data.supplier_name,
        f"SIRET : {data.supplier_siret}",
        "",
        f"{data.title} n° {data.invoice_number} du {_french_date(data.invoice_date)}",
        f"Client : {data.buyer_name}",
        f"SIRET client : {data.buyer_siret}",
    ]
    if data.buyer_service_code:
        lines.append(f"Code service : {data.buyer_service_code}")
    if data.engagement_number:
        lines.append(f"Engagement : {data.engagement_number}")
    lines.append("")
    lines += [
        f"{line.description} : {format_euros(line.amount_ht_cents)} HT" for line in data.lines
    ]
    lines += ["", f"Total TTC : {format_euros(data.total_ttc_cents)}"]
    return lines


def _for_bitmap_font(text: str) -> str:
    """Pillow's built-in font has ASCII glyphs only: "é" becomes "e", "€" becomes "EUR"."""
    spelled = (
        text.replace("\u00a0€", " EUR").replace("€", "EUR").replace("\u00a0", " ").replace("°", "o")
    )
    return unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode("ascii")


def _scanned_page(data: SampleInvoicePdf) -> Image.Image:
    """A grey, slightly skewed raster of the invoice, as a flatbed scanner returns it."""
    image = Image.new("L", _SCAN_SIZE, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    y = 40
    for text in invoice_as_text_lines(data):
        draw.text((45, y), _for_bitmap_font(text), fill=0, font=font)
        y += 20
    return image.rotate(0.6, fillcolor=255)


def write_scanned_pdf(path: Path, data: SampleInvoicePdf, *, text_cover: bool = False) -> None:
    """An image-only invoice (no text layer). With `text_cover`, a typed cover letter comes first,
    so the file has text but its second page is a scan (`pdf.image_only_page`)."""
    pdf = _new_document(data, "Facture scannée")
    if text_cover:
        _line(pdf, "Bordereau d'envoi", size=14, bold=True)
        _line(pdf, f"Veuillez trouver ci-joint notre facture n° {data.invoice_number}.")
        pdf.add_page()
    pdf.image(_scanned_page(data), x=0, y=0, w=210, h=297)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(pdf.output()))


def write_encrypted_pdf(
    path: Path,
    data: SampleInvoicePdf,
    *,
    user_password: str = "",
    algorithm: str = "AES-256",
) -> None:
    """The good invoice, encrypted. An empty user password opens without a prompt in most viewers,
    yet the file is still encrypted, and Chorus Pro still refuses it."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(invoice_pdf_bytes(data))))
    owner_password = secrets.token_urlsafe(12)  # nobody is meant to lift the protection
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm=algorithm)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        writer.write(handle)


def write_truncated_pdf(path: Path, data: SampleInvoicePdf, *, keep_fraction: float = 0.5) -> None:
    """The good invoice cut short, as an interrupted upload or a full disk leaves it."""
    content = invoice_pdf_bytes(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content[: max(1, int(len(content) * keep_fraction))])


def _reception_report_bytes(data: SampleInvoicePdf) -> bytes:
    pdf = _new_document(data, "Procès-verbal de réception")
    _line(pdf, "Procès-verbal de réception", size=15, bold=True)
    pdf.ln(3)
    _line(pdf, f"Prestataire : {data.supplier_name} ({data.entrepreneur_name})")
    _line(pdf, f"Client : {data.buyer_name} - SIRET client : {data.buyer_siret}")
    _line(pdf, f"Relatif à la facture n° {data.invoice_number}")
    if data.engagement_number:
        _line(pdf, f"Engagement : {data.engagement_number}")
    pdf.ln(3)
    for line in data.lines:
        _line(pdf, f"- {line.description}")
    pdf.ln(3)
    _line(pdf, f"Prestations réceptionnées sans réserve le {_french_date(data.invoice_date)}.")
    pdf.ln(8)
    _line(pdf, "Pour le client (signature) :                    Pour le prestataire (signature) :")
    return bytes(pdf.output())


def _lines_csv(data: SampleInvoicePdf) -> str:
    """A detail of the invoice's lines, opened in a spreadsheet like every CSV the project writes:
    text cells cannot become formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(["designation", "quantite", "prix_unitaire_ht", "taux_tva", "montant_ht"])
    for line in data.lines:
        numbers = [
            f"{line.quantity.normalize():f}".replace(".", ","),
            format_euros(line.unit_price_cents).replace("\u00a0€", ""),
            f"{line.vat_rate.normalize():f}".replace(".", ","),
            format_euros(line.amount_ht_cents).replace("\u00a0€", ""),
        ]
        writer.writerow(
            [
                spreadsheet_cell(line.description),
                *(spreadsheet_cell(number, numeric=True) for number in numbers),
            ]
        )
    return buffer.getvalue()


def write_attachment(path: Path, data: SampleInvoicePdf) -> None:
    """A supporting document for the invoice, its kind chosen by the extension: `.pdf` a signed-off
    reception report (PV de réception), `.csv` the detail of the lines, `.txt` a covering note."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        content = _reception_report_bytes(data)
    elif suffix == ".csv":
        content = _lines_csv(data).encode("utf-8")
    elif suffix == ".txt":
        content = ("\n".join(invoice_as_text_lines(data)) + "\n").encode("utf-8")
    else:
        raise ValueError(f"no sample attachment of type {suffix or '(none)'!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def example_invoice(invoice_number: str = "FC0142-24") -> SampleInvoicePdf:
    """The guide's own example: an Antigone entrepreneur invoicing the town of Schiltigheim's
    youth service (SIRET 21670447800017, service 28E), with an engagement and three VAT rates,
    one of them an exempt training line."""
    return SampleInvoicePdf(
        invoice_number=invoice_number,
        invoice_date=date(2026, 11, 25),
        due_date=date(2026, 12, 25),
        supplier_name="Antigone",
        supplier_siret="51858054300107",
        supplier_address=("5 rue de l'Écluse", "67000 Strasbourg"),
        entrepreneur_name="Camille Martin",
        entrepreneur_code="ANT-0042",
        buyer_name="Mairie de Schiltigheim - Service Enfance Jeunesse",
        buyer_siret="21670447800017",
        buyer_address=("110 route de Bischwiller", "67300 Schiltigheim"),
        lines=(
            SampleLine(
                "Ateliers de médiation culturelle (3 séances)", Decimal(3), 45000, Decimal(20)
            ),
            SampleLine("Livrets pédagogiques", Decimal(12), 850, Decimal("5.5")),
            SampleLine("Formation des animateurs (2 h)", Decimal(1), 12345, Decimal(0)),
        ),
        buyer_service_code="28E",
        engagement_number="1300012345",
        vat_exemption_reason=TRAINING_EXEMPTION,
        iban="FR76 3000 4000 0100 0000 0000 000",
    )
