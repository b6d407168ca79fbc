"""Every alert row belongs to a cooperative, and one cannot be queued for another's invoice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chorus_etl.config import get_settings
from chorus_etl.cooperatives import cooperative_of
from schemas.warehouse import Alert, Invoice
from tasks.alerts import outbox
from tasks.reconcile.password_expiry import queue_if_expiring
from tests.fixtures.isolation import ANTIGONE, ARTENREEL, use_two_cooperatives


def _queue(session: Session, invoice: Invoice | None, cooperative: str | None) -> list[Alert]:
    return outbox.queue(
        session,
        kind="rejetee",
        event_key="k",
        invoice=invoice,
        subject="Facture rejetée",
        body="Bonjour,",
        entrepreneur=None,
        accounting_email=ANTIGONE.accounting_email,
        cooperative=cooperative,
    )


def test_an_alert_takes_its_invoice_s_cooperative_and_refuses_another(warehouse: Engine) -> None:
    with Session(warehouse) as session:
        invoice = Invoice(
            cooperative=ANTIGONE.id, supplier_siret=ANTIGONE.siret, invoice_number="FC-001"
        )
        session.add(invoice)
        session.flush()
        (alert,) = _queue(session, invoice, None)
        assert alert.cooperative == ANTIGONE.id
        with pytest.raises(ValueError, match="of cooperative 'antigone'"):
            _queue(session, invoice, ARTENREEL.id)
        with pytest.raises(ValueError, match="needs its cooperative"):
            _queue(session, None, None)


def test_the_password_warning_belongs_to_the_structure_s_cooperative(
    warehouse: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_two_cooperatives(monkeypatch, tmp_path)
    created = queue_if_expiring(
        warehouse,
        structure=ARTENREEL.siret,
        expires_on=date(2026, 12, 10),
        as_of=date(2026, 12, 1),
        warning_days=15,
        accounting_email=ARTENREEL.accounting_email,
        cooperative=cooperative_of(ARTENREEL.siret, get_settings()),
    )
    assert created == 1
    with Session(warehouse) as session:
        (alert,) = session.exec(select(Alert)).all()
    assert (alert.cooperative, alert.recipient, alert.invoice_id) == (
        ARTENREEL.id,
        ARTENREEL.accounting_email,
        None,
    )
