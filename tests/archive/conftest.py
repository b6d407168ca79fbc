"""Deposited invoices on the simulator and in the warehouse, for the archive tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from chorus_pro.client import ChorusProClient
from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import ANTIGONE, BUYER_NO_REQUIREMENT
from schemas.payloads import PieceJointeComplementaire
from schemas.warehouse import Invoice
from tasks.archive import Archiver, FetchReport, lacking
from tests.contract.conftest import pdf_bytes, pdf_invoice
from tests.returns.conftest import chorus_client

DOWNLOAD = "/cpro/factures/v1/telecharger/groupe"


@pytest.fixture
def client(simulator: SimulatorHandle) -> Iterator[ChorusProClient]:
    with chorus_client(simulator) as built:
        yield built


def deposited(
    engine: Engine, client: ChorusProClient, number: str, attachment: bytes | None = None
) -> int:
    """An invoice deposited on the simulator (with an attachment if given) and `deposited` in
    the warehouse, with the certificate fingerprint `soumettre` answered."""
    request = pdf_invoice(client, number)
    if attachment is not None:
        upload = client.upload_file(f"PV-{number}.pdf", attachment)
        request.pieceJointeComplementaire = [
            PieceJointeComplementaire(
                pieceJointeComplementaireDesignation="PV",
                pieceJointeComplementaireId=upload,
                pieceJointeComplementaireType="PIECE_JUSTIFICATIVE",
            )
        ]
    answer = client.submit_invoice(request)
    with Session(engine) as session:
        invoice = Invoice(
            cooperative="cooproduction",
            supplier_siret=ANTIGONE.siret,
            invoice_number=number,
            invoice_date=date(2026, 11, 2),
            buyer_siret=BUYER_NO_REQUIREMENT.siret,
            total_ttc_cents=12_000,
            state="deposited",
            chorus_invoice_id=answer.identifiantFactureCPP,
            deposit_date=answer.dateDepot,
            certificate_fingerprint=answer.empreinteCertificatDepot,
        )
        session.add(invoice)
        session.commit()
        assert invoice.id is not None
        return invoice.id


def fetch(
    engine: Engine,
    client: ChorusProClient,
    root: Path,
    *,
    limit: int | None = None,
    batch_size: int = 20,
    attachments: bool = True,
) -> FetchReport:
    """One archive run over what the warehouse lacks (the first `limit`)."""
    archiver = Archiver(
        engine, root, lambda _siret: client, attachments=attachments, batch_size=batch_size
    )
    return archiver.fetch(lacking(engine, limit=limit))


__all__ = ["DOWNLOAD", "deposited", "fetch", "pdf_bytes"]
