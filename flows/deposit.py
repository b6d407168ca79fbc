"""`deposit` flow: every `ready` invoice (or a filtered set) onto Chorus Pro, exactly once."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from chorus_etl import progress
from chorus_etl.accounts import load_accounts
from chorus_etl.chorus_client import ChorusClients
from chorus_etl.log import get_logger
from chorus_etl.runs import recorded_run
from flows._environment import flow_environment
from tasks.alerts import halt_group
from tasks.deposit import (
    DepositOutcome,
    DepositResult,
    Filters,
    count_outcomes,
    deposit_group,
    to_do,
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
        work = [
            (
                group,
                Filters(
                    list(group.sirets),
                    entrepreneur_codes or [],
                    invoice_numbers or [],
                    date_from,
                    date_to,
                ),
            )
            for group in accounts.groups(supplier_sirets or None)
        ]
        total = sum(to_do(engine, filters, dry_run=dry_run) for _group, filters in work)
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
                done = deposit_group(engine, settings, clients, group, filters, dry_run=dry_run)
                outcomes += done.outcomes
                if done.refusal is not None:
                    halted.append(halt_group(engine, accounts, group, "dépôt", done.refusal))
            counts.update(
                count_outcomes(outcomes), halted_structures=sum(len(h["sirets"]) for h in halted)
            )
    summary: dict[str, Any] = {
        "counts": count_outcomes(outcomes),
        "invoices": [o.as_dict() for o in outcomes],
        "halted": halted,
    }
    _publish(summary, dry_run)
    return summary


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
