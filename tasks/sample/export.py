"""A realistic accounting export, for the demo, the tests and the benchmarks.

Invoices of both cooperatives' entrepreneurs to the simulator's public buyers (each routing rule
exercised), one- and multi-rate invoices, credit notes, attachments, real text PDFs laid out as the
guide recommends. With `with_errors`, a known share of each kind of bad input is mixed in, and the
file is written the way older accounting tools do (Windows-1252, decimal commas). `_expected.json`
records what each invoice should become, so tests can check the pipeline against it.
"""

from __future__ import annotations

import csv
import io
import json
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from chorus_pro.simulator import seed
from tasks.sample.pdfs import (
    SampleInvoicePdf,
    SampleLine,
    write_attachment,
    write_encrypted_pdf,
    write_invoice_pdf,
    write_scanned_pdf,
    write_truncated_pdf,
)

MANIFEST = "_expected.json"
EXEMPTION = "TVA non applicable, art. 293 B du CGI"

#: Each kind of bad input, and the rules any of which correctly reports it.
ERROR_RULES: dict[str, set[str]] = {
    "bad_siret": {"buyer_siret.invalid"},
    "missing_engagement": {"buyer.engagement_required"},
    "wrong_total": {"invoice.total_mismatch"},
    "duplicate_number": {"invoice.lines_disagree"},
    "scanned_pdf": {"pdf.no_text", "pdf.image_only_page"},
    "encrypted_pdf": {"pdf.encrypted"},
    "truncated_pdf": {"pdf.unreadable", "pdf.no_text", "pdf.not_pdf"},
    "pdf_mismatch": {"pdf.number_missing", "pdf.total_missing"},
    "path_escape": {"pdf.outside_export"},
}
ERROR_SHARE = 0.03

COLUMNS = (
    "numero_facture",
    "date_facture",
    "type_facture",
    "facture_origine",
    "siret_fournisseur",
    "code_entrepreneur",
    "siret_client",
    "client",
    "code_service",
    "numero_engagement",
    "numero_marche",
    "devise",
    "taux_tva",
    "montant_ht",
    "montant_tva",
    "montant_ttc",
    "motif_exoneration",
    "mode_paiement",
    "date_echeance",
    "fichier_pdf",
    "pieces_jointes",
    "commentaire",
)

SERVICES = (
    ("Animation d'ateliers", 45000),
    ("Conception graphique", 60000),
    ("Formation professionnelle", 90000),
    ("Spectacle jeune public", 150000),
    ("Reportage photographique", 55000),
    ("Médiation culturelle", 40000),
    ("Conseil en communication", 70000),
    ("Livres pour la médiathèque", 2500),
)


@dataclass
class SampleInvoice:
    pdf: SampleInvoicePdf
    pdf_file: str
    attachments: list[str]
    error: str | None = None
    declared_total_cents: int | None = None


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return ".".join(part for part in ascii_text.lower().replace("'", " ").split() if part.isalnum())


def entrepreneurs(
    suppliers: Sequence[seed.Supplier] = seed.SUPPLIERS,
) -> list[tuple[str, str, str, str]]:
    """(code, name, email, supplier SIRET) of every active entrepreneur service."""
    rows = []
    for supplier in suppliers:
        for service in supplier.services:
            if service.active:
                rows.append(
                    (
                        service.code,
                        service.label,
                        f"{_slug(service.label)}@entrepreneurs.example",
                        supplier.siret,
                    )
                )
    return rows


def _routing(buyer: seed.Buyer, rng: random.Random) -> tuple[str | None, str | None]:
    """A service code and engagement number that satisfy the buyer's rules."""
    usable = [
        s
        for s in buyer.services
        if s.active and s.code != seed.FACTURES_PUBLIQUES and not s.engagement_required
    ]
    flags = buyer.flags
    service = rng.choice(usable).code if usable and flags.service_required else None
    engagement = f"EJ{rng.randint(10**7, 10**8 - 1)}" if flags.engagement_required else None
    if flags.service_or_engagement and not service and not engagement:
        if usable and rng.random() < 0.5:
            service = rng.choice(usable).code
        else:
            engagement = f"BC-{rng.randint(1000, 9999)}"
    return service, engagement


def _lines(rng: random.Random, kind: str) -> tuple[SampleLine, ...]:
    def line(rate: Decimal) -> SampleLine:
        label, price = rng.choice(SERVICES)
        return SampleLine(label, Decimal(rng.randint(1, 12)), price + rng.randint(0, 99), rate)

    if kind == "multi":
        return (line(Decimal(20)), line(Decimal("5.5")))
    if kind == "exempt":
        return (line(Decimal(0)),)
    return (line(rng.choice([Decimal(20), Decimal(20), Decimal(10)])),)


def _address(address: seed.Address) -> tuple[str, ...]:
    return (address.street, f"{address.postal_code} {address.city}")


