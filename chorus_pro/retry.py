"""How long to wait before trying a Chorus Pro call again.

Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"):
the wait is drawn uniformly between zero and the exponential ceiling, so the ~8 deposit threads
that hit the same outage do not come back in lockstep. A server's `Retry-After` is a floor, never
shortened by jitter; past `retry_after_max` the client gives up instead of parking a worker thread.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["RetryPolicy", "parse_retry_after"]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a `Retry-After` header (RFC 9110 §10.2.3), or None.

    Both forms are accepted: delta-seconds (`120`) and an HTTP-date
    (`Wed, 21 Oct 2026 07:28:00 GMT`), the latter relative to `now`. A date in the past means
    "now" (0). Garbage yields None, so that a malformed header falls back to plain backoff rather
    than failing the call.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


@dataclass
class RetryPolicy:
    """Backoff parameters plus the random source, injectable so tests can pin the jitter."""

    max_retries: int = 5
    base: float = 0.5
    cap: float = 30.0
    retry_after_max: float = 300.0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the wait before retry number `attempt` (1 for the first retry)."""
        if attempt < 1:
            raise ValueError("attempt counts retries from 1")
        # Bounding the exponent keeps the power finite however many retries are configured.
        exponent: int = min(attempt - 1, 64)
        return min(self.cap, self.base * float(2**exponent))

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, ceiling]."""
        return self.rng.uniform(0.0, self.ceiling(attempt))

    def wait(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to sleep before retry `attempt`, or None when the client should give up.

        Gives up when retries are exhausted, or when the server asks for a longer pause than
        `retry_after_max`: retrying sooner would ignore the server, waiting longer would block a
        worker thread, so the error goes to the caller with its `retry_after` instead.
        """
        if attempt > self.max_retries:
            return None
        jittered = self.backoff(attempt)
        if retry_after is None:
            return jittered
        if retry_after > self.retry_after_max:
            return None
        return max(jittered, retry_after)
