"""The demo's accounting answering returned invoices the way the export contract says.

After a night that found invoices sent back, accounting drops the answers into the demo's
export: a `complements/<NUMBER>/` folder (a signed delivery note and a comment) for a suspended
invoice, and for an invoice to recycle the same export with a corrected routing (another
service of the buyer, or a new engagement number). The next daily run ingests them and its
returns stage answers each on Chorus Pro once.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fpdf import FPDF
from sqlmodel import Session, col, select

from chorus_etl import db
from chorus_pro.simulator.seed import FACTURES_PUBLIQUES, buyer_by_siret
from schemas.warehouse import Invoice, InvoiceState, ReturnAction
from tasks.ingest.extract import decode

COMMENT = "Bon de livraison signé joint, comme demandé."


def _unanswered(url: str) -> list[Invoice]:
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            answered = select(ReturnAction.invoice_id)
            return list(
                session.exec(
                    select(Invoice).where(
                        Invoice.state == InvoiceState.DEPOSITED.value,
                        col(Invoice.current_status).in_(["SUSPENDUE", "A_RECYCLER"]),
                        col(Invoice.id).not_in(answered),
                    )
                ).all()
            )
    finally:
        engine.dispose()


def _delivery_note(path: Path, number: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, f"Bon de livraison - facture {number} - signe par le client")
    pdf.output(str(path))


def _corrected(row: dict[str, str], number: int) -> None:
    """Another routing the buyer accepts: another of its services, else a new engagement."""
    buyer = buyer_by_siret(row["siret_client"])
    services = [
        s.code
        for s in (buyer.services if buyer else ())
        if s.active
        and s.code not in (FACTURES_PUBLIQUES, row["code_service"])
        and not s.engagement_required
    ]
    if services and (row["code_service"] or (buyer and buyer.flags.service_required)):
        row["code_service"] = services[0]
    else:
        row["numero_engagement"] = f"EJ-CORR-{number:04d}"


def answer_returned(export: Path, url: str) -> list[str]:
    """Writes the answers to the invoices newly sent back into `export`; their numbers."""
    returned = _unanswered(url)
    if not returned:
        return []
    table = export / "invoices.csv"
    # Read as the ingest reads it, and written back in the encoding it was found in.
    text, encoding = decode(table.read_bytes())
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
    recycled = False
    for index, invoice in enumerate(returned):
        if invoice.current_status == "SUSPENDUE":
            folder = export / "complements" / invoice.invoice_number.replace("/", "_")
            _delivery_note(folder / "bon-de-livraison.pdf", invoice.invoice_number)
            (folder / "commentaire.txt").write_text(COMMENT, encoding="utf-8")
            continue
        for row in rows:
            if (row["siret_fournisseur"], row["numero_facture"]) == (
                invoice.supplier_siret,
                invoice.invoice_number,
            ):
                _corrected(row, index)
                recycled = True
    if recycled:
        buffer = io.StringIO()
        terminator = "\r\n" if "\r\n" in text else "\n"
        writer = csv.DictWriter(
            buffer, fieldnames=list(rows[0]), delimiter=";", lineterminator=terminator
        )
        writer.writeheader()
        writer.writerows(rows)
        table.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))
    return [i.invoice_number for i in returned]


def answered(url: str) -> list[dict[str, Any]]:
    """Each answer sent, with where its invoice stands on Chorus Pro now."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    col(Invoice.invoice_number),
                    col(ReturnAction.kind),
                    col(ReturnAction.origin),
                    col(ReturnAction.state),
                    col(ReturnAction.chorus_status),
                    col(Invoice.current_status),
                )
                .join(Invoice, col(Invoice.id) == col(ReturnAction.invoice_id))
                .order_by(col(ReturnAction.id))
            ).all()
    finally:
        engine.dispose()
    return [dict(r._mapping) for r in rows]