def build_invoices(
    count: int,
    rng: random.Random,
    today: date,
    with_errors: bool,
    structures: Sequence[seed.Supplier] = seed.SUPPLIERS,
    buyers: Sequence[seed.Buyer] | None = None,
) -> list[SampleInvoice]:
    people = entrepreneurs(structures)
    buyers = list(buyers) if buyers else [b for b in seed.BUYERS if b.active]
    suppliers = {s.siret: s for s in structures}
    invoices: list[SampleInvoice] = []
    for index in range(count):
        code, name, _email, supplier_siret = rng.choice(people)
        supplier = suppliers[supplier_siret]
        buyer = rng.choice(buyers)
        service, engagement = _routing(buyer, rng)
        invoice_date = today - timedelta(days=rng.randint(1, 40))
        roll = rng.random()
        kind = "multi" if roll < 0.2 else "exempt" if roll < 0.25 else "single"
        number = f"FC{index + 1:05d}-{rng.randint(10, 99)}"
        data = SampleInvoicePdf(
            invoice_number=number,
            invoice_date=invoice_date,
            due_date=invoice_date + timedelta(days=30),
            supplier_name=supplier.name,
            supplier_siret=supplier.siret,
            supplier_address=_address(supplier.address),
            entrepreneur_name=name,
            entrepreneur_code=code,
            buyer_name=buyer.name,
            buyer_siret=buyer.siret,
            buyer_address=_address(buyer.address),
            lines=_lines(rng, kind),
            buyer_service_code=service,
            engagement_number=engagement,
            vat_exemption_reason=EXEMPTION if kind == "exempt" else None,
            iban=supplier.bank_accounts[0].iban if supplier.bank_accounts else None,
        )
        earlier = [
            i
            for i in invoices
            if i.pdf.supplier_siret == supplier.siret
            and i.pdf.invoice_type == "FACTURE"
            and i.error is None
        ]
        if earlier and rng.random() < 0.05:
            original = rng.choice(earlier).pdf
            data = replace(
                original,
                invoice_number=number,
                invoice_type="AVOIR",
                original_invoice_number=original.invoice_number,
                invoice_date=max(original.invoice_date, invoice_date),
                due_date=max(original.invoice_date, invoice_date) + timedelta(days=30),
            )
        attachments = [f"pdf/annexes/PV-{number}.pdf"] if rng.random() < 0.15 else []
        invoices.append(SampleInvoice(data, f"pdf/{number}.pdf", attachments))
    if with_errors:
        _inject_errors(invoices, rng)
    return invoices


def _inject_errors(invoices: list[SampleInvoice], rng: random.Random) -> None:
    per_kind = max(1, round(len(invoices) * ERROR_SHARE))
    candidates = [i for i in invoices if i.pdf.invoice_type == "FACTURE"]
    rng.shuffle(candidates)
    engagement_buyer = next(
        b
        for b in seed.BUYERS
        if b.active and b.flags.engagement_required and not b.flags.service_required
    )
    for kind in ERROR_RULES:
        if kind == "duplicate_number":
            continue
        for _ in range(per_kind):
            if not candidates:
                return
            target = candidates.pop()
            target.error = kind
            data = target.pdf
            if kind == "bad_siret":
                last = (int(data.buyer_siret[-1]) + 1) % 10
                target.pdf = replace(data, buyer_siret=data.buyer_siret[:-1] + str(last))
            elif kind == "missing_engagement":
                target.pdf = replace(
                    data,
                    buyer_name=engagement_buyer.name,
                    buyer_siret=engagement_buyer.siret,
                    buyer_address=_address(engagement_buyer.address),
                    buyer_service_code=None,
                    engagement_number=None,
                )
            elif kind == "wrong_total":
                target.declared_total_cents = data.total_ttc_cents + 100
            elif kind == "path_escape":
                target.pdf_file = f"../{data.invoice_number}.pdf"


def _money(cents: int, comma: bool) -> str:
    text = f"{cents / 100:.2f}"
    return text.replace(".", ",") if comma else text


def _rate(rate: Decimal, comma: bool) -> str:
    text = f"{rate.normalize():f}"
    return text.replace(".", ",") if comma else text


def _rows(invoices: list[SampleInvoice], comma: bool) -> list[list[str]]:
    rows: list[list[str]] = []
    for invoice in invoices:
        data = invoice.pdf
        total = invoice.declared_total_cents or data.total_ttc_cents
        for vat in data.vat_totals():
            rows.append(
                [
                    data.invoice_number,
                    data.invoice_date.strftime("%d/%m/%Y")
                    if comma
                    else data.invoice_date.isoformat(),
                    data.invoice_type,
                    data.original_invoice_number or "",
                    data.supplier_siret,
                    data.entrepreneur_code,
                    data.buyer_siret,
                    data.buyer_name,
                    data.buyer_service_code or "",
                    data.engagement_number or "",
                    data.market_number or "",
                    "EUR",
                    _rate(vat.rate, comma),
                    _money(vat.base_cents, comma),
                    _money(vat.vat_cents, comma),
                    _money(total, comma),
                    data.exemption_mention or "" if vat.rate == 0 else "",
                    data.payment_mode,
                    data.due_date.isoformat(),
                    invoice.pdf_file,
                    "|".join(invoice.attachments),
                    "",
                ]
            )
    return rows


