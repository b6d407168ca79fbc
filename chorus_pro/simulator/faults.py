"""Deciding, per request, whether to misbehave: seeded, counted, and safe across threads.

One uniform draw per eligible request picks at most one fault, so the configured rates are the
actual shares. The random generator is re-seeded whenever the fault configuration changes, so a
given seed and configuration replay the same sequence of faults for the same sequence of
requests. The draw happens under the store's lock: the simulator keeps a single lock so that no
request ever sees a half-applied change.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from chorus_pro.simulator.config import FaultConfig

__all__ = ["FaultDecision", "FaultInjector", "FaultKind"]


class FaultKind(StrEnum):
    NONE = "none"
    TOO_MANY_REQUESTS = "429"
    INTERNAL_ERROR = "500"
    BAD_GATEWAY = "502"
    UNAVAILABLE = "503"
    SLOW = "slow"
    TOKEN_EXPIRY = "token_expiry"  # noqa: S105 - a fault name
    COMMIT_THEN_FAIL = "commit_then_fail"


@dataclass(frozen=True)
class FaultDecision:
    kind: FaultKind
    retry_after_seconds: int = 0
    slow_seconds: float = 0.0
    commit_then_fail_mode: str = "drop"


_NO_FAULT = FaultDecision(FaultKind.NONE)


class FaultInjector:
    def __init__(self, config: FaultConfig, seed: int, lock: threading.RLock) -> None:
        self._lock = lock
        self.configure(config, seed)

    def configure(self, config: FaultConfig, seed: int) -> None:
        with self._lock:
            self.config = config
            self._rng = random.Random(f"chorus-sim-faults:{seed}")  # noqa: S311 - replayable on purpose
            self.injected: Counter[str] = Counter()

    def draw(self, path: str, *, write: bool, token_route: bool = False) -> FaultDecision:
        """The fault for this request; commit-then-fail only on writes, token expiry only on API calls."""
        with self._lock:
            config = self.config
            if not config.applies_to(path):
                return _NO_FAULT
            if config.max_faults is not None and sum(self.injected.values()) >= config.max_faults:
                return _NO_FAULT
            candidates = [
                (config.rate_429, FaultKind.TOO_MANY_REQUESTS),
                (config.rate_500, FaultKind.INTERNAL_ERROR),
                (config.rate_502, FaultKind.BAD_GATEWAY),
                (config.rate_503, FaultKind.UNAVAILABLE),
                (config.rate_slow, FaultKind.SLOW),
                (0.0 if token_route else config.rate_token_expiry, FaultKind.TOKEN_EXPIRY),
                (config.rate_commit_then_fail if write else 0.0, FaultKind.COMMIT_THEN_FAIL),
            ]
            if not any(rate > 0 for rate, _ in candidates):
                return _NO_FAULT
            roll = self._rng.random()
            cumulative = 0.0
            for rate, kind in candidates:
                cumulative += rate
                if rate > 0 and roll < cumulative:
                    self.injected[kind.value] += 1
                    return FaultDecision(
                        kind,
                        retry_after_seconds=config.retry_after_seconds,
                        slow_seconds=config.slow_seconds,
                        commit_then_fail_mode=config.commit_then_fail_mode,
                    )
            return _NO_FAULT

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"config": self.config.model_dump(), "injected": dict(self.injected)}
