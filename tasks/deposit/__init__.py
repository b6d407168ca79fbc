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
from tasks.deposit.stages import deposit_batch, resolve_submitting
from tasks.deposit.waits import record_deposit_waits

__all__ = [
    "ACCESS_REFUSALS",
    "DepositHalted",
    "DepositOutcome",
    "DepositResult",
    "Depositor",
    "Filters",
    "RateLimiter",
    "deposit_batch",
    "make_depositor",
    "record_deposit_waits",
    "resolve_submitting",
    "select_awaiting_flux",
    "select_ready",
    "select_submitting",
]
