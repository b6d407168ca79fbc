"""Deposit: upload and submit each `ready` invoice on Chorus Pro exactly once, across crashes and
lost answers, within the configured concurrency and request rate."""

from tasks.deposit.depositor import (
    DepositHalted,
    Depositor,
    DepositOutcome,
    DepositResult,
    Filters,
    RateLimiter,
    select_ready,
    select_submitting,
)
from tasks.deposit.stages import deposit_batch, resolve_submitting

__all__ = [
    "DepositHalted",
    "DepositOutcome",
    "DepositResult",
    "Depositor",
    "Filters",
    "RateLimiter",
    "deposit_batch",
    "resolve_submitting",
    "select_ready",
    "select_submitting",
]
