"""Per-application request rates on the real clock: the quota PISTE enforces, and what tests read.

Both use sliding windows over monotonic timestamps rather than integer-second buckets: a client
sending 2 requests at x.9 s and 2 more at (x+1).1 s sends 4 in 0.2 s, which a bucketed count
would report (and allow) as 2 per second. Callers pass `now` explicitly, under the store lock,
so timestamps arrive in order and the tests can drive both classes with made-up times.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

__all__ = ["ClientStats", "RateLimiter", "quota_window"]

#: Length of the window `max_per_second` is measured over.
STATS_WINDOW_SECONDS = 1.0


def quota_window(limit_per_second: float) -> tuple[int, float]:
    """(requests allowed, window in seconds) for a rate: 3/s → 3 per 1 s, 0.5/s → 1 per 2 s.

    Above one per second the fractional part is dropped (2.5/s allows 2 per second): a quota is
    a whole number of requests, and rounding down keeps the simulator at least as strict as the
    configured rate.
    """
    window = max(1.0, 1.0 / limit_per_second)
    return max(1, math.floor(limit_per_second * window + 1e-9)), window


class RateLimiter:
    """Admits at most N requests per client in any sliding window; refused ones do not count.

    Not counting refusals means a client that waits for Retry-After is admitted then, however
    often it was refused before, as with a real gateway's spike arrest.
    """

    def __init__(self) -> None:
        self._admitted: dict[str, deque[float]] = {}

    def admit(self, client_id: str, limit_per_second: float | None, now: float) -> int | None:
        """None if admitted (and recorded), else the whole seconds to wait (≥ 1, Retry-After)."""
        if limit_per_second is None:
            return None
        allowed, window = quota_window(limit_per_second)
        admitted = self._admitted.setdefault(client_id, deque())
        while admitted and admitted[0] <= now - window:
            admitted.popleft()
        if len(admitted) < allowed:
            admitted.append(now)
            return None
        return max(1, math.ceil(admitted[0] + window - now))


@dataclass
class ClientStats:
    """What one client id did since the last stats reset."""

    requests: int = 0
    token_requests: int = 0
    throttled: int = 0
    max_per_second: int = 0
    #: Timestamps of the requests of the last STATS_WINDOW_SECONDS, oldest first.
    _recent: deque[float] = field(default_factory=deque)

    def record(self, now: float, *, throttled: bool) -> None:
        """One API request started at `now`; the highest count in any window is kept.

        The busiest window always ends on a request, so checking the window that ends at each
        new request finds it exactly.
        """
        self.requests += 1
        if throttled:
            self.throttled += 1
        while self._recent and self._recent[0] <= now - STATS_WINDOW_SECONDS:
            self._recent.popleft()
        self._recent.append(now)
        self.max_per_second = max(self.max_per_second, len(self._recent))

    def as_json(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "token_requests": self.token_requests,
            "max_per_second": self.max_per_second,
            "throttled": self.throttled,
        }
