"""`chorus-etl facturx INVOICE_NUMBER OUT.pdf`: the Factur-X of one staged invoice, to look at.

The file is what a Factur-X deposit would send (the same builder), so accounting can open it in any
viewer or validator before switching a structure to Factur-X, or to see why one was refused.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli.output import emit


def facturx(
    invoice_number: str = typer.Argument(..., help="The invoice number, as in the export."),
    out: Path = typer.Argument(..., dir_okay=False, help="Where to write the Factur-X PDF."),
    supplier: str | None = typer.Option(
        None, "--supplier", help="Supplier SIRET, when several structures use this number."
    ),
    xml_out: Path | None = typer.Option(
        None, "--xml", dir_okay=False, help="Also write the embedded CII XML there."
    ),
    schematron: bool = typer.Option(
        False, "--schematron", help="Also run the official EN 16931 Schematron (slower)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
) -> None:
    """Builds, checks and writes the Factur-X (PDF/A-3 + EN 16931 XML) of a staged invoice."""
    from sqlmodel import Session, col, select

    from chorus_etl import db
    from chorus_etl.config import get_settings
    from chorus_etl.log import configure_logging
    from schemas.warehouse import Invoice
    from tasks.deposit.document import facturx_builder
    from tasks.deposit.flux import FacturxRefusal
    from tasks.deposit.store import load_invoices
    from tasks.facturx import read_back

    settings = get_settings()
    configure_logging(settings)
    engine = db.make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            query = select(Invoice.id, Invoice.supplier_siret).where(
                Invoice.invoice_number == invoice_number
            )
            if supplier:
                query = query.where(Invoice.supplier_siret == supplier)
            found = session.exec(query.order_by(col(Invoice.id))).all()
        if not found:
            typer.echo(f"facturx: no staged invoice {invoice_number!r}", err=True)
            raise typer.Exit(1)
        if len({siret for _, siret in found}) > 1:
            sirets = ", ".join(sorted({siret for _, siret in found}))
            typer.echo(
                f"facturx: {invoice_number!r} exists for {sirets}: pass --supplier", err=True
            )
            raise typer.Exit(1)
        invoice_id = found[-1][0]
        assert invoice_id is not None
        loaded = load_invoices(engine, [invoice_id])[invoice_id]
        try:
            pdf = facturx_builder(settings)(loaded)
        except FacturxRefusal as exc:
            typer.echo(f"facturx: {invoice_number} cannot become a Factur-X: {exc.label}", err=True)
            raise typer.Exit(1) from None
    finally:
        engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    xml, level = read_back(pdf)
    if xml_out is not None:
        xml_out.parent.mkdir(parents=True, exist_ok=True)
        xml_out.write_bytes(xml)
    failed: list[str] = []
    if schematron:
        from tasks.facturx.schematron import failed_assertions, schematron_available

        if not schematron_available():
            typer.echo("facturx: --schematron needs saxonche (pip install saxonche)", err=True)
            raise typer.Exit(2)
        failed = [f"{f.rule_id}: {f.text}" for f in failed_assertions(xml) if f.fatal]
    summary = {
        "invoice": invoice_number,
        "supplier_siret": loaded.invoice.supplier_siret,
        "out": str(out),
        "level": level,
        "pdf_bytes": len(pdf),
        "xml_bytes": len(xml),
        "schematron_failures": failed if schematron else None,
    }
    emit(
        summary,
        as_json=as_json,
        human=(
            f"Factur-X ({level}) of {invoice_number} written to {out} ({len(pdf):,} bytes, "
            f"XML {len(xml):,} bytes)"
            + (
                ""
                if not schematron
                else (
                    "\nEN 16931 Schematron: no failed assertion"
                    if not failed
                    else "\nEN 16931 Schematron failures:\n  " + "\n  ".join(failed)
                )
            )
        ),
    )
    if failed:
        raise typer.Exit(1)
