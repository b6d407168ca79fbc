"""A sortable, filterable table: its columns, its rows, and the compact JSON the page's script reads.

Rows travel as JSON arrays rendered by a small script (tasks/report/assets.py), one page of rows
at a time, because an entrepreneur can have thousands of invoices and a DOM row costs far more
than a JSON row. Repeated strings (buyer names, statuses) are sent once in a per-column pool and
referenced by index, which halves the weight of the big tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: Kinds the script knows how to display and sort.
KINDS = frozenset({"text", "int", "num", "eur", "date", "datetime", "days", "flag", "link"})


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = "text"

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind


@dataclass
class Table:
    id: str
    title: str
    columns: list[Column]
    #: JSON-ready values: dates as ISO text, amounts in cents (see tasks/report/data.py).
    rows: list[list[Any]]
    #: Index of the column offered as a drop-down filter.
    facet: int | None = None
    #: Initial order: column index and "asc" or "desc".
    sort: tuple[int, str] | None = None
    note: str = ""

    def column(self, label: str) -> int:
        """A column's index by its label, for `facet` and `sort`."""
        return [c.label for c in self.columns].index(label)

    def payload(self) -> str:
        """The table as JSON that is safe inside a `<script type="application/json">`."""
        columns = [list(values) for values in zip(*self.rows, strict=True)]
        pools: dict[str, list[Any]] = {}
        for index, values in enumerate(columns):
            if self.columns[index].kind != "text":
                continue
            distinct = list(dict.fromkeys(values))  # a null is pooled like any value
            if len(distinct) * 2 <= len(values):
                position = {value: i for i, value in enumerate(distinct)}
                columns[index] = [position[value] for value in values]
                pools[str(index)] = distinct
        rows = list(zip(*columns, strict=True)) if columns else []
        document = {
            "columns": [{"label": c.label, "kind": c.kind} for c in self.columns],
            "rows": rows,
            "pools": pools,
            "facet": self.facet,
            "sort": list(self.sort) if self.sort else None,
        }
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        for char, escaped in (
            ("<", "\\u003c"),
            (">", "\\u003e"),
            ("&", "\\u0026"),
            ("\u2028", "\\u2028"),
            ("\u2029", "\\u2029"),
        ):
            text = text.replace(char, escaped)
        return text
