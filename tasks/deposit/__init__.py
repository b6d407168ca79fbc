"""Deposit: upload and submit each `ready` invoice on Chorus Pro exactly once, across crashes and
lost answers, within the configured concurrency and request rate."""

from chorus_etl.pacing import RateLimiter
from tasks.deposit.depositor import (
    Depositor,
    Filters,
    select_awaiting_flux,
    select_ready,
    select_submitting,
)
from tasks.deposit.factory import make_depositor
from tasks.deposit.outcomes import ACCESS_REFUSALS, DepositHalted, DepositOutcome, DepositResult
from tasks.deposit.run import (
    GroupDeposit,
    count_outcomes,
    deposit_fanned_out,
    deposit_group,
    follow_sent_fluxes,
    to_do,
)
from tasks.deposit.stages import deposit_batch, resolve_submitting
from tasks.deposit.waits import record_deposit_waits

__all__ = [
    "ACCESS_REFUSALS",
    "DepositHalted",
    "DepositOutcome",
    "DepositResult",
    "Depositor",
    "Filters",
    "GroupDeposit",
    "RateLimiter",
    "count_outcomes",
    "deposit_batch",
    "deposit_fanned_out",
    "deposit_group",
    "follow_sent_fluxes",
    "make_depositor",
    "record_deposit_waits",
    "resolve_submitting",
    "select_awaiting_flux",
    "select_ready",
    "select_submitting",
    "to_do",
]
