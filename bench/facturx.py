"""Factur-X benchmark: what a Factur-X costs now that it follows France's 2026 rules and is a true
PDF/A-3, against today's build of the same invoice.

The target (issue 21): building, checking and embedding the Factur-X with its PDF/A-3 conversion
costs at most 1.5 × today's build per invoice. Both are timed in one loop, on the same invoice,
back to back, so that load from other processes weighs on both alike (CPU time of this process
and of its children, `resource.getrusage`, and wall time):

- **today's build**: the invoice's rows to the CII XML, its XSD and business rules, then the PDF
  opened and the XML embedded by factur-x, no PDF/A step: what a deposit did before;
- **with conversion**: the same XML steps, then the PDF/A-3 step (`as_pdfa3`: the PDF inspected
  with pypdf and, when it is not PDF/A-3, converted by Ghostscript, a child process whose CPU is
  counted), then the embedding.

Two kinds of input PDF: the sample export's, PDF/A-3 with their font embedded (what an accounting
tool set up for Factur-X writes: inspected and kept), and, on `--ghostscript N` of them, the same
PDFs stripped of their PDF/A identification and OutputIntent (fonts still embedded: what WeasyPrint
and most invoicing tools write by default), which Ghostscript converts. The ingest's PDF preflight
of the same PDF is timed too, the yardstick of earlier runs of this benchmark.

Usage: `python -m bench.facturx [--invoices 1000] [--seed 1] [--keep DIR] [--ghostscript 100]
[--schematron 100]`. The sample export is generated first (timed, reported, not counted) and its
rows validated the way the ingest does (`tasks.ingest.validate`) into warehouse rows (no
database, no Prefect: neither is part of either cost). Every PDF is read once beforehand so both
sides find them in the page cache.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject

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
from tasks.facturx import FacturxInvoice, build_cii, facturx_document
from tasks.facturx.checks import check_facturx_invoice
from tasks.facturx.pdfa import Pdfa3, as_pdfa3, attach_facturx, open_pdf
from tasks.facturx.schematron import RULES, findings, schematron, schematron_available
from tasks.facturx.xsd import en16931_schema, xsd_errors
from tasks.preflight.pdfs import PdfExpectations, check_invoice_pdf

TARGET_RATIO = 1.5
XML_STEPS = ("rows", "build", "xsd", "rules")


def _cpu() -> float:
    """CPU seconds of this process and of its waited-for children (Ghostscript)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Clock:
    """CPU and wall seconds, summed per step: `with clock.step("build"): ...`."""

    cpu: dict[str, float] = field(default_factory=dict)
    wall: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        cpu, wall = _cpu(), time.perf_counter()
        try:
            yield
        finally:
            self.cpu[name] = self.cpu.get(name, 0.0) + _cpu() - cpu
            self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall

    def total(self, steps: tuple[str, ...], *, wall: bool = False) -> float:
        spent = self.wall if wall else self.cpu
        return sum(spent.get(step, 0.0) for step in steps)


Row = tuple[Invoice, list[InvoiceVatLine], str]


def _warehouse_rows(export_dir: Path, today: date) -> list[Row]:
    """(Invoice, VAT lines, PDF path) of every valid invoice, as staging would store them.

    `tasks.ingest` is imported here: its package imports Prefect, which this benchmark does not
    otherwise need."""
    from tasks.ingest.extract import read_invoices
    from tasks.ingest.staging import as_rows
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
        if draft.valid:
            invoice, lines = as_rows(draft, "cooproduction")
            rows.append((invoice, lines, draft.get("pdf_file") or ""))
    return rows


def _original_dates(rows: list[Row]) -> dict[tuple[str, str], date]:
    """A credit note's preceding invoice date, from the same export (as the ingest finds it)."""
    return {
        (invoice.supplier_siret, invoice.invoice_number): invoice.invoice_date
        for invoice, _lines, _pdf in rows
        if invoice.invoice_type != "AVOIR" and invoice.invoice_date is not None
    }


