"""Connectivity checks: can this configuration obtain a PISTE token at all?

Used by the `config_check` flow so that a wrong URL or secret shows up as one clear log event
before any invoice is touched.
"""

from __future__ import annotations

import httpx
from prefect import task
from prefect.cache_policies import NO_CACHE

from chorus_etl.log import get_logger
from chorus_etl.settings import Settings

log = get_logger(__name__)


def request_token(settings: Settings, *, timeout: float | None = None) -> bool:
    """Asks the OAuth endpoint for a token; logs the refusal (redacted) and returns False on error."""
    client_id, client_secret, _login, _password = settings.credentials()
    try:
        response = httpx.post(
            settings.oauth_url,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret.get_secret_value(),
                "scope": "openid",
            },
            timeout=timeout or settings.http_timeout_seconds,
        )
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        log.error(
            "oauth.token_refused",
            url=settings.oauth_url,
            status=exc.response.status_code,
            body=exc.response.text[:500],
        )
        return False
    except httpx.TransportError as exc:
        log.error("oauth.unreachable", url=settings.oauth_url, error=str(exc))
        return False
    log.info("oauth.token_ok", url=settings.oauth_url)
    return True


@task(name="check-token", cache_policy=NO_CACHE)
def check_token(settings: Settings) -> bool:
    return request_token(settings)
