"""Factur-X benchmark: does making each invoice's Factur-X cost no more than checking its PDF?

The target: building the CII XML, checking it (XSD and business rules) and embedding it into the
PDF costs at most 1 × the PDF preflight the ingest already runs on the same invoice
(`tasks.preflight.pdfs.check_invoice_pdf`: open, text of the first pages, the guide's rules).

Usage: `python -m bench.facturx [--invoices 1000] [--seed 1] [--keep DIR] [--schematron 100]`.

The sample export is generated first (timed, reported, not counted) and its rows are validated the
way the ingest does it (`tasks.ingest.validate`) into the warehouse rows the Factur-X is built from
(no database, no Prefect: neither is part of either cost). Every PDF is read once beforehand so
both sides find them in the page cache. Then, one invoice at a time and in the same process, the
preflight of its PDF and its Factur-X are timed back to back, so that load from other processes
weighs on both alike: CPU time of this process (`time.process_time`) and wall time. The Factur-X
side is timed step by step to show what dominates. Both sides run in one process here; the ingest
runs the preflight on every core, which changes neither per-invoice cost.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import facturx

from bench.common import (
    figure,
    load_average,
    machine_figures,
    note,
    prepare_export,
    verdict,
    work_directory,
)
from chorus_etl.settings import Settings
from chorus_pro.simulator import seed
from schemas.warehouse import Invoice, InvoiceVatLine
from tasks.facturx import SupplierProfile, build_cii, embed_facturx, facturx_invoice, seller_profile
from tasks.facturx.checks import check_facturx_invoice
from tasks.facturx.schematron import en16931_schematron, schematron_available
from tasks.facturx.xsd import en16931_schema, xsd_errors
from tasks.preflight.pdfs import PdfExpectations, check_invoice_pdf

TARGET_RATIO = 1.0
STEPS = ("rows", "build", "xsd", "rules", "embed")


@dataclass
class Clock:
    """CPU and wall seconds, summed per step: `with clock.step("build"): ...`."""

    cpu: dict[str, float] = field(default_factory=dict)
    wall: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu
            self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall

    def total_cpu(self) -> float:
        return sum(self.cpu.values())

    def total_wall(self) -> float:
        return sum(self.wall.values())


Row = tuple[Invoice, list[InvoiceVatLine], str]


def _warehouse_rows(export_dir: Path, today: date) -> list[Row]:
    """(Invoice, VAT lines, PDF path) of every valid invoice, as staging would store them.

    `tasks.ingest` is imported here: its package imports Prefect, which this benchmark does not
    otherwise need."""
    from tasks.ingest.extract import read_invoices
    from tasks.ingest.validate import validate_rows

    table = read_invoices(export_dir)
    drafts = validate_rows(
        table.frame,
        today=today,
        supplier_sirets=[s.siret for s in seed.SUPPLIERS],
        entrepreneurs=None,
    )
    rows: list[Row] = []
    for draft in drafts:
        if not draft.valid:
            continue
        header = draft.header
        invoice = Invoice(
            supplier_siret=draft.supplier_siret,
            invoice_number=draft.invoice_number,
            invoice_type=draft.get("invoice_type") or "FACTURE",
            original_invoice_number=draft.get("original_invoice_number"),
            invoice_date=_date(header.get("invoice_date")),
            due_date=_date(header.get("due_date")),
            buyer_siret=draft.get("buyer_siret"),
            buyer_name=draft.get("buyer_name"),
            buyer_service_code=draft.get("buyer_service_code"),
            engagement_number=draft.get("engagement_number"),
            market_number=draft.get("market_number"),
            currency=draft.get("currency") or "EUR",
            payment_mode=draft.get("payment_mode") or "VIREMENT",
            amount_ht_cents=draft.amount_ht_cents,
            amount_vat_cents=draft.amount_vat_cents,
            total_ttc_cents=draft.total_ttc_cents,
        )
        lines = [
            InvoiceVatLine(
                invoice_id=0,
                rate_bp=line.rate_bp,
                base_cents=line.base_cents,
                vat_cents=line.vat_cents,
                exemption_reason=line.exemption_reason,
            )
            for line in draft.vat_lines
        ]
        rows.append((invoice, lines, draft.get("pdf_file") or ""))
    return rows


def _date(value: object) -> date | None:
    return value if isinstance(value, date) else None


def _profiles() -> dict[str, SupplierProfile]:
    """The simulator's structures as sellers, as the pipeline builds them from the settings."""
    settings = Settings()
    profiles = {s.siret: seller_profile(s.siret, settings) for s in seed.SUPPLIERS}
    return {siret: p for siret, p in profiles.items() if p is not None}


