"""The deposit stages as Prefect tasks: recovery of ambiguous deposits, then batches of `ready` ones."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from chorus_etl import progress
from chorus_etl.log import get_logger
from tasks.deposit.depositor import Depositor, run_parallel
from tasks.deposit.outcomes import DepositOutcome

log = get_logger(__name__)


@task(name="resolve-submitting", cache_policy=NO_CACHE)
def resolve_submitting(
    depositor: Depositor, invoice_ids: list[int], concurrency: int
) -> list[DepositOutcome]:
    """Invoices left `submitting` by a crash are looked up on Chorus Pro before anything else."""
    depositor.prefetch(invoice_ids)
    outcomes = run_parallel(
        depositor, invoice_ids, concurrency, lambda d, i: d.resolve_submitting(i)
    )
    log.info(
        "deposit.recovered",
        submitting=len(invoice_ids),
        found=sum(1 for o in outcomes if o.chorus_invoice_id is not None),
    )
    return outcomes


@task(name="deposit-batch", cache_policy=NO_CACHE)
def deposit_batch(
    depositor: Depositor, invoice_ids: list[int], concurrency: int
) -> list[DepositOutcome]:
    depositor.prefetch(invoice_ids)
    outcomes = run_parallel(
        depositor,
        invoice_ids,
        concurrency,
        lambda d, i: d.deposit(i),
        on_done=lambda _outcome: progress.advance("deposit"),
    )
    log.info(
        "deposit.batch_done",
        invoices=len(invoice_ids),
        **{
            result: sum(1 for o in outcomes if o.result.value == result)
            for result in {o.result.value for o in outcomes}
        },
    )
    return outcomes
