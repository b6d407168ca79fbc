"""What the dashboard shows, read from the warehouse views and nothing else.

The report computes no business figure of its own from the tables: overdue flags, interest, stages
and summaries come from the views, so a number on a page is the number a SQL client gets. Python
only groups rows (per entrepreneur, per buyer, per month) for the pages and charts.
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
    INVOICE_CURRENT,
    INVOICE_LIFECYCLE,
    LEGAL_SETTING,
    PIPELINE_RUN,
    REJECTION,
    STRUCTURE_SUMMARY,
    VIEWS,
    View,
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


def _read(connection: Connection, view: View, *columns: str) -> list[Row]:
    table = view.table()
    selected = [table.c[name] for name in columns] if columns else [table]
    result = connection.execute(sa.select(*selected))
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def check_views(engine: Engine) -> None:
    present = set(sa.inspect(engine).get_view_names())
    missing = [view.name for view in VIEWS if view.name not in present]
    if missing:
        raise ReportError(
            f"the warehouse has no dashboard views ({', '.join(missing)}): "
            "run `chorus-etl db upgrade` first"
        )


def load_report_data(engine: Engine) -> ReportData:
    """Every row the pages need, in one read-only transaction (one consistent snapshot on
    PostgreSQL, so a reconciliation running meanwhile cannot make two tables disagree)."""
    with engine.connect() as connection, connection.begin():
        invoices = _read(connection, INVOICE_LIFECYCLE)
        dates = {
            row["invoice_id"]: row
            for row in _read(
                connection, INVOICE_CURRENT, "invoice_id", "invoice_date", "current_status_date"
            )
        }
        rate = connection.execute(sa.select(LEGAL_SETTING.table())).scalar_one()
        data = ReportData(
            as_of=_as_of(invoices),
            late_interest_rate_bp=int(rate) + 800,
            invoices=invoices,
            entrepreneurs=_read(connection, ENTREPRENEUR_SUMMARY),
            structures=_read(connection, STRUCTURE_SUMMARY),
            rejections=_read(connection, REJECTION),
            runs=_read(connection, PIPELINE_RUN),
        )
    for invoice in invoices:
        extra = dates.get(invoice["invoice_id"], {})
        invoice["invoice_date"] = extra.get("invoice_date")
        invoice["current_status_date"] = extra.get("current_status_date")
    data.invoices_by_entrepreneur = _group(invoices)
    data.rejections_by_entrepreneur = _group(data.rejections)
    return data


def _as_of(invoices: list[Row]) -> date:
    """The date the views judged lateness on (today in UTC by the database's clock)."""
    if invoices and isinstance(invoices[0]["as_of_date"], date):
        return invoices[0]["as_of_date"]
    return datetime.now(UTC).date()


def _group(rows: list[Row]) -> dict[EntrepreneurKey, list[Row]]:
    grouped: dict[EntrepreneurKey, list[Row]] = defaultdict(list)
    for row in rows:
        key = entrepreneur_key(row)
        if key is not None:
            grouped[key].append(row)
    return dict(grouped)