def measure(export_dir: Path, today: date, invoices: int, schematron_count: int) -> int:
    rows = _warehouse_rows(export_dir, today)[:invoices]
    profiles = _profiles()
    for _invoice, _lines, pdf_file in rows:
        (export_dir / pdf_file).read_bytes()
    en16931_schema()  # parsed once per process, as in production: not per-invoice cost
    note(
        f"{len(rows)} valid invoices of the export measured, one process, load {load_average():.1f}"
    )

    def preflight(invoice: Invoice, pdf_file: str) -> None:
        expected = PdfExpectations(
            invoice_number=invoice.invoice_number,
            buyer_siret=invoice.buyer_siret or "",
            engagement_number=invoice.engagement_number,
            service_code=invoice.buyer_service_code,
            total_ttc_cents=invoice.total_ttc_cents,
        )
        check = check_invoice_pdf(export_dir, pdf_file, expected)
        if not check.ok:
            raise RuntimeError(f"{pdf_file}: preflight refused a valid sample invoice: {check}")

    # Warm-up: first calls import and cache what every later call reuses.
    for invoice, lines, pdf_file in rows[:10]:
        preflight(invoice, pdf_file)
        inv = facturx_invoice(invoice, lines, profiles[invoice.supplier_siret])
        embed_facturx((export_dir / pdf_file).read_bytes(), build_cii(inv))

    a, b = Clock(), Clock()
    per_invoice_a: list[float] = []
    per_invoice_b: list[float] = []
    xml_sizes: list[int] = []
    library_xsd = 0.0
    for invoice, lines, pdf_file in rows:
        before = a.total_cpu()
        with a.step("preflight"):
            preflight(invoice, pdf_file)
        per_invoice_a.append(a.total_cpu() - before)

        before = b.total_cpu()
        with b.step("read"):
            pdf = (export_dir / pdf_file).read_bytes()
        with b.step("rows"):
            inv = facturx_invoice(invoice, lines, profiles[invoice.supplier_siret])
        with b.step("build"):
            xml = build_cii(inv)
        with b.step("xsd"):
            errors = xsd_errors(xml)
        with b.step("rules"):
            found = check_facturx_invoice(inv)
        with b.step("embed"):
            embed_facturx(pdf, xml, author=inv.seller.name)
        per_invoice_b.append(b.total_cpu() - before)
        if errors or found:
            raise RuntimeError(f"{invoice.invoice_number}: {errors} {found}")
        xml_sizes.append(len(xml))

        started = time.process_time()
        facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
        library_xsd += time.process_time() - started

    count = len(rows)
    a_cpu, a_wall = a.total_cpu() / count, a.total_wall() / count
    b_cpu, b_wall = b.total_cpu() / count, b.total_wall() / count
    figure("invoices", count)
    figure("preflight.cpu_per_invoice", 1000 * a_cpu, "ms")
    figure("preflight.wall_per_invoice", 1000 * a_wall, "ms")
    figure("preflight.cpu_per_invoice.median", 1000 * statistics.median(per_invoice_a), "ms")
    figure("facturx.cpu_per_invoice", 1000 * b_cpu, "ms")
    figure("facturx.wall_per_invoice", 1000 * b_wall, "ms")
    figure("facturx.cpu_per_invoice.median", 1000 * statistics.median(per_invoice_b), "ms")
    note("facturx = read the PDF + rows to FacturxInvoice + build XML + XSD + rules + embed")
    for step in ("read", *STEPS):
        figure(f"facturx.step.{step}.cpu_per_invoice", 1000 * b.cpu[step] / count, "ms")
        figure(f"facturx.step.{step}.wall_per_invoice", 1000 * b.wall[step] / count, "ms")
    dominant = max(b.cpu, key=lambda step: b.cpu[step])
    figure(
        "facturx.dominant_step",
        f"{dominant} ({100 * b.cpu[dominant] / b.total_cpu():.0f} % of CPU)",
    )
    figure("xsd.cached_cpu_per_invoice", 1000 * b.cpu["xsd"] / count, "ms")
    figure("xsd.factur_x_library_cpu_per_invoice", 1000 * library_xsd / count, "ms")
    note("factur-x's xml_check_xsd parses the XSD on every call and has no cache; xsd.py keeps one")
    figure("xml.size.median", int(statistics.median(xml_sizes)), "bytes")
    ratio_cpu, ratio_wall = b_cpu / a_cpu, b_wall / a_wall
    figure("ratio.facturx_to_preflight.cpu", ratio_cpu, "x")
    figure("ratio.facturx_to_preflight.wall", ratio_wall, "x")
    machine_figures("after")
    verdict(
        f"facturx <= {TARGET_RATIO:g} x preflight (CPU)",
        ratio_cpu <= TARGET_RATIO,
        f"{ratio_cpu:.2f} x",
    )
    verdict(
        f"facturx <= {TARGET_RATIO:g} x preflight (wall)",
        ratio_wall <= TARGET_RATIO,
        f"{ratio_wall:.2f} x",
    )

    if schematron_count and schematron_available():
        started = time.perf_counter()
        schematron = en16931_schematron()
        figure("schematron.compile", time.perf_counter() - started, "s")
        sample = rows[:schematron_count]
        cpu, wall = time.process_time(), time.perf_counter()
        failed = 0
        for invoice, lines, _pdf in sample:
            inv = facturx_invoice(invoice, lines, profiles[invoice.supplier_siret])
            failed += len(schematron.failed_assertions(build_cii(inv)))
        figure("schematron.cpu_per_invoice", 1000 * (time.process_time() - cpu) / len(sample), "ms")
        figure(
            "schematron.wall_per_invoice", 1000 * (time.perf_counter() - wall) / len(sample), "ms"
        )
        figure("schematron.failed_assertions", failed)
        note("the Schematron is not part of the ingest: tests and on-demand checks only")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR")
    parser.add_argument(
        "--schematron", type=int, default=100, metavar="N", help="also time the Schematron on N"
    )
    args = parser.parse_args(argv)
    machine_figures("before")
    with work_directory(args.keep) as workdir:
        export = prepare_export(workdir, invoices=args.invoices, seed=args.seed)
        if export.reused:
            note(f"export reused from {export.path}")
        note("export generation is not benchmark time")
        figure("export.generation", export.generation_seconds, "s")
        return measure(export.path, export.today, args.invoices, args.schematron)


if __name__ == "__main__":
    sys.exit(main())
