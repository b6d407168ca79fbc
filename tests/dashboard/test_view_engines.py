"""Every view returns the same rows, with the same Python types, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from chorus_etl import db
from schemas.views import VIEWS
from tasks.report.setting_views import sync_setting_views
from tests.dashboard import dataset
from tests.dashboard.helpers import rows

#: The State buyer counted as a hospital: exercises the override view on both engines.
OVERRIDES = {dataset.DRAC[0]: "hospital"}


@pytest.fixture
def both(sqlite_url: str, postgres_url: str) -> Iterator[tuple[Engine, Engine]]:
    engines = []
    for url in (sqlite_url, postgres_url):
        db.upgrade(url)
        engine = db.make_engine(url)
        dataset.load(engine)
        sync_setting_views(engine, ecb_rate_percent=3.15, buyer_kinds=OVERRIDES)
        engines.append(engine)
    yield engines[0], engines[1]
    for engine in engines:
        engine.dispose()


def test_every_view_gives_the_same_rows_on_both_engines(both: tuple[Engine, Engine]) -> None:
    sqlite, postgres = both
    for view in VIEWS:
        on_sqlite, on_postgres = rows(sqlite, view), rows(postgres, view)
        assert on_sqlite, f"{view.name} is empty: the dataset should exercise it"
        assert on_sqlite == on_postgres, view.name
        types_sqlite = [[type(v) for v in row] for row in on_sqlite]
        types_postgres = [[type(v) for v in row] for row in on_postgres]
        assert types_sqlite == types_postgres, view.name


def test_declared_columns_are_the_real_ones_in_order(any_warehouse: Engine) -> None:
    """The declared columns are what the report reads and docs/warehouse.md documents."""
    with any_warehouse.connect() as connection:
        for view in VIEWS:
            result = connection.execute(sa.text(f"SELECT * FROM {view.name}"))
            assert list(result.keys()) == view.column_names, view.name


def _migrate(url: str, step: Callable[[Config, str], None], revision: str) -> None:
    """Alembic itself: `db.upgrade` skips databases it already brought to head in this process."""
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            config = db.alembic_config(url)
            config.attributes["connection"] = connection
            step(config, revision)
    finally:
        engine.dispose()


def test_downgrade_drops_the_views_and_upgrade_restores_them(any_db_url: str) -> None:
    db.upgrade(any_db_url)
    engine = db.make_engine(any_db_url)
    try:
        _migrate(any_db_url, command.downgrade, "0001")
        assert sa.inspect(engine).get_view_names() == []
        _migrate(any_db_url, command.upgrade, "head")
        assert set(sa.inspect(engine).get_view_names()) == {view.name for view in VIEWS}
    finally:
        engine.dispose()
