"""Shared set-up for flow tests: point the pipeline at a warehouse and at the test simulator."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from chorus_etl import db
from chorus_etl.config import reset_settings_cache
from chorus_pro.simulator import SimulatorHandle

ModelT = TypeVar("ModelT", bound=SQLModel)


def rows_of(database_url: str, model: type[ModelT], *where: Any) -> list[ModelT]:
    """The rows of a warehouse table as models, read on a connection of their own."""
    engine = db.make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.select(model).where(*where)).all()
    finally:
        engine.dispose()
    return [model.model_validate(dict(r._mapping)) for r in rows]


def configure(
    monkeypatch: pytest.MonkeyPatch, database_url: str, simulator: SimulatorHandle
) -> None:
    """Settings for a flow run: this warehouse, this simulator, quick retries."""
    monkeypatch.setenv("CHORUS_ETL_DATABASE_URL", database_url)
    monkeypatch.setenv("CHORUS_ETL_CHORUS_API_URL", simulator.base_url)
    monkeypatch.setenv("CHORUS_ETL_CHORUS_OAUTH_URL", simulator.oauth_url)
    monkeypatch.setenv("CHORUS_ETL_HTTP_MAX_RETRIES", "2")
    monkeypatch.setenv("CHORUS_ETL_HTTP_BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv("CHORUS_ETL_HTTP_BACKOFF_MAX_SECONDS", "0.05")
    monkeypatch.setenv("CHORUS_ETL_HTTP_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("CHORUS_ETL_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("CHORUS_ETL_LOG_FORMAT", "json")
    monkeypatch.setenv("CHORUS_ETL_LOG_STREAM", "stdout")
    reset_settings_cache()


def dump(database_url: str, skip: frozenset[str] = frozenset({"pipeline_run"})) -> dict[str, Any]:
    """Every row of every warehouse table (but the run log), in a stable order."""
    engine = db.make_engine(database_url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        tables: dict[str, Any] = {}
        with engine.connect() as connection:
            for name, table in sorted(metadata.tables.items()):
                if name in skip or name == "alembic_version":
                    continue
                rows = connection.execute(sa.select(table)).mappings().all()
                tables[name] = sorted((dict(r) for r in rows), key=repr)
        return tables
    finally:
        engine.dispose()


def edit_csv(path: Path, key: str, value: str, **cells: str) -> None:
    """Sets cells, by their heading, on the rows whose `key` column is `value`, in a `;`-separated
    UTF-8 file of a sample export: what an accounting tool (or a hostile hand) would have put
    there."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    header = rows[0]
    matching = [row for row in rows[1:] if row[header.index(key)] == value]
    assert matching, f"no {key} {value} in {path}"
    for row in matching:
        for heading, text in cells.items():
            row[header.index(heading)] = text
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def edit_export(folder: Path, number: str, **cells: str) -> None:
    """Sets cells, by their French heading, on the rows of invoice `number` of a sample export
    written without errors."""
    edit_csv(folder / "invoices.csv", "numero_facture", number, **cells)
