"""The deposit side of the bounded waits: what a run left for a later one, counted.

A deposit that met only transient errors stays `ready` (or `submitting`, when the search that
would settle it failed), and a Factur-X whose flux report is not final stays `submitting`: both
are retried by the next run, rightly. But a wait nobody hears of can last for ever, so every run
reports what it left waiting and what settled (`tasks.alerts.stalls`), and accounting gets one
alert once a wait outlasts its bound.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine

from chorus_etl.cooperatives import cooperative_of
from chorus_etl.settings import Settings
from tasks.alerts import stalls
from tasks.deposit.outcomes import DepositOutcome, DepositResult

#: Deposits that ended this run one way or the other: their waits, if any, are over.
SETTLED = frozenset(
    {
        DepositResult.DEPOSITED,
        DepositResult.FOUND_EXISTING,
        DepositResult.REFUSED,
        DepositResult.CONFLICT,
    }
)


def _subject(outcome: DepositOutcome) -> str:
    return f"{outcome.supplier_siret}:{outcome.invoice_number}"


def record_deposit_waits(
    engine: Engine,
    outcomes: Sequence[DepositOutcome],
    settings: Settings,
) -> None:
    """Deposits retried later (`deposit` waits) and fluxes awaiting their report (`flux` waits),
    each one run more; the settled ones end theirs."""
    settled = [_subject(o) for o in outcomes if o.result in SETTLED]
    for kind, result in (
        (stalls.DEPOSIT, DepositResult.RETRY_LATER),
        (stalls.FLUX, DepositResult.AWAITING),
    ):
        waiting = [
            stalls.Wait(
                subject=_subject(o),
                cooperative=cooperative_of(o.supplier_siret, settings),
                label=stalls.invoice_label(o.supplier_siret, o.invoice_number),
                error=o.detail,
            )
            for o in outcomes
            if o.result is result
        ]
        stalls.record_waits(
            engine,
            kind,
            waiting,
            settled=settled,
            bounds=stalls.WaitBounds.from_settings(settings),
            settings=settings,
        )
