"""`DepositStore` claims: held by their run, renewed before each call, lost once taken over."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from chorus_etl.leases import ClaimLost, Owner
from schemas.warehouse import Invoice
from tasks.deposit.store import DepositStore, Uploads

LEASE = timedelta(minutes=10)


def _ready_invoice(engine: Engine) -> int:
    with Session(engine) as session:
        invoice = Invoice(
            cooperative="cooproduction",
            supplier_siret="51858054300107",
            invoice_number="F-1",
            state="ready",
        )
        session.add(invoice)
        session.commit()
        assert invoice.id is not None
        return invoice.id


def _claimed_by_the_first_of_two_runs(
    engine: Engine,
) -> tuple[DepositStore, DepositStore, int, int]:
    """Two live runs' stores, and a ready invoice the first has claimed (its attempt's id)."""
    first, second = (
        DepositStore(engine, accounting_email="c@x.fr", owner=Owner.start(LEASE)) for _ in "12"
    )
    invoice_id = _ready_invoice(engine)
    attempt_id = first.claim(invoice_id, Uploads())
    assert attempt_id is not None
    return first, second, invoice_id, attempt_id


def test_a_claim_is_one_runs_and_a_renewal_finds_it_taken_over(
    any_warehouse: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, invoice_id, attempt_id = _claimed_by_the_first_of_two_runs(any_warehouse)
    assert second.claim(invoice_id, Uploads()) is None, "one claim per invoice"
    first.renew(attempt_id)

    (held,) = second.open_attempts([invoice_id]).values()
    assert held.owner == first.owner.name
    assert second.take_over(held)
    assert not first.take_over(held), "of two takers, one wins"

    now = time.monotonic()
    first.renew(attempt_id)  # within half a lease of its claim: still sure of it, no query
    monkeypatch.setattr(time, "monotonic", lambda: now + LEASE.total_seconds())
    with pytest.raises(ClaimLost):
        first.renew(attempt_id)
    second.renew(attempt_id)  # the taker holds it now


def test_an_owner_that_renewed_after_being_seen_keeps_its_claim(any_warehouse: Engine) -> None:
    """Another host saw the lease run out; the owner renewed before it acted: the take-over of
    what it saw fails, so the attempt never has two holders."""
    owner, taker, invoice_id, attempt_id = _claimed_by_the_first_of_two_runs(any_warehouse)
    (seen,) = taker.open_attempts([invoice_id]).values()
    owner._sure_at.clear()  # the owner asks the warehouse at its next renewal
    owner.renew(attempt_id)
    assert not taker.take_over(seen), "the lease it saw is no longer the attempt's"
    (now,) = taker.open_attempts([invoice_id]).values()
    assert now.owner == owner.owner.name
    assert taker.take_over(now) and now.lease_until != seen.lease_until
