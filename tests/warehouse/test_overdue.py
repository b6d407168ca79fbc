"""The legal payment delays, on a small warehouse built by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from schemas.rules import DELAYS, buyer_kind, late_interest_cents
from schemas.warehouse import BuyerStructure, Invoice, StatusEvent
from tasks.reconcile.overdue import find_overdue

DEPOSIT = date(2026, 9, 1)
SIRETS = {
    "state": "11000907300013",
    "local": "21670447800017",
    "hospital": "26679006200019",
    "public_company": "20009004100019",
}
NAMES = {
    "state": "DIRECTION REGIONALE",
    "local": "MAIRIE DE SCHILTIGHEIM",
    "hospital": "CENTRE HOSPITALIER DE SIMULVILLE",
    "public_company": "REGIE DES TRANSPORTS",
}


def _invoice(
    session: Session, number: str, kind: str, statuses: tuple[tuple[str, int], ...] = ()
) -> int:
    invoice = Invoice(
        cooperative="cooproduction",
        supplier_siret="51858054300107",
        invoice_number=number,
        buyer_siret=SIRETS[kind],
        buyer_name=NAMES[kind],
        total_ttc_cents=100_000,
        state="deposited",
        deposit_date=DEPOSIT,
        current_status=statuses[-1][0] if statuses else "MISE_A_DISPOSITION",
    )
    session.add(invoice)
    session.flush()
    assert invoice.id is not None
    for status, day in statuses:
        at = datetime(2026, 9, 1, 10, tzinfo=UTC) + timedelta(days=day)
        session.add(StatusEvent(invoice_id=invoice.id, status=status, status_at=at))
    return invoice.id


def test_buyer_kinds_come_from_overrides_then_names_then_siren() -> None:
    assert buyer_kind(SIRETS["hospital"], NAMES["hospital"], {}) == "hospital"
    assert buyer_kind(SIRETS["public_company"], NAMES["public_company"], {}) == "public_company"
    assert buyer_kind(SIRETS["state"], NAMES["state"], {}) == "state"
    assert buyer_kind(SIRETS["local"], NAMES["local"], {}) == "local"
    assert buyer_kind(SIRETS["local"], NAMES["local"], {SIRETS["local"]: "hospital"}) == "hospital"


@pytest.mark.parametrize("kind", ["state", "local", "hospital", "public_company"])
def test_each_delay_starts_at_the_deposit_date(warehouse: Engine, kind: str) -> None:
    with Session(warehouse) as session:
        invoice_id = _invoice(session, f"F-{kind}", kind)
        session.commit()
    due = DEPOSIT + timedelta(days=DELAYS[kind])
    assert find_overdue(warehouse, due, {}, 2.15) == []
    late = find_overdue(warehouse, due + timedelta(days=10), {}, 2.15)
    assert [(o.invoice_id, o.delay_days, o.days_late) for o in late] == [
        (invoice_id, DELAYS[kind], 10)
    ]
    assert late[0].interest_cents == late_interest_cents(100_000, 10, 1015)
    assert late[0].interest_cents == 278


def test_paid_rejected_and_out_of_order_statuses(warehouse: Engine) -> None:
    with Session(warehouse) as session:
        _invoice(session, "PAID", "local", (("MISE_A_DISPOSITION", 0), ("MISE_EN_PAIEMENT", 20)))
        _invoice(
            session,
            "OUT-OF-ORDER",
            "local",
            (("MISE_A_DISPOSITION", 0), ("MISE_EN_PAIEMENT", 20), ("MANDATEE", 25)),
        )
        _invoice(session, "REJECTED", "local", (("MISE_A_DISPOSITION", 0), ("REJETEE", 3)))
        late_id = _invoice(session, "LATE", "local", (("MISE_A_DISPOSITION", 0), ("MANDATEE", 20)))
        _invoice(session, "SUSPENDED", "local", (("MISE_A_DISPOSITION", 0), ("SUSPENDUE", 4)))
        session.commit()
    late = find_overdue(warehouse, DEPOSIT + timedelta(days=90), {}, 2.15)
    assert [o.invoice_id for o in late] == [late_id]


def test_a_buyer_that_never_reports_payment_is_settled_at_the_mandate(warehouse: Engine) -> None:
    with Session(warehouse) as session:
        session.add(
            BuyerStructure(
                siret=SIRETS["local"],
                payment_not_reported=True,
                expires_at=datetime(2030, 1, 1, tzinfo=UTC),
            )
        )
        _invoice(session, "MANDATED", "local", (("MANDATEE", 15),))
        waiting = _invoice(session, "NOT-MANDATED", "local", (("SERVICE_FAIT", 15),))
        session.commit()
    late = find_overdue(warehouse, DEPOSIT + timedelta(days=60), {}, 2.15)
    assert [o.invoice_id for o in late] == [waiting]
