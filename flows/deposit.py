"""`deposit` flow: every `ready` invoice (or a filtered set) onto Chorus Pro, exactly once."""

from __future__ import annotations

from collections import Counter, deque
from datetime import date
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.futures import PrefectFuture

from chorus_etl import progress
from chorus_etl.chorus_client import chorus_pro_client
from chorus_etl.log import get_logger
from chorus_etl.runs import flow_environment, recorded_run
from tasks.deposit import (
    Depositor,
    DepositOutcome,
    DepositResult,
    Filters,
    deposit_batch,
    make_depositor,
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
    """Resolves interrupted deposits first, then deposits `ready` invoices in batches."""
    with flow_environment() as (settings, engine):
        filters = Filters(
            supplier_sirets=supplier_sirets or [],
            entrepreneur_codes=entrepreneur_codes or [],
            invoice_numbers=invoice_numbers or [],
            date_from=date_from,
            date_to=date_to,
        )
        outcomes: list[DepositOutcome] = []
        with (
            recorded_run(engine, "deposit") as counts,
            chorus_pro_client(settings) as api,
        ):
            depositor = make_depositor(engine, api, settings, dry_run=dry_run)
            if not dry_run:
                stuck = select_submitting(engine, filters)
                if stuck:
                    outcomes += resolve_submitting(depositor, stuck, settings.deposit_concurrency)
            ready = select_ready(engine, filters)
            log.info("deposit.start", ready=len(ready), dry_run=dry_run)
            progress.start("deposit", len(ready))
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
            counts.update(_count(outcomes))
    summary: dict[str, Any] = {
        "counts": _count(outcomes),
        "invoices": [o.as_dict() for o in outcomes],
    }
    _publish(summary, dry_run)
    return summary


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
