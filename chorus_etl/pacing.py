"""Request pacing: how the pipeline keeps under a PISTE application's rate limit.

PISTE publishes no quota, but an application that floods Chorus Pro gets 429s, and every process
that shares the application shares whatever the quota is. One process alone paces itself with a
token bucket; several (Prefect workers) take their turns from one Prefect global concurrency limit
per application, whose slots decay at the application's rate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["SAFETY", "PrefectRateLimit", "RateLimiter", "gcl_name", "gcl_shape"]

#: Share of the declared rate actually used: network jitter can bunch paced requests together.
SAFETY = 0.8


class RateLimiter:
    """A token bucket shared by threads: at most `rate` acquisitions per second, no burst."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self.next_slot = clock()
        self.lock = threading.Lock()

    def __call__(self) -> None:
        self.acquire()

    def acquire(self) -> None:
        with self.lock:
            now = self.clock()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        delay = slot - now
        if delay > 0:
            time.sleep(delay)


def gcl_name(app_id: str) -> str:
    """The Prefect global concurrency limit standing for one PISTE application's rate limit."""
    return f"piste-{app_id}"


def gcl_shape(rate_per_second: float) -> tuple[int, float]:
    """(limit, slot decay per second) of that limit: at most `rate` requests in any second.

    A decaying limit lets `limit` requests through at once, then `decay` per second; one second
    can see both, so they share the rate between them, with the `SAFETY` margin.
    """
    usable = max(rate_per_second * SAFETY, 0.5)
    limit = max(1, int(usable // 2))
    return limit, max(usable - limit, 0.1)


class PrefectRateLimit:
    """One slot of the application's global concurrency limit per request, across processes.

    The limit is created, or its shape updated, when the first client of the application starts
    in a process, from the accounts file: an application added there gets its limit on its first
    run, without touching the server. `strict=True` then makes a limit deleted behind the
    pipeline's back an error rather than a silent absence of throttling.
    """

    def __init__(self, app_id: str, rate_per_second: float) -> None:
        self.name = gcl_name(app_id)
        limit, decay = gcl_shape(rate_per_second)
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectAlreadyExists

        with get_client(sync_client=True) as client:
            try:
                client.upsert_global_concurrency_limit_by_name(self.name, limit, decay)
            except ObjectAlreadyExists:
                # Another worker's run created it between Prefect's read and its create (two
                # structures' runs starting at once on two workers): read it again, and give it
                # this shape if it has another.
                client.upsert_global_concurrency_limit_by_name(self.name, limit, decay)

    def __call__(self) -> None:
        from prefect.concurrency.sync import rate_limit

        rate_limit(self.name, occupy=1, strict=True)
