"""Returned invoices over HTTP: a warehouse invoice deposited on the simulator, then sent back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chorus_pro.client import ChorusProClient
from chorus_pro.config import ChorusProConfig
from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import ANTIGONE, SCHILTIGHEIM
from schemas.warehouse import Alert, Entrepreneur, Invoice, ReturnAction, utcnow
from tasks.returns import Answerer
from tests.contract.conftest import pdf_invoice

ACCOUNTING = "compta@cooproduction.example"
ENTREPRENEUR = "lea@example.org"
COMPLETER = "/cpro/factures/v1/completer"
RECYCLER = "/cpro/factures/v1/recycler"
UPLOAD = "/cpro/transverses/v1/ajouter/fichier"


def chorus_client(simulator: SimulatorHandle) -> ChorusProClient:
    """The project's client of the test simulator, with quick retries."""
    config = ChorusProConfig(
        api_url=simulator.base_url,
        oauth_url=simulator.oauth_url,
        **simulator.credentials,
        timeout=10.0,
        max_retries=2,
        backoff_base=0.01,
        backoff_max=0.05,
        trust_env=False,
    )
    return ChorusProClient(config)


@pytest.fixture
def client(simulator: SimulatorHandle) -> Iterator[ChorusProClient]:
    with chorus_client(simulator) as built:
        yield built


@dataclass
class Returned:
    """One invoice of the warehouse, deposited on the simulator and sent back by its buyer."""

    engine: Engine
    client: ChorusProClient
    simulator: SimulatorHandle
    invoice_id: int
    chorus_id: int
    number: str

    def answerer(self) -> Answerer:
        return Answerer.start(
            self.engine, lambda _siret: self.client, lambda _s: ACCOUNTING, timedelta(minutes=10)
        )

    def answer(self, action_id: int) -> object:
        with self.answerer() as answering:
            return answering.answer(action_id)

    def chorus(self) -> dict[str, object]:
        (found,) = [
            i
            for i in self.simulator.control.store()["invoices"]
            if i["identifiantFactureCPP"] == self.chorus_id
        ]
        return dict(found)

    def actions_on_chorus(self) -> list[str]:
        return [str(a["code"]) for a in self.chorus()["actions"]]  # type: ignore[attr-defined]

    def invoice(self) -> Invoice:
        with Session(self.engine) as session:
            found = session.get(Invoice, self.invoice_id)
            assert found is not None
            return found

    def action(self, action_id: int) -> ReturnAction:
        with Session(self.engine) as session:
            found = session.get(ReturnAction, action_id)
            assert found is not None
            return found

    def alerts(self) -> list[tuple[str, str, str]]:
        with Session(self.engine) as session:
            rows = session.exec(select(Alert).order_by(Alert.id)).all()  # type: ignore[arg-type]
            return [(a.kind, a.audience, a.subject) for a in rows]

    def recipients(self) -> list[str]:
        with Session(self.engine) as session:
            return list(session.exec(select(Alert.recipient).order_by(Alert.id)).all())  # type: ignore[arg-type]

    def calls(self, path: str) -> int:
        return int(self.simulator.control.stats()["requests"].get(path, 0))


def returned(
    engine: Engine,
    client: ChorusProClient,
    simulator: SimulatorHandle,
    number: str,
    status: str,
    *,
    service: str = "12C",
    engagement: str | None = None,
) -> Returned:
    """Deposits the invoice on the simulator (to Schiltigheim), records it `deposited` in the
    warehouse, and has its buyer send it back with `status`."""
    chorus_id = client.submit_invoice(
        pdf_invoice(
            client, number, siret=SCHILTIGHEIM.siret, service=service, engagement=engagement
        )
    ).identifiantFactureCPP
    simulator.control.set_status(chorus_id, status, "Bon de livraison manquant")
    with Session(engine) as session:
        session.add(
            Entrepreneur(
                cooperative="cooproduction",
                supplier_siret=ANTIGONE.siret,
                code="ANT-E001",
                name="Léa Martin",
                email=ENTREPRENEUR,
            )
        )
        invoice = Invoice(
            cooperative="cooproduction",
            supplier_siret=ANTIGONE.siret,
            invoice_number=number,
            invoice_date=date(2026, 11, 2),
            entrepreneur_code="ANT-E001",
            buyer_siret=SCHILTIGHEIM.siret,
            buyer_name=SCHILTIGHEIM.name,
            buyer_service_code=service,
            engagement_number=engagement,
            amount_ht_cents=10_000,
            amount_vat_cents=2_000,
            total_ttc_cents=12_000,
            state="deposited",
            chorus_invoice_id=chorus_id,
            deposit_date=date(2026, 11, 3),
            current_status=status,
            current_status_at=utcnow(),
        )
        session.add(invoice)
        session.commit()
        assert invoice.id is not None
        invoice_id = invoice.id
    simulator.control.reset_stats()
    return Returned(engine, client, simulator, invoice_id, chorus_id, number)


def document(folder: Path, name: str, content: bytes = b"%PDF-1.4\n% bon de livraison\n") -> Path:
    path = folder / name
    path.write_bytes(content)
    return path
