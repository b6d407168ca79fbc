"""Overlapping deposit batches share one bound on the deposits in flight."""

from __future__ import annotations

import threading
from typing import cast

import sqlalchemy as sa

from chorus_pro.api import ChorusProApi
from tasks.deposit.depositor import Depositor, run_parallel
from tasks.deposit.outcomes import DepositOutcome, DepositResult


class RecordingSemaphore:
    """A bounded semaphore that remembers how many holders it had at once."""

    def __init__(self, value: int) -> None:
        self._inner = threading.BoundedSemaphore(value)
        self._lock = threading.Lock()
        self.holders = 0
        self.peak = 0
        self.acquisitions = 0

    def __enter__(self) -> RecordingSemaphore:
        self._inner.acquire()
        with self._lock:
            self.holders += 1
            self.acquisitions += 1
            self.peak = max(self.peak, self.holders)
        return self

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self.holders -= 1
        self._inner.release()


def test_two_batches_in_flight_never_exceed_the_configured_concurrency() -> None:
    engine = sa.create_engine("sqlite://")
    depositor = Depositor(
        engine, cast(ChorusProApi, object()), accounting_email="compta@example.org", concurrency=2
    )
    slots = RecordingSemaphore(2)
    depositor.slots = slots  # type: ignore[assignment]
    inside: list[int] = []

    def work(_d: Depositor, invoice_id: int) -> DepositOutcome:
        inside.append(slots.holders)
        return DepositOutcome(invoice_id, "s", str(invoice_id), DepositResult.SKIPPED)

    results: dict[int, list[DepositOutcome]] = {}

    def batch(number: int) -> None:
        ids = range(number * 100, number * 100 + 40)
        results[number] = run_parallel(depositor, ids, 8, work)

    threads = [threading.Thread(target=batch, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()

    assert sorted(o.invoice_id for o in results[1]) == list(range(100, 140))
    assert sorted(o.invoice_id for o in results[2]) == list(range(200, 240))
    assert slots.acquisitions == 80, "every deposit holds a slot"
    assert slots.peak <= 2
    assert all(1 <= n <= 2 for n in inside)
    assert slots.holders == 0
