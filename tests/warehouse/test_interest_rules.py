"""Late interest: the alert and the dashboard say the same amount, to the cent, half cents included.

Both read `schemas.rules`: the alerts compute in Python (`tasks.reconcile.overdue`), the views in
SQL generated from the same rule. These tests run both on the same invoices, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, col

from chorus_etl.french import format_euros
from schemas.rules import DELAYS, late_interest_cents, late_interest_rate_bp
from schemas.views import INVOICE_LIFECYCLE
from schemas.warehouse import Alert, Invoice
from tasks.reconcile.overdue import find_overdue, queue_overdue_alerts
from tests.dashboard.helpers import records

ECB = 2.15  # the settings' default: 10.15 % with the 8 points
SIRET = "51858054300107"
_INVOICE = SQLModel.metadata.tables[str(Invoice.__tablename__)]


def test_1950_euros_365_days_late_at_10_15_percent_is_197_93_everywhere(
    any_warehouse: Engine,
) -> None:
    """Floats rounding half to even said 197.92 € in the alert, the view 197.93 €."""
    assert late_interest_cents(195_000, 365, 1015) == 19_793
    today = datetime.now(UTC).date()
    _insert(any_warehouse, [(195_000, 365)], today)
    late = find_overdue(any_warehouse, today, {}, ECB)
    assert [o.interest_cents for o in late] == [19_793]
    assert [r["interest_cents"] for r in records(any_warehouse, INVOICE_LIFECYCLE)] == [19_793]
    queue_overdue_alerts(
        any_warehouse, late, accounting_email="compta@example.org", ecb_rate_percent=ECB
    )
    with any_warehouse.connect() as connection:
        bodies = connection.execute(sa.select(col(Alert.body))).scalars().all()
    assert bodies and all(format_euros(19_793) in body for body in bodies)


def _insert(engine: Engine, rows: list[tuple[int, int]], today: date) -> None:
    """Deposited invoices to local bodies (30 days), each `days` late on `today`."""
    now = datetime.now(UTC)
    delay = DELAYS["local"]
    with engine.begin() as connection:
        connection.execute(sa.delete(_INVOICE))
        connection.execute(
            sa.insert(_INVOICE),
            [
                {
                    "cooperative": "cooproduction",
                    "supplier_siret": SIRET,
                    "invoice_number": f"I-{index}",
                    "invoice_type": "FACTURE",
                    "buyer_siret": "21670447800017",
                    "buyer_name": "COMMUNE",
                    "currency": "EUR",
                    "payment_mode": "VIREMENT",
                    "attachments_json": "[]",
                    "amount_ht_cents": ttc,
                    "amount_vat_cents": 0,
                    "total_ttc_cents": ttc,
                    "state": "deposited",
                    "chorus_invoice_id": index + 1,
                    "current_status": "MISE_A_DISPOSITION",
                    "deposit_date": today - timedelta(days=delay + days),
                    "created_at": now,
                    "updated_at": now,
                }
                for index, (ttc, days) in enumerate(rows)
            ],
        )


def _half_cents(days: int) -> list[tuple[int, int]]:
    """Amounts whose interest over `days` at 10.15 % ends in exactly half a cent."""
    rate = late_interest_rate_bp(ECB)
    unit = 365 * 10_000
    return [
        (ttc, days)
        for ttc in range(100, 400_000, 37)
        if (2 * ttc * rate * days) % (2 * unit) == unit
    ][:40]


@settings(
    max_examples=5,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    largest=st.sampled_from([1_000, 100_000, 50_000_000]),
    half_days=st.sampled_from([365, 730, 73, 146]),
)
def test_every_overdue_invoice_has_the_same_interest_in_the_alert_and_the_view(
    any_warehouse: Engine, seed: int, largest: int, half_days: int
) -> None:
    """Five runs of 2,000 invoices (10,000 on each engine), half cents in every run: hypothesis
    draws each run's amounts (up to `largest` cents) and delays through its seed."""
    draw = random.Random(seed)
    rows = [(draw.randint(1, largest), draw.randint(1, 2_000)) for _ in range(1_960)]
    today = datetime.now(UTC).date()
    invoices = rows + _half_cents(half_days)
    _insert(any_warehouse, invoices, today)
    alerts = {o.invoice_id: o.interest_cents for o in find_overdue(any_warehouse, today, {}, ECB)}
    view = {
        int(r["invoice_id"]): int(r["interest_cents"])
        for r in records(any_warehouse, INVOICE_LIFECYCLE)
        if r["is_overdue"]
    }
    assert len(alerts) == len(invoices)
    assert alerts == view
