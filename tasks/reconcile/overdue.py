"""Which deposited invoices are late, and what the supplier may claim, as of a date.

The rules themselves (delays per buyer kind, what counts as paid, closed or paused, the interest
arithmetic) are `schemas.rules`, which the dashboards' views are generated from too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from schemas import rules
from schemas.alerts import AlertKind
from schemas.rules import DELAYS, buyer_kind, late_interest_cents, late_interest_rate_bp
from schemas.warehouse import (
    Alert,
    BuyerStructure,
    Entrepreneur,
    Invoice,
    InvoiceState,
    StatusEvent,
)
from tasks.alerts import messages, outbox

PAID = frozenset(rules.PAID)
PAID_WHEN_NOT_REPORTED = frozenset(rules.PAID_WHEN_NOT_REPORTED)
CLOSED = frozenset(rules.CLOSED)
PAUSED = frozenset(rules.PAUSED)


@dataclass(frozen=True)
class Overdue:
    invoice_id: int
    kind: str
    delay_days: int
    due: date
    days_late: int
    interest_cents: int


def find_overdue(
    engine: Engine,
    as_of: date,
    overrides: dict[str, str],
    ecb_rate_percent: float,
    cooperative: str | None = None,
) -> list[Overdue]:
    """Deposited invoices with no payment status after their legal delay, as of `as_of`, of one
    cooperative or of all.

    Reads only what decides: the candidate invoices' few columns, and the status events that
    settle or close an invoice (not the whole event log).
    """
    rate_bp = late_interest_rate_bp(ecb_rate_percent)
    earliest = as_of - timedelta(days=min(DELAYS.values()))
    only = [col(Invoice.cooperative) == cooperative] if cooperative is not None else []
    with Session(engine) as session:
        candidates = session.execute(
            sa.select(
                col(Invoice.id),
                col(Invoice.buyer_siret),
                col(Invoice.buyer_name),
                col(Invoice.deposit_date),
                col(Invoice.total_ttc_cents),
                col(Invoice.current_status),
            ).where(
                col(Invoice.state).in_([InvoiceState.DEPOSITED.value, InvoiceState.EXTERNAL.value]),
                col(Invoice.deposit_date).is_not(None),
                col(Invoice.deposit_date) < earliest,
                col(Invoice.invoice_type) == "FACTURE",
                *only,
            )
        ).all()
        deciding: dict[int, set[str]] = {}
        for invoice_id, status in session.exec(
            select(StatusEvent.invoice_id, StatusEvent.status).where(
                col(StatusEvent.status).in_(sorted(PAID_WHEN_NOT_REPORTED | CLOSED))
            )
        ).all():
            deciding.setdefault(invoice_id, set()).add(status)
        not_reported = set(
            session.exec(
                select(BuyerStructure.siret).where(col(BuyerStructure.payment_not_reported))
            ).all()
        )
    late: list[Overdue] = []
    for invoice_id, buyer_siret, buyer_name, deposit_date, ttc, current in candidates:
        assert invoice_id is not None and deposit_date is not None
        seen = deciding.get(invoice_id, set()) | {current or ""}
        paid = PAID_WHEN_NOT_REPORTED if buyer_siret in not_reported else PAID
        if seen & paid or seen & CLOSED or current in PAUSED:
            continue
        kind = buyer_kind(buyer_siret, buyer_name, overrides)
        delay = DELAYS[kind]
        due = deposit_date + timedelta(days=delay)
        days_late = (as_of - due).days
        if days_late > 0:
            late.append(
                Overdue(
                    invoice_id,
                    kind,
                    delay,
                    due,
                    days_late,
                    late_interest_cents(ttc, days_late, rate_bp),
                )
            )
    return late


def queue_overdue_alerts(
    engine: Engine,
    overdue: list[Overdue],
    *,
    accounting_email: str,
    ecb_rate_percent: float,
    accounting_emails: Mapping[str, str] | None = None,
) -> int:
    """One alert per late invoice (entrepreneur and accounting), once: the key has no date.

    Accounting's alert goes to the invoice's own cooperative (`accounting_emails`, cooperative
    to address), and to `accounting_email` only for a cooperative not in it.
    """
    addresses = accounting_emails or {}
    created = 0
    with Session(engine) as session:
        known = set(
            session.exec(select(Alert.dedupe_key).where(col(Alert.kind) == "payment_overdue")).all()
        )
        directory = {
            (e.supplier_siret, e.code): e for e in session.exec(select(Entrepreneur)).all()
        }
        invoices: dict[int, Invoice] = {}
        ids = [item.invoice_id for item in overdue]
        for start in range(0, len(ids), 500):
            rows = session.exec(
                select(Invoice).where(col(Invoice.id).in_(ids[start : start + 500]))
            )
            invoices.update({row.id: row for row in rows.all() if row.id is not None})
        for item in overdue:
            invoice = invoices[item.invoice_id]
            event_key = f"{invoice.supplier_siret}:{invoice.invoice_number}"
            if f"payment_overdue:{event_key}:accounting" in known:
                continue
            entrepreneur = directory.get((invoice.supplier_siret, invoice.entrepreneur_code or ""))
            facts = outbox.facts(invoice, entrepreneur)
            subject, body = messages.payment_overdue(
                facts,
                item.delay_days,
                item.due,
                item.days_late,
                item.interest_cents,
                rules.INDEMNITY_CENTS,
                ecb_rate_percent + 8,
            )
            created += len(
                outbox.queue(
                    session,
                    kind=AlertKind.PAYMENT_OVERDUE,
                    event_key=event_key,
                    invoice=invoice,
                    subject=subject,
                    body=body,
                    entrepreneur=entrepreneur,
                    accounting_email=addresses.get(invoice.cooperative, accounting_email),
                    known_keys=known,
                )
            )
        session.commit()
    return created
