"""Connectivity: can this configuration obtain a PISTE token at all?

Used by the `config_check` flow so that a wrong URL or secret shows up as one clear log event
before any invoice is touched. The request is the doctor's (`tasks.setup.doctor.check_token`),
which tells an unreachable host, a wrong URL and refused credentials apart.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from chorus_etl.log import get_logger
from chorus_etl.settings import Settings
from tasks.setup.doctor import Status
from tasks.setup.doctor import check_token as doctor_token_check

log = get_logger(__name__)


def request_token(settings: Settings) -> bool:
    """Asks PISTE for a token with the first account's credentials; logs the outcome."""
    result = doctor_token_check(settings)
    if result.status is Status.OK:
        log.info("oauth.token_ok", url=settings.oauth_url)
        return True
    log.error("oauth.token_refused", url=settings.oauth_url, detail=result.detail)
    return False


@task(name="check-token", cache_policy=NO_CACHE)
def check_token(settings: Settings) -> bool:
    return request_token(settings)
