"""The PISTE OAuth2 access token: fetched once, shared by every thread, renewed before it expires.

A token lives 3600 s. Renewing it a minute early avoids sending one that expires in flight, and a
401 drops it so the next call fetches a fresh one. Both happen under one lock: when eight deposit
threads find the token stale at the same moment, one of them fetches and the others reuse its
result, so an expiry costs exactly one token request (PISTE counts them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["AccessToken", "TokenCache"]


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and when, on the cache's clock, it stops being valid."""

    value: str = field(repr=False)
    expires_at: float

    def __repr__(self) -> str:
        return f"AccessToken(value='***', expires_at={self.expires_at!r})"


class TokenCache:
    """Thread-safe cache around a `fetch` callable returning `(access_token, expires_in_seconds)`.

    `clock` is monotonic seconds (injectable so tests can move time); wall-clock jumps must not
    make a token look fresh or stale.
    """

    def __init__(
        self,
        fetch: Callable[[], tuple[str, float]],
        *,
        margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._margin = margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        self._refresh_at = 0.0
        self.fetch_count = 0

    def __repr__(self) -> str:
        return f"<TokenCache fetch_count={self.fetch_count}>"

    def get(self) -> AccessToken:
        """The cached token, or a new one when there is none or it is within `margin` of expiry."""
        with self._lock:
            token = self._token
            if token is not None and self._clock() < self._refresh_at:
                return token
            value, expires_in = self._fetch()
            self.fetch_count += 1
            now = self._clock()
            # A token shorter-lived than twice the margin would otherwise be renewed on every call.
            margin = min(self._margin, expires_in / 2)
            token = AccessToken(value=value, expires_at=now + expires_in)
            self._token = token
            self._refresh_at = now + expires_in - margin
            return token

    def peek(self) -> AccessToken | None:
        """The cached token without fetching one, for masking it in error messages."""
        return self._token

    def invalidate(self, token: AccessToken) -> None:
        """Forgets `token` after the server refused it, unless another thread already replaced it.

        Comparing with the refused token (rather than clearing blindly) is what keeps concurrent
        401s on the same expired token down to a single refresh.
        """
        with self._lock:
            if self._token is token:
                self._token = None
