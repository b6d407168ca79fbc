"""What every flow starts with: the process's settings, logging, the warehouse at its latest
revision. The one place below the roof that reads the process-wide settings
(`chorus_etl.config`); the stages receive what they need from here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine

from chorus_etl import db
from chorus_etl.accounts import load_accounts
from chorus_etl.config import get_settings
from chorus_etl.log import configure_logging
from chorus_etl.settings import Settings


@contextmanager
def flow_environment() -> Iterator[tuple[Settings, Engine]]:
    """What every flow starts with: settings, logging, the warehouse at the latest revision.

    A flow may be the first thing to run on a new installation (a schedule on a fresh server),
    so it upgrades the schema itself; the engine is disposed of however the flow ends.
    """
    settings = get_settings()
    load_accounts(settings)  # a wrong accounts file stops the run here, saying where and why
    configure_logging(settings)
    db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    try:
        yield settings, engine
    finally:
        engine.dispose()
