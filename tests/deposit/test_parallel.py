"""Overlapping deposit batches share the depositor's one bound on the deposits in flight."""

from __future__ import annotations

import threading
from typing import cast

import sqlalchemy as sa

from chorus_pro.api import ChorusProApi
from tasks.deposit.depositor import Depositor, run_parallel
from tasks.deposit.outcomes import DepositOutcome, DepositResult


def test_two_batches_in_flight_reach_the_configured_concurrency_and_never_exceed_it() -> None:
    """Each deposit waits at a barrier of two: with the bound at 2, every deposit finds its
    partner (a bound of 1 would break the barrier); with 16 pool threads across the two batches,
    a third deposit inside at once would mean the bound is not the depositor's."""
    engine = sa.create_engine("sqlite://")
    depositor = Depositor(
        engine, cast(ChorusProApi, object()), accounting_email="compta@example.org", concurrency=2
    )
    lock = threading.Lock()
    pair = threading.Barrier(2, timeout=60)
    inside = 0
    peak = 0

    def work(_d: Depositor, invoice_id: int) -> DepositOutcome:
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        try:
            pair.wait()
        finally:
            with lock:
                inside -= 1
        return DepositOutcome(invoice_id, "s", str(invoice_id), DepositResult.SKIPPED)

    results: dict[int, list[DepositOutcome]] = {}
    errors: list[BaseException] = []

    def batch(number: int) -> None:
        ids = range(number * 100, number * 100 + 40)
        try:
            results[number] = run_parallel(depositor, ids, 8, work)
        except BaseException as exc:  # reported below, with the batch's results
            errors.append(exc)

    threads = [threading.Thread(target=batch, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()

    assert errors == []
    assert sorted(o.invoice_id for o in results[1]) == list(range(100, 140))
    assert sorted(o.invoice_id for o in results[2]) == list(range(200, 240))
    assert peak == 2
    assert inside == 0