def write_broken_pdf(target: Path, data: SampleInvoicePdf, error: str | None) -> bool:
    """Writes the bad PDF of `error` (a scan, an encrypted or a truncated file); False for any
    other kind, whose PDF is the caller's to write."""
    if error == "scanned_pdf":
        write_scanned_pdf(target, data)
    elif error == "encrypted_pdf":
        write_encrypted_pdf(target, data)
    elif error == "truncated_pdf":
        write_truncated_pdf(target, data, keep_fraction=0.3)
    else:
        return False
    return True


def _write_files(out_dir: Path, invoice: SampleInvoice, rng: random.Random) -> None:
    data = invoice.pdf
    target = out_dir / invoice.pdf_file
    if invoice.error == "path_escape":
        target = out_dir / "pdf" / f"{data.invoice_number}.pdf"
    if write_broken_pdf(target, data, invoice.error):
        pass
    elif invoice.error == "pdf_mismatch":
        write_invoice_pdf(
            target,
            replace(
                data,
                invoice_number=data.invoice_number + "X",
                lines=(*data.lines[:1], SampleLine("Frais", Decimal(1), 12345, Decimal(20))),
            ),
        )
    else:
        write_invoice_pdf(target, data)
    for relative in invoice.attachments:
        write_attachment(out_dir / relative, data)


def generate_export(
    out_dir: Path,
    *,
    invoices: int = 40,
    seed_value: int = 1,
    with_errors: bool = False,
    today: date | None = None,
    suppliers: Sequence[seed.Supplier] = seed.SUPPLIERS,
    buyers: Sequence[seed.Buyer] | None = None,
) -> dict[str, object]:
    """Writes the export folder and returns its manifest; `suppliers` are the structures whose
    entrepreneurs invoice in it (the simulator's default pair unless told), `buyers` those they
    invoice (every active buyer unless told: a test of one directory answer names its buyer)."""
    rng, items = sample_items(
        invoices, seed_value, with_errors, today or date.today(), suppliers, buyers
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for item in items:
        _write_files(out_dir, item, rng)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n" if with_errors else "\n")
    writer.writerow(COLUMNS)
    writer.writerows(_rows(items, comma=with_errors))
    encoding = "cp1252" if with_errors else "utf-8"
    (out_dir / "invoices.csv").write_bytes(buffer.getvalue().encode(encoding, errors="replace"))
    write_entrepreneurs(out_dir, suppliers)
    return write_manifest(out_dir, items, seed_value, with_errors)


def sample_items(
    invoices: int,
    seed_value: int,
    with_errors: bool,
    today: date,
    suppliers: Sequence[seed.Supplier],
    buyers: Sequence[seed.Buyer] | None = None,
) -> tuple[random.Random, list[SampleInvoice]]:
    """The invoices of a sample export, whatever its layout: the same seed gives the same ones."""
    rng = random.Random(seed_value)  # noqa: S311 - reproducible sample data, not secrets
    items = build_invoices(invoices, rng, today, with_errors, suppliers, buyers)
    if with_errors:
        duplicates = [i for i in items if i.error is None and i.pdf.invoice_type == "FACTURE"]
        per_kind = max(1, round(len(items) * ERROR_SHARE))
        for original in rng.sample(duplicates, min(per_kind, len(duplicates))):
            twin = SampleInvoice(
                replace(original.pdf, invoice_date=original.pdf.invoice_date - timedelta(days=3)),
                f"pdf/{original.pdf.invoice_number}-bis.pdf",
                [],
                error="duplicate_number",
            )
            original.error = "duplicate_number"
            items.append(twin)
    return rng, items


def write_entrepreneurs(out_dir: Path, suppliers: Sequence[seed.Supplier]) -> None:
    people = io.StringIO()
    people_writer = csv.writer(people, delimiter=";")
    people_writer.writerow(["code_entrepreneur", "nom", "email", "siret_fournisseur"])
    people_writer.writerows(entrepreneurs(suppliers))
    (out_dir / "entrepreneurs.csv").write_text(people.getvalue(), encoding="utf-8")


def write_manifest(
    out_dir: Path,
    items: list[SampleInvoice],
    seed_value: int,
    with_errors: bool,
    errors: dict[str, set[str]] = ERROR_RULES,
) -> dict[str, object]:
    """`_expected.json`: what each invoice should become, and why (`errors`: the rules of each
    kind of bad input in this layout)."""
    manifest: dict[str, object] = {
        "seed": seed_value,
        "with_errors": with_errors,
        "invoices": [
            {
                "supplier_siret": i.pdf.supplier_siret,
                "invoice_number": i.pdf.invoice_number,
                "expected": i.error or "ready",
                "rules": sorted(errors.get(i.error or "", set())),
                "invoice_type": i.pdf.invoice_type,
                "buyer_siret": i.pdf.buyer_siret,
            }
            for i in items
        ],
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest
