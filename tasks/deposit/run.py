"""One deposit run over one account group: the protocol's order, for the flows to loop over.

Interrupted deposits first (those whose run is gone; one found absent is `ready` again and goes
with the rest), then the `ready` invoices in overlapping batches, then one look at the reports of
the fluxes sent, then the bounded waits of what is left for the next run. A refusal that concerns
the whole account (`ACCESS_REFUSALS`) stops the group and is handed back, so that the run goes on
with the next one.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from prefect.futures import PrefectFuture
from sqlalchemy.engine import Engine

from chorus_etl import progress
from chorus_etl.accounts import AccountGroup, load_accounts
from chorus_etl.chorus_client import ChorusClients
from chorus_etl.fanout import run_per_structure
from chorus_etl.runs import current_flow_run_id, runs_counts
from chorus_etl.settings import Settings
from tasks.deposit.depositor import Depositor, Filters, select_ready, select_submitting
from tasks.deposit.factory import make_depositor
from tasks.deposit.outcomes import ACCESS_REFUSALS, DepositOutcome, DepositResult
from tasks.deposit.stages import deposit_batch, resolve_submitting
from tasks.deposit.waits import record_deposit_waits


@dataclass
class GroupDeposit:
    """What one account group deposited, and the refusal that stopped it, if any."""

    group: AccountGroup
    outcomes: list[DepositOutcome] = field(default_factory=list)
    refusal: BaseException | None = None


def to_do(engine: Engine, filters: Filters, *, dry_run: bool) -> int:
    """How many invoices a run over `filters` will handle (for its progress bar)."""
    count = len(select_ready(engine, filters))
    return count if dry_run else count + len(select_submitting(engine, filters))


def deposit_group(
    engine: Engine,
    settings: Settings,
    clients: ChorusClients,
    group: AccountGroup,
    filters: Filters,
    *,
    dry_run: bool,
) -> GroupDeposit:
    done = GroupDeposit(group)
    try:
        accounts = load_accounts(settings)
        api = clients.for_account(accounts.account(group.sirets[0]))
        accounting = accounts.accounting_email(group.sirets[0])
        with make_depositor(
            engine, api, settings, dry_run=dry_run, accounting_email=accounting
        ) as depositor:
            if not dry_run:
                done.outcomes += _leftovers(engine, depositor, filters, settings)
            done.outcomes += _ready(engine, depositor, filters, settings)
            if not dry_run:
                done.outcomes = follow_sent_fluxes(
                    depositor, done.outcomes, settings.deposit_concurrency
                )
                record_deposit_waits(engine, done.outcomes, settings)
    except ACCESS_REFUSALS as exc:
        done.refusal = exc
    return done


def _leftovers(
    engine: Engine, depositor: Depositor, filters: Filters, settings: Settings
) -> list[DepositOutcome]:
    stuck = select_submitting(engine, filters)
    if not stuck:
        return []
    outcomes = resolve_submitting(depositor, stuck, settings.deposit_concurrency)
    # One found absent is `ready` again: its progress comes with the batches below.
    progress.advance("deposit", sum(1 for o in outcomes if not o.absent))
    return outcomes


def _ready(
    engine: Engine, depositor: Depositor, filters: Filters, settings: Settings
) -> list[DepositOutcome]:
    """Two batches overlap so that no thread idles while a batch's last invoices finish; the
    depositor's slots keep the calls to `concurrency` at once."""
    ready = select_ready(engine, filters)
    size = settings.deposit_batch_size
    outcomes: list[DepositOutcome] = []
    in_flight: deque[PrefectFuture[list[DepositOutcome]]] = deque()
    try:
        for start in range(0, len(ready), size):
            batch = ready[start : start + size]
            in_flight.append(deposit_batch.submit(depositor, batch, settings.deposit_concurrency))
            if len(in_flight) == 2:
                outcomes += in_flight.popleft().result()
        while in_flight:
            outcomes += in_flight.popleft().result()
    finally:
        for future in in_flight:
            future.wait()
    return outcomes


def follow_sent_fluxes(
    depositor: Depositor, outcomes: list[DepositOutcome], concurrency: int
) -> list[DepositOutcome]:
    """Asks once for the report of each flux this run sent: a quick Chorus Pro settles them now,
    a slow one leaves them to the next run (and to the nightly reconciliation). A flux whose
    answer was lost is left to the next run: only time tells whether Chorus Pro received it."""
    sent = [o.invoice_id for o in outcomes if o.result is DepositResult.AWAITING and o.flux_number]
    if not sent:
        return outcomes
    followed = {o.invoice_id: o for o in resolve_submitting(depositor, sent, concurrency)}
    return [followed.get(o.invoice_id, o) for o in outcomes]


def count_outcomes(outcomes: list[DepositOutcome]) -> dict[str, int]:
    counts = Counter(o.result.value for o in outcomes)
    counts["retried"] = sum(o.retries for o in outcomes)
    return {k: int(v) for k, v in counts.items()}


#: The per-structure deployment of this flow (deployments/prefect.yaml).
PER_STRUCTURE_DEPLOYMENT = "deposit/deposit-structure"


def deposit_fanned_out(engine: Engine, settings: Settings) -> dict[str, Any]:
    """One `deposit-structure` run per structure on the workers (fan-out); their counts, added
    up through the warehouse, where each child records its run."""
    parent = current_flow_run_id() or "local"
    children = run_per_structure(
        PER_STRUCTURE_DEPLOYMENT,
        load_accounts(settings).sirets(),
        {},
        key=f"deposit:{parent}",
        timeout_seconds=settings.fan_out_timeout_minutes * 60,
    )
    totals: Counter[str] = Counter()
    for found in runs_counts(engine, [str(c.flow_run_id) for c in children]).values():
        totals.update({k: int(v) for k, v in found.items() if isinstance(v, int)})
    counts = {k: int(v) for k, v in totals.items()}
    counts["not_completed_runs"] = sum(1 for c in children if not c.completed)
    return counts
