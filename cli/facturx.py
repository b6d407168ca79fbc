"""`chorus-etl facturx INVOICE_NUMBER OUT.pdf`: the Factur-X of one staged invoice, to look at.

The file is what a Factur-X deposit would send (the same builder, PDF/A-3 conversion included), so
accounting can open it in any viewer or validator before switching a structure to Factur-X, or to
see why one was refused. `--rules fr` runs France's rules on it on demand: the EN 16931, French
CTC and EXTENDED-CTC-FR Schematrons (`--rules en16931`, or `--schematron`, the first alone).
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
    rules: str | None = typer.Option(
        None,
        "--rules",
        help="Also run official Schematrons (slower): 'fr' for France's rules (EN 16931, "
        "French CTC, EXTENDED-CTC-FR), 'en16931' for the EN 16931 one alone.",
    ),
    schematron: bool = typer.Option(
        False, "--schematron", help="Same as --rules en16931 (kept for scripts)."
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
    from tasks.facturx import GhostscriptMissing, read_back
    from tasks.facturx.schematron import RULES, findings, schematron_available

    chosen = rules or ("en16931" if schematron else None)
    if chosen is not None and chosen not in RULES:
        typer.echo(f"facturx: --rules takes {' or '.join(sorted(RULES))}, not {chosen!r}", err=True)
        raise typer.Exit(2)
    if chosen is not None and not schematron_available():
        typer.echo("facturx: --rules needs saxonche (pip install saxonche)", err=True)
        raise typer.Exit(2)
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
        except GhostscriptMissing as exc:
            typer.echo(
                f"facturx: the PDF of {invoice_number} is not PDF/A-3 and {exc}: install "
                "Ghostscript (sudo apt-get install -y ghostscript)",
                err=True,
            )
            raise typer.Exit(2) from None
    finally:
        engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    xml, level = read_back(pdf)
    if xml_out is not None:
        xml_out.parent.mkdir(parents=True, exist_ok=True)
        xml_out.write_bytes(xml)
    failed = (
        [f"{f.source} {f.rule_id}: {f.text}" for f in findings(xml, chosen) if f.fatal]
        if chosen is not None
        else []
    )
    summary = {
        "invoice": invoice_number,
        "supplier_siret": loaded.invoice.supplier_siret,
        "out": str(out),
        "level": level,
        "pdf_bytes": len(pdf),
        "xml_bytes": len(xml),
        "rules": list(RULES[chosen]) if chosen is not None else None,
        "schematron_failures": failed if chosen is not None else None,
    }
    emit(
        summary,
        as_json=as_json,
        human=(
            f"Factur-X ({level}) of {invoice_number} written to {out} ({len(pdf):,} bytes, "
            f"XML {len(xml):,} bytes)"
            + (
                ""
                if chosen is None
                else (
                    f"\nSchematrons {', '.join(RULES[chosen])}: no fatal failure"
                    if not failed
                    else f"\nSchematrons {', '.join(RULES[chosen])}, fatal failures:\n  "
                    + "\n  ".join(failed)
                )
            )
        ),
    )
    if failed:
        raise typer.Exit(1)
