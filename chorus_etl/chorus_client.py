"""The one place where the pipeline's settings become the Chorus Pro client's own configuration.

`chorus_pro` knows nothing of the pipeline (it could be published on its own), so it takes a plain
`ChorusProConfig`; every flow, task and command that talks to Chorus Pro builds it here, from the
environment the settings select, with the simulator's credentials as defaults.
"""

from __future__ import annotations

from typing import Any

from chorus_etl.settings import Settings
from chorus_pro.client import ChorusProClient
from chorus_pro.config import ChorusProConfig

__all__ = ["chorus_pro_client", "chorus_pro_config"]


def chorus_pro_config(settings: Settings) -> ChorusProConfig:
    """Endpoints, credentials, timeouts and retry policy of the selected environment."""
    client_id, client_secret, login, password = settings.credentials()
    return ChorusProConfig(
        api_url=settings.api_url,
        oauth_url=settings.oauth_url,
        client_id=client_id,
        client_secret=client_secret,
        login=login,
        password=password,
        timeout=settings.http_timeout_seconds,
        connect_timeout=min(10.0, settings.http_timeout_seconds),
        max_retries=settings.http_max_retries,
        backoff_base=settings.http_backoff_base_seconds,
        backoff_max=settings.http_backoff_max_seconds,
    )


def chorus_pro_client(settings: Settings, **kwargs: Any) -> ChorusProClient:
    """A client for the environment the settings select (simulator, sandbox, production)."""
    return ChorusProClient(chorus_pro_config(settings), **kwargs)
