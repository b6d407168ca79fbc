"""Backoff arithmetic and `Retry-After` parsing: pure functions, no HTTP."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from chorus_pro.retry import RetryPolicy, parse_retry_after

NOW = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC)


def test_ceiling_doubles_from_base_up_to_cap() -> None:
    policy = RetryPolicy(max_retries=10, base=0.5, cap=4.0)
    assert [policy.ceiling(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_ceiling_stays_finite_for_huge_attempt_numbers() -> None:
    policy = RetryPolicy(max_retries=10_000, base=1.0, cap=30.0)
    assert policy.ceiling(5000) == 30.0


def test_ceiling_rejects_attempt_zero() -> None:
    with pytest.raises(ValueError, match="from 1"):
        RetryPolicy().ceiling(0)


def test_full_jitter_draws_between_zero_and_the_ceiling() -> None:
    policy = RetryPolicy(max_retries=10, base=1.0, cap=8.0, rng=random.Random(1))
    for attempt in range(1, 8):
        draws = [policy.backoff(attempt) for _ in range(200)]
        assert all(0.0 <= d <= policy.ceiling(attempt) for d in draws)
        # Full jitter, not "equal jitter": small waits must be possible.
        assert min(draws) < policy.ceiling(attempt) / 4


def test_wait_matches_the_seeded_draw() -> None:
    policy = RetryPolicy(max_retries=3, base=2.0, cap=60.0, rng=random.Random(7))
    expected = random.Random(7).uniform(0.0, 4.0)
    assert policy.wait(2) == pytest.approx(expected)


def test_wait_gives_up_after_max_retries() -> None:
    policy = RetryPolicy(max_retries=2, base=0.1, cap=1.0)
    assert policy.wait(2) is not None
    assert policy.wait(3) is None


def test_zero_retries_means_no_retry() -> None:
    assert RetryPolicy(max_retries=0).wait(1) is None


def test_retry_after_is_a_floor_for_the_wait() -> None:
    policy = RetryPolicy(max_retries=5, base=0.01, cap=0.02, rng=random.Random(3))
    assert policy.wait(1, retry_after=7.0) == 7.0


def test_jitter_above_retry_after_is_kept() -> None:
    policy = RetryPolicy(max_retries=5, base=100.0, cap=100.0, rng=random.Random(3))
    expected = random.Random(3).uniform(0.0, 100.0)
    assert policy.wait(1, retry_after=0.5) == pytest.approx(max(expected, 0.5))


def test_retry_after_beyond_the_cap_gives_up_instead_of_retrying_early() -> None:
    policy = RetryPolicy(max_retries=5, retry_after_max=60.0)
    assert policy.wait(1, retry_after=61.0) is None
    assert policy.wait(1, retry_after=60.0) == 60.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-4", 0.0),
        ("Wed, 21 Oct 2026 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2026 07:30:00 GMT", 120.0),
        ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),
        ("Wednesday, 21-Oct-26 07:28:10 GMT", 10.0),
        ("Wed Oct 21 07:28:05 2026", 5.0),
    ],
)
def test_parse_retry_after_accepts_seconds_and_http_dates(header: str, expected: float) -> None:
    assert parse_retry_after(header, now=NOW) == pytest.approx(expected)


@pytest.mark.parametrize("header", [None, "", "   ", "soon", "nan", "inf", "Wed, 99 Foo 2026"])
def test_parse_retry_after_ignores_garbage(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None


def test_parse_retry_after_http_date_defaults_to_the_current_time() -> None:
    assert parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT") == 0.0
