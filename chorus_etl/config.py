"""The process's settings, read once: for the flows, the CLI, the deployments and the
benchmarks only.

Below the flows nothing looks settings up for itself: a task receives the settings, the account
or the cooperative it works for (an import-linter contract keeps it so), so that what it works
with is what its caller decided, never a global that a test or another run changed meanwhile.
"""

from __future__ import annotations

from functools import lru_cache

from chorus_etl.settings import Settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Tests and the CLI change the environment; this makes the next call re-read it."""
    get_settings.cache_clear()
