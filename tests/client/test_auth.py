"""Token cache timing and concurrency, with an injected clock (no waiting)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chorus_pro.auth import AccessToken, TokenCache
from tests.client.conftest import Clock


class Issuer:
    def __init__(self, lifetime: float = 3600.0) -> None:
        self.lifetime = lifetime
        self.issued = 0
        self.lock = threading.Lock()

    def __call__(self) -> tuple[str, float]:
        with self.lock:
            self.issued += 1
            return f"token-{self.issued}", self.lifetime


def test_token_is_reused_until_sixty_seconds_before_expiry() -> None:
    clock, issuer = Clock(), Issuer()
    cache = TokenCache(issuer, margin=60.0, clock=clock)
    first = cache.get()
    assert first.value == "token-1"
    assert first.expires_at == clock.now + 3600
    clock.now += 3539.9
    assert cache.get() is first
    clock.now += 0.1
    assert cache.get().value == "token-2"
    assert cache.fetch_count == 2


def test_short_lived_tokens_are_not_refreshed_on_every_call() -> None:
    clock, issuer = Clock(), Issuer(lifetime=30.0)
    cache = TokenCache(issuer, margin=60.0, clock=clock)
    token = cache.get()
    clock.now += 14.9
    assert cache.get() is token
    clock.now += 0.1
    assert cache.get() is not token


def test_invalidate_forces_one_new_token() -> None:
    cache = TokenCache(Issuer(), clock=Clock())
    refused = cache.get()
    cache.invalidate(refused)
    fresh = cache.get()
    assert fresh.value == "token-2"
    assert cache.get() is fresh


def test_a_stale_invalidate_does_not_drop_the_replacement() -> None:
    cache = TokenCache(Issuer(), clock=Clock())
    refused = cache.get()
    cache.invalidate(refused)
    fresh = cache.get()
    # A second thread that was refused with the same old token reports it late.
    cache.invalidate(refused)
    assert cache.get() is fresh
    assert cache.fetch_count == 2


def test_concurrent_first_use_fetches_once() -> None:
    issuer = Issuer()
    cache = TokenCache(issuer, clock=Clock())
    barrier = threading.Barrier(8)

    def use() -> str:
        barrier.wait()
        return cache.get().value

    with ThreadPoolExecutor(8) as pool:
        values = list(pool.map(lambda _: use(), range(8)))
    assert values == ["token-1"] * 8
    assert issuer.issued == 1


def test_concurrent_refusals_of_the_same_token_cost_one_refresh() -> None:
    issuer = Issuer()
    cache = TokenCache(issuer, clock=Clock())
    expired = cache.get()
    barrier = threading.Barrier(8)

    def refused() -> str:
        barrier.wait()
        cache.invalidate(expired)
        return cache.get().value

    with ThreadPoolExecutor(8) as pool:
        values = set(pool.map(lambda _: refused(), range(8)))
    # Depending on interleaving a thread may invalidate after the refresh; it is a no-op then.
    assert values == {"token-2"}
    assert issuer.issued == 2


def test_fetch_failures_propagate_and_leave_nothing_cached() -> None:
    calls = 0

    def failing() -> tuple[str, float]:
        nonlocal calls
        calls += 1
        raise RuntimeError("oauth down")

    cache = TokenCache(failing, clock=Clock())
    with pytest.raises(RuntimeError):
        cache.get()
    assert cache.peek() is None
    assert cache.fetch_count == 0


def test_token_repr_hides_the_value() -> None:
    token = AccessToken(value="eyJsecret", expires_at=1.0)
    assert "eyJsecret" not in repr(token)
    assert "eyJsecret" not in str(token)
