"""What the dashboard shows, read from the warehouse views and nothing else.

The report computes no business rule of its own from the tables: stages, legal delays, overdue
flags, interest and the per-entrepreneur and per-structure figures come from the views, so a
number on a page is the number a SQL client gets. Python only groups, counts and sums view rows
where no view does (per buyer, per month, the cooperative-wide median) for the pages and charts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from schemas.views import (
    ENTREPRENEUR_SUMMARY,
    INVOICE_LIFECYCLE,
    LATE_INTEREST_MARGIN_BP,
    LEGAL_SETTING,
    PIPELINE_RUN,
    REJECTION,
    STRUCTURE_SUMMARY,
    VIEWS,
    View,
    over,
)

Row = dict[str, Any]
#: An entrepreneur is a code within a supplier structure (`entrepreneur` is unique on both).
EntrepreneurKey = tuple[str, str]


class ReportError(RuntimeError):
    """The warehouse cannot be reported on as it is (e.g. not migrated); the message says why."""


@dataclass
class ReportData:
    as_of: date
    late_interest_rate_bp: int
    invoices: list[Row]
    entrepreneurs: list[Row]
    structures: list[Row]
    rejections: list[Row]
    runs: list[Row]
    invoices_by_entrepreneur: dict[EntrepreneurKey, list[Row]] = field(default_factory=dict)
    rejections_by_entrepreneur: dict[EntrepreneurKey, list[Row]] = field(default_factory=dict)


def entrepreneur_key(row: Row) -> EntrepreneurKey | None:
    code = row.get("entrepreneur_code")
    return (str(row["supplier_siret"]), str(code)) if code is not None else None


#: The lifecycle snapshot the report reads instead of evaluating the view three times, always
#: named with its temporary schema so that no statement here can touch a real table.
SNAPSHOT = {
    "sqlite": "temp.report_lifecycle_snapshot",
    "postgresql": "pg_temp.report_lifecycle_snapshot",
}


def _iso_date(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _iso_minute(value: Any) -> Any:
    """`YYYY-MM-DDTHH:MM` in UTC: SQLite hands back its stored UTC text, PostgreSQL a datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    return f"{value[:10]}T{value[11:16]}" if isinstance(value, str) else value


_PLAIN = {"date": _iso_date, "timestamp": _iso_minute}


def _read(connection: Connection, view: View, sql: str | None = None) -> list[Row]:
    """All rows of `view` (or of `sql`, returning the view's columns) as JSON-ready values, in
    the order of the first two columns (a key in every view the report reads), so that two runs
    on the same data write the same pages.

    Dates become ISO text and timestamps UTC minutes, the form the pages' tables sort and print;
    read untyped, SQLite's stored text needs no parsing, which matters at 100,000 rows.
    """
    source = f"({sql}) AS source" if sql else view.name
    result = connection.execute(sa.text(f"SELECT * FROM {source} ORDER BY 1, 2"))  # noqa: S608
    names = view.column_names
    rows = [dict(zip(names, row, strict=True)) for row in result]
    for column in view.columns:
        plain = _PLAIN.get(column.kind)
        sample = next((r[column.name] for r in rows if r[column.name] is not None), None)
        if plain is None or (column.kind == "date" and isinstance(sample, str)):
            continue  # nothing to convert: SQLite already returns ISO dates
        for row in rows:
            row[column.name] = plain(row[column.name])
    return rows


def check_views(engine: Engine) -> None:
    present = set(sa.inspect(engine).get_view_names())
    missing = [view.name for view in VIEWS if view.name not in present]
    if missing:
        raise ReportError(
            f"the warehouse has no dashboard views ({', '.join(missing)}): "
            "run `chorus-etl db upgrade` first"
        )


def load_report_data(engine: Engine) -> ReportData:
    """Every row the pages need, from one evaluation of the lifecycle view.

    The lifecycle is copied into a temporary table and the summary views' own SQL runs over that
    copy (`schemas.views.over`): the same figures as the views, one costly evaluation instead of
    three. On PostgreSQL the whole read is one REPEATABLE READ snapshot, so a reconciliation
    running meanwhile cannot make the lifecycle and the rejections disagree.
    """
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as connection, connection.begin():
        dialect = connection.dialect.name
        snapshot = SNAPSHOT[dialect]
        if dialect == "sqlite":
            # The views' materialised steps and sorts, and the snapshot, stay in memory rather
            # than in temporary files: a sixth off the report's time at 100,000 invoices.
            connection.execute(sa.text("PRAGMA temp_store = MEMORY"))
        # Both statements name only our temporary table: nothing outside this module goes in.
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {snapshot}"))
        connection.execute(
            sa.text(f"CREATE TABLE {snapshot} AS SELECT * FROM {INVOICE_LIFECYCLE.name}")  # noqa: S608
        )
        try:
            invoices = _read(connection, INVOICE_LIFECYCLE, f"SELECT * FROM {snapshot}")  # noqa: S608
            summaries = {
                view.name: _read(connection, view, over(view, dialect, snapshot))
                for view in (ENTREPRENEUR_SUMMARY, STRUCTURE_SUMMARY)
            }
        finally:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {snapshot}"))
        rate = connection.execute(sa.select(LEGAL_SETTING.table())).scalar_one()
        data = ReportData(
            as_of=_as_of(invoices),
            late_interest_rate_bp=int(rate) + LATE_INTEREST_MARGIN_BP,
            invoices=invoices,
            entrepreneurs=summaries[ENTREPRENEUR_SUMMARY.name],
            structures=summaries[STRUCTURE_SUMMARY.name],
            rejections=_read(connection, REJECTION),
            runs=_read(connection, PIPELINE_RUN),
        )
    data.invoices_by_entrepreneur = _group(invoices)
    data.rejections_by_entrepreneur = _group(data.rejections)
    return data


def _as_of(invoices: list[Row]) -> date:
    """The date the views judged lateness on (today in UTC by the database's clock)."""
    if invoices:
        return date.fromisoformat(str(invoices[0]["as_of_date"]))
    return datetime.now(UTC).date()


def _group(rows: list[Row]) -> dict[EntrepreneurKey, list[Row]]:
    grouped: dict[EntrepreneurKey, list[Row]] = defaultdict(list)
    for row in rows:
        key = entrepreneur_key(row)
        if key is not None:
            grouped[key].append(row)
    return dict(grouped)
