"""Reading views in a stable order, so that two engines' answers can be compared row for row."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from schemas.views import View


def _sort_key(row: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    """NULLs sort first on both engines here (they do not in SQL), values by their text."""
    return tuple((value is not None, repr(value)) for value in row)


def rows(engine: Engine, view: View) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        result = connection.execute(sa.select(view.table()))
        return sorted((tuple(row) for row in result), key=_sort_key)


def records(engine: Engine, view: View, **where: Any) -> list[dict[str, Any]]:
    """Rows as dicts, optionally filtered on equal column values."""
    names = view.column_names
    found = [dict(zip(names, row, strict=True)) for row in rows(engine, view)]
    return [r for r in found if all(r[k] == v for k, v in where.items())]


def one(engine: Engine, view: View, **where: Any) -> dict[str, Any]:
    found = records(engine, view, **where)
    assert len(found) == 1, f"{view.name} {where}: {len(found)} rows"
    return found[0]
