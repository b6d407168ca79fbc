"""`config_check` flow: logs the effective configuration and tries to get a PISTE token."""

from __future__ import annotations

from prefect import flow

from chorus_etl.config import get_settings
from chorus_etl.log import configure_logging, get_logger
from tasks.setup import check_token

log = get_logger(__name__)


@flow(name="config-check", log_prints=False)
def config_check() -> bool:
    settings = get_settings()
    configure_logging(settings)
    log.info("settings.effective", settings=settings.model_dump(mode="json"))
    return check_token(settings)