def _not_pdfa(pdf: bytes) -> bytes:
    """The same PDF without its PDF/A identification (XMP) and OutputIntent: what an invoicing
    tool that embeds its fonts writes by default."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for key in ("/OutputIntents", "/Metadata"):
        writer.root_object.pop(NameObject(key), None)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@dataclass
class Bench:
    export_dir: Path
    settings: Settings
    dates: dict[tuple[str, str], date]

    def document(self, invoice: Invoice, lines: list[InvoiceVatLine]) -> FacturxInvoice:
        original = invoice.original_invoice_number
        found = facturx_document(
            invoice,
            lines,
            self.settings,
            original_invoice_date=self.dates.get((invoice.supplier_siret, original or "")),
        )
        assert found is not None
        return found

    def preflight(self, invoice: Invoice, pdf_file: str) -> None:
        expected = PdfExpectations(
            invoice_number=invoice.invoice_number,
            buyer_siret=invoice.buyer_siret or "",
            engagement_number=invoice.engagement_number,
            service_code=invoice.buyer_service_code,
            total_ttc_cents=invoice.total_ttc_cents,
        )
        check = check_invoice_pdf(self.export_dir, pdf_file, expected)
        if not check.ok:
            raise RuntimeError(f"{pdf_file}: preflight refused a valid sample invoice: {check}")

    def both(self, clock: Clock, invoice: Invoice, lines: list[InvoiceVatLine], pdf: bytes) -> bool:
        """Times the XML steps once, then today's embedding and the new PDF/A-3 step with its
        embedding; returns whether Ghostscript converted the PDF."""
        with clock.step("rows"):
            inv = self.document(invoice, lines)
        with clock.step("build"):
            xml = build_cii(inv)
        with clock.step("xsd"):
            errors = xsd_errors(xml)
        with clock.step("rules"):
            found = check_facturx_invoice(inv)
        if errors or found:
            raise RuntimeError(f"{invoice.invoice_number}: {errors} {found}")
        with clock.step("today_embed"):
            attach_facturx(Pdfa3(open_pdf(pdf), None, converted=False), xml, author="x")
        with clock.step("pdfa"):
            pdfa = as_pdfa3(pdf)
        with clock.step("embed"):
            attach_facturx(pdfa, xml, author="x")
        return pdfa.converted


TODAY_STEPS = (*XML_STEPS, "today_embed")
NEW_STEPS = (*XML_STEPS, "pdfa", "embed")


def _report(prefix: str, clock: Clock, count: int) -> None:
    """Figures of one input kind: per-invoice costs, steps, ratios, the verdict."""
    today_cpu, new_cpu = clock.total(TODAY_STEPS) / count, clock.total(NEW_STEPS) / count
    today_wall = clock.total(TODAY_STEPS, wall=True) / count
    new_wall = clock.total(NEW_STEPS, wall=True) / count
    figure(f"{prefix}.invoices", count)
    figure(f"{prefix}.today.cpu_per_invoice", 1000 * today_cpu, "ms")
    figure(f"{prefix}.today.wall_per_invoice", 1000 * today_wall, "ms")
    figure(f"{prefix}.with_conversion.cpu_per_invoice", 1000 * new_cpu, "ms")
    figure(f"{prefix}.with_conversion.wall_per_invoice", 1000 * new_wall, "ms")
    for step in (*XML_STEPS, "today_embed", "pdfa", "embed"):
        figure(f"{prefix}.step.{step}.cpu_per_invoice", 1000 * clock.cpu[step] / count, "ms")
    ratio_cpu, ratio_wall = new_cpu / today_cpu, new_wall / today_wall
    figure(f"{prefix}.ratio.with_conversion_to_today.cpu", ratio_cpu, "x")
    figure(f"{prefix}.ratio.with_conversion_to_today.wall", ratio_wall, "x")
    verdict(
        f"{prefix}: with conversion <= {TARGET_RATIO:g} x today's build (CPU)",
        ratio_cpu <= TARGET_RATIO,
        f"{ratio_cpu:.2f} x",
    )


def measure(
    export_dir: Path, today: date, invoices: int, ghostscript_count: int, schematron_count: int
) -> int:
    rows = _warehouse_rows(export_dir, today)
    bench = Bench(export_dir, Settings(_env_file=None), _original_dates(rows))
    rows = rows[:invoices]
    pdfs = {pdf_file: (export_dir / pdf_file).read_bytes() for _i, _l, pdf_file in rows}
    en16931_schema()  # parsed once per process, as in production: not per-invoice cost
    note(f"{len(rows)} valid invoices measured, one process, load {load_average():.1f}")

    # Warm-up: first calls import and cache what every later call reuses.
    for invoice, lines, pdf_file in rows[:10]:
        bench.preflight(invoice, pdf_file)
        bench.both(Clock(), invoice, lines, pdfs[pdf_file])

    yardstick, clock = Clock(), Clock()
    converted = 0
    for invoice, lines, pdf_file in rows:
        with yardstick.step("preflight"):
            bench.preflight(invoice, pdf_file)
        converted += bench.both(clock, invoice, lines, pdfs[pdf_file])
    count = len(rows)
    figure("pdfa_input.converted_by_ghostscript", converted)
    note("pdfa_input: the sample export's PDF/A-3 files, kept after inspection")
    _report("pdfa_input", clock, count)
    preflight = yardstick.cpu["preflight"] / count
    figure("preflight.cpu_per_invoice", 1000 * preflight, "ms")
    figure(
        "ratio.with_conversion_to_preflight.cpu", clock.total(NEW_STEPS) / count / preflight, "x"
    )
    figure("ratio.today_to_preflight.cpu", clock.total(TODAY_STEPS) / count / preflight, "x")
    note(f"load {load_average():.1f} after the PDF/A-3 input")

    if ghostscript_count:
        sample = rows[:ghostscript_count]
        plain = {pdf_file: _not_pdfa(pdfs[pdf_file]) for _i, _l, pdf_file in sample}
        invoice, lines, pdf_file = sample[0]
        bench.both(Clock(), invoice, lines, plain[pdf_file])  # Ghostscript's first start
        gs_clock = Clock()
        converted = sum(
            bench.both(gs_clock, invoice, lines, plain[pdf_file])
            for invoice, lines, pdf_file in sample
        )
        if converted != len(sample):
            raise RuntimeError(f"only {converted} of {len(sample)} PDFs were converted")
        note("not_pdfa_input: the same PDFs without PDF/A identification nor OutputIntent")
        _report("not_pdfa_input", gs_clock, len(sample))
        note(f"load {load_average():.1f} after the Ghostscript input")

    if schematron_count and schematron_available():
        started = time.perf_counter()
        for name in RULES["fr"]:
            schematron(name)
        figure("schematron.fr.compile", time.perf_counter() - started, "s")
        sample = rows[:schematron_count]
        cpu, wall = time.process_time(), time.perf_counter()
        failed = 0
        for invoice, lines, _pdf in sample:
            xml = build_cii(bench.document(invoice, lines))
            failed += sum(1 for f in findings(xml, "fr") if f.fatal)
        figure(
            "schematron.fr.cpu_per_invoice",
            1000 * (time.process_time() - cpu) / len(sample),
            "ms",
        )
        figure(
            "schematron.fr.wall_per_invoice",
            1000 * (time.perf_counter() - wall) / len(sample),
            "ms",
        )
        figure("schematron.fr.fatal_failures", failed)
        note("the three Schematrons are not part of the ingest: tests and --rules fr only")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR")
    parser.add_argument(
        "--ghostscript",
        type=int,
        default=100,
        metavar="N",
        help="also time N PDFs that Ghostscript must convert",
    )
    parser.add_argument(
        "--schematron", type=int, default=100, metavar="N", help="also time the Schematrons on N"
    )
    args = parser.parse_args(argv)
    machine_figures("before")
    with work_directory(args.keep) as workdir:
        export = prepare_export(workdir, invoices=args.invoices, seed=args.seed)
        if export.reused:
            note(f"export reused from {export.path}")
        note("export generation is not benchmark time")
        figure("export.generation", export.generation_seconds, "s")
        return measure(export.path, export.today, args.invoices, args.ghostscript, args.schematron)


if __name__ == "__main__":
    sys.exit(main())
