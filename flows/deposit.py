"""`deposit` flow: every `ready` invoice (or a filtered set) onto Chorus Pro, exactly once."""

from __future__ import annotations

from collections import Counter, deque
from datetime import date
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.futures import PrefectFuture
from sqlalchemy.engine import Engine

from chorus_etl import progress
from chorus_etl.accounts import AccountGroup, load_accounts
from chorus_etl.chorus_client import ChorusClients
from chorus_etl.fanout import run_per_structure
from chorus_etl.log import get_logger
from chorus_etl.runs import current_flow_run_id, recorded_run, runs_counts
from chorus_etl.settings import Settings
from flows.environment import flow_environment
from tasks.alerts import halt_group
from tasks.deposit import (
    ACCESS_REFUSALS,
    Depositor,
    DepositOutcome,
    DepositResult,
    Filters,
    deposit_batch,
    make_depositor,
    record_deposit_waits,
    resolve_submitting,
    select_ready,
    select_submitting,
)

log = get_logger(__name__)


@flow(name="deposit", log_prints=False, validate_parameters=True)
def deposit(
    supplier_sirets: list[str] | None = None,
    entrepreneur_codes: list[str] | None = None,
    invoice_numbers: list[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Structure group by structure group (one technical account each): interrupted deposits
    first, then `ready` invoices in batches. A refused account stops its own group only."""
    with flow_environment() as (settings, engine):
        accounts = load_accounts(settings)
        work = []
        total = 0
        for group in accounts.groups(supplier_sirets or None):
            filters = Filters(
                supplier_sirets=list(group.sirets),
                entrepreneur_codes=entrepreneur_codes or [],
                invoice_numbers=invoice_numbers or [],
                date_from=date_from,
                date_to=date_to,
            )
            work.append((group, filters))
            total += len(select_ready(engine, filters))
            if not dry_run:
                total += len(select_submitting(engine, filters))
        outcomes: list[DepositOutcome] = []
        halted: list[dict[str, Any]] = []
        with (
            recorded_run(
                engine, "deposit", cooperative=accounts.sole_cooperative(supplier_sirets)
            ) as counts,
            ChorusClients(settings) as clients,
        ):
            log.info("deposit.start", invoices=total, groups=len(work), dry_run=dry_run)
            progress.start("deposit", total)
            for group, filters in work:
                done, error = _deposit_group(engine, settings, clients, group, filters, dry_run)
                outcomes += done
                if error is not None:
                    halted.append(halt_group(engine, accounts, group, "dépôt", error))
            counts.update(_count(outcomes), halted_structures=sum(len(h["sirets"]) for h in halted))
    summary: dict[str, Any] = {
        "counts": _count(outcomes),
        "invoices": [o.as_dict() for o in outcomes],
        "halted": halted,
    }
    _publish(summary, dry_run)
    return summary


def _deposit_group(
    engine: Engine,
    settings: Settings,
    clients: ChorusClients,
    group: AccountGroup,
    filters: Filters,
    dry_run: bool,
) -> tuple[list[DepositOutcome], BaseException | None]:
    """What one account deposited, and the refusal that stopped it, if any: the invoices it did
    not reach are `ready` again (failures.py), for the next run once the access is fixed."""
    outcomes: list[DepositOutcome] = []
    try:
        api = clients.for_account(load_accounts(settings).account(group.sirets[0]))
        depositor = make_depositor(
            engine,
            api,
            settings,
            dry_run=dry_run,
            accounting_email=load_accounts(settings).accounting_email(group.sirets[0]),
        )
        try:
            if not dry_run:
                # Interrupted deposits first: one found absent is `ready` again, and goes below.
                stuck = select_submitting(engine, filters)
                if stuck:
                    before = set(select_ready(engine, filters))
                    outcomes += resolve_submitting(depositor, stuck, settings.deposit_concurrency)
                    again = set(select_ready(engine, filters)) - before
                    progress.advance("deposit", len(stuck) - len(again))
            ready = select_ready(engine, filters)
            size = settings.deposit_batch_size
            in_flight: deque[PrefectFuture[list[DepositOutcome]]] = deque()
            try:
                for start in range(0, len(ready), size):
                    # Two batches overlap so that no thread idles while a batch's last invoices
                    # finish; the depositor's slots keep the calls to `concurrency` at once.
                    in_flight.append(
                        deposit_batch.submit(
                            depositor, ready[start : start + size], settings.deposit_concurrency
                        )
                    )
                    if len(in_flight) == 2:
                        outcomes += in_flight.popleft().result()
                while in_flight:
                    outcomes += in_flight.popleft().result()
            finally:
                for future in in_flight:
                    future.wait()
            if not dry_run:
                outcomes = _follow_sent_fluxes(depositor, outcomes, settings.deposit_concurrency)
                record_deposit_waits(engine, outcomes, settings)
        finally:
            depositor.close()
    except ACCESS_REFUSALS as exc:
        return outcomes, exc
    return outcomes, None


#: The per-structure deployment of this flow (deployments/prefect.yaml).
PER_STRUCTURE_DEPLOYMENT = "deposit/deposit-structure"


def deposit_fanned_out(engine: Engine, settings: Settings) -> dict[str, Any]:
    """One `deposit-structure` run per structure on the workers; their counts, added up."""
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


def _follow_sent_fluxes(
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


def _count(outcomes: list[DepositOutcome]) -> dict[str, int]:
    counts = Counter(o.result.value for o in outcomes)
    counts["retried"] = sum(o.retries for o in outcomes)
    return {k: int(v) for k, v in counts.items()}


def _publish(summary: dict[str, Any], dry_run: bool) -> None:
    counts = summary["counts"]
    assert isinstance(counts, dict)
    create_markdown_artifact(
        key="deposit-summary",
        markdown="\n".join(
            [
                "# Deposit run" + (" (dry run: nothing sent)" if dry_run else ""),
                "",
                *(f"- **{name}**: {value}" for name, value in sorted(counts.items())),
                *(
                    f"- **halted**: {', '.join(h['sirets'])} ({h['login']}): {h['error']}"
                    for h in summary["halted"]
                ),
            ]
        ),
        description="Counts of the last deposit run",
    )
    invoices = summary["invoices"]
    assert isinstance(invoices, list)
    rows = [
        {k: str(v or "") for k, v in i.items() if k != "payload"}
        for i in invoices
        if i["result"] != DepositResult.DEPOSITED.value
    ]
    if rows:
        create_table_artifact(key="deposit-exceptions", table=rows, description="Not deposited")
