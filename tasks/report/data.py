"""What the dashboard shows, read from the warehouse views and nothing else.

The report computes no business rule of its own from the tables: stages, legal delays, overdue
flags, interest and the per-entrepreneur and per-structure figures come from the views, so a
number on a page is the number a SQL client gets. Python only groups, counts and sums view rows
where no view does (per buyer, per month, the cooperative-wide median) for the pages and charts.

Every row says its cooperative. The views are read once for the whole warehouse, then split
(`for_cooperative`): a cooperative's dashboard is built from its own rows only, so nothing of
another cooperative can reach it, and the costly lifecycle is still evaluated once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from statistics import median
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from chorus_etl.errors import NeedsAction
from schemas.rules import LATE_INTEREST_MARGIN_BP
from schemas.views import (
    ENTREPRENEUR_SUMMARY,
    INVOICE_LIFECYCLE,
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
#: A structure within a cooperative, as the structure summary groups them.
StructureKey = tuple[str, str]


class ReportError(NeedsAction, RuntimeError):
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


def _order(row: Sequence[Any]) -> tuple[tuple[bool, Any], ...]:
    """The first three columns, nulls first (the entrepreneur summary's row of invoices with no
    entrepreneur, runs over the whole installation)."""
    return tuple((value is not None, value) for value in row[:3])


#: Lifecycle columns no page shows: not read back, a sixth less of 100,000 rows to decode.
_UNSHOWN = (
    "as_of_date",
    "late_interest_rate_bp",
    "payment_inferred",
    "ever_rejected",
    "ever_returned",
)


def _read(
    connection: Connection, view: View, sql: str | None = None, skip: Sequence[str] = ()
) -> list[Row]:
    """The rows of `view` (or of `sql`, returning the view's columns) but the `skip` columns, as
    JSON-ready values, in the order of the first three columns (a key in every view the report
    reads), so that two runs on the same data write the same pages.

    Dates become ISO text and timestamps UTC minutes, the form the pages' tables sort and print;
    read untyped, SQLite's stored text needs no parsing, which matters at 100,000 rows.
    """
    columns = [c for c in view.columns if c.name not in skip]
    names = [c.name for c in columns]
    source = f"({sql}) AS source" if sql else view.name
    # fetchall: one call into the driver for all rows, not one fetch per row (a third faster).
    fetched = list(
        connection.execute(
            sa.text(f"SELECT {', '.join(names)} FROM {source}")  # noqa: S608
        ).fetchall()
    )
    fetched.sort(key=_order)  # sorted here: usually in order already, then nearly free
    rows = [dict(zip(names, row, strict=True)) for row in fetched]
    for column in columns:
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

    The lifecycle is copied into a temporary table and the entrepreneur summary's own SQL runs
    over that copy (`schemas.views.over`), and the structure rows are summed from the
    entrepreneur rows (`structure_rows`): the views' figures, one costly evaluation instead of
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
            copy = f"SELECT * FROM {snapshot}"  # noqa: S608 - our own table
            invoices = _read(connection, INVOICE_LIFECYCLE, copy, skip=_UNSHOWN)
            as_of = connection.execute(sa.text(f"{copy} LIMIT 1")).mappings().first()
            entrepreneurs = _read(
                connection, ENTREPRENEUR_SUMMARY, over(ENTREPRENEUR_SUMMARY, dialect, snapshot)
            )
        finally:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {snapshot}"))
        rate = connection.execute(sa.select(LEGAL_SETTING.table())).scalar_one()
        data = ReportData(
            as_of=_as_of(as_of["as_of_date"] if as_of else None),
            late_interest_rate_bp=int(rate) + LATE_INTEREST_MARGIN_BP,
            invoices=invoices,
            entrepreneurs=entrepreneurs,
            structures=structure_rows(entrepreneurs, invoices),
            rejections=_read(connection, REJECTION),
            runs=_read(connection, PIPELINE_RUN),
        )
    data.invoices_by_entrepreneur = _group(invoices)
    data.rejections_by_entrepreneur = _group(data.rejections)
    return data


def structure_rows(entrepreneurs: list[Row], invoices: list[Row]) -> list[Row]:
    """`v_structure_summary`'s rows without evaluating it: every figure is the sum of the
    structure's entrepreneur rows (each invoice is in exactly one), but the entrepreneur count
    and the median, taken over the structure's lifecycle rows as the view takes it. A test checks
    the result against the view on both engines. A structure is keyed with its cooperative, as
    in the view: one that moved between cooperatives has one row in each."""
    delays: dict[StructureKey, list[int]] = defaultdict(list)
    for invoice in invoices:
        if invoice["days_to_payment"] is not None:
            key = (invoice["cooperative"], invoice["supplier_siret"])
            delays[key].append(invoice["days_to_payment"])
    groups: dict[StructureKey, list[Row]] = defaultdict(list)
    for row in entrepreneurs:
        groups[(row["cooperative"], row["supplier_siret"])].append(row)
    summed = [n for n in STRUCTURE_SUMMARY.column_names[3:] if n != "median_days_to_payment"]
    found = []
    for (cooperative, siret), rows in sorted(groups.items()):
        found_row: Row = {
            "cooperative": cooperative,
            "supplier_siret": siret,
            "entrepreneur_count": sum(1 for r in rows if r["entrepreneur_code"] is not None),
        }
        for name in summed:
            found_row[name] = sum(int(r[name]) for r in rows)
        key = (cooperative, siret)
        found_row["median_days_to_payment"] = float(median(delays[key])) if delays[key] else None
        found.append(found_row)
    return found


def cooperatives_in(data: ReportData) -> set[str]:
    """The cooperatives the warehouse holds rows of (every summary row comes from an invoice)."""
    return {str(r["cooperative"]) for r in data.entrepreneurs} | {
        str(r["cooperative"]) for r in data.runs if r["cooperative"] is not None
    }


def for_cooperative(data: ReportData, cooperative: str, *, shared_runs: bool) -> ReportData:
    """One cooperative's part of the data, and nothing else. Runs over the whole installation
    (no cooperative) are added when `shared_runs`: with a single cooperative they are its own,
    with several their counts would speak of the others' invoices."""

    def mine(rows: list[Row]) -> list[Row]:
        return [r for r in rows if r["cooperative"] == cooperative]

    invoices, entrepreneurs = mine(data.invoices), mine(data.entrepreneurs)
    rejections = mine(data.rejections)
    # The usual case, one cooperative holding every row: the parts are the whole, in the same
    # order, so what was derived from the whole is theirs as it is (not derived a second time).
    whole = (len(invoices), len(entrepreneurs), len(rejections)) == (
        len(data.invoices),
        len(data.entrepreneurs),
        len(data.rejections),
    )
    part = replace(
        data,
        invoices=invoices,
        entrepreneurs=entrepreneurs,
        structures=data.structures if whole else structure_rows(entrepreneurs, invoices),
        rejections=rejections,
        runs=[
            r
            for r in data.runs
            if r["cooperative"] == cooperative or (shared_runs and r["cooperative"] is None)
        ],
    )
    part.invoices_by_entrepreneur = (
        data.invoices_by_entrepreneur if whole else _group(part.invoices)
    )
    part.rejections_by_entrepreneur = (
        data.rejections_by_entrepreneur if whole else _group(part.rejections)
    )
    return part


def shared_runs(data: ReportData) -> list[Row]:
    """The runs over the whole installation, for the page that lists the cooperatives."""
    return [r for r in data.runs if r["cooperative"] is None]


def _as_of(value: Any) -> date:
    """The date the views judged lateness on (today in UTC by the database's clock)."""
    if value is None:
        return datetime.now(UTC).date()
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _group(rows: list[Row]) -> dict[EntrepreneurKey, list[Row]]:
    grouped: dict[EntrepreneurKey, list[Row]] = defaultdict(list)
    for row in rows:
        key = entrepreneur_key(row)
        if key is not None:
            grouped[key].append(row)
    return dict(grouped)
