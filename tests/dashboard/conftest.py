"""One migrated warehouse holding the fixed dataset per engine and module, for read-only tests.

Migrating and loading a PostgreSQL database takes a second or two; the figure tests only read, so
they share one per module instead of paying that per test. Tests that write use `any_warehouse`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from chorus_etl import db
from tests.dashboard import dataset
from tests.fixtures.database import POSTGRES_ADMIN_URL


@pytest.fixture(scope="module")
def loaded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('dashboard') / 'warehouse.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    dataset.load(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def loaded_postgres(postgres_server: Engine) -> Iterator[Engine]:
    name = f"chorus_etl_test_{uuid.uuid4().hex[:12]}"
    with postgres_server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    db.upgrade(url)
    engine = db.make_engine(url)
    dataset.load(engine)
    yield engine
    engine.dispose()
    with postgres_server.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def loaded(request: pytest.FixtureRequest) -> Engine:
    """The fixed dataset on each engine; do not write to it."""
    engine: Engine = request.getfixturevalue(f"loaded_{request.param}")
    return engine
