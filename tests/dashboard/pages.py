"""Reading a written dashboard back: its pages, and the table rows inside their JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.dashboard import dataset

_DATA = re.compile(r'<script type="application/json" id="data-([a-z]+)">(.*?)</script>', re.S)


def tables(html: str) -> dict[str, list[list[Any]]]:
    """Each table's rows, by table id, with the string pools expanded."""
    found = {}
    for table_id, text in _DATA.findall(html):
        document = json.loads(text)
        rows = []
        for row in document["rows"]:
            rows.append(
                [
                    document["pools"][str(i)][v]
                    if str(i) in document["pools"] and v is not None
                    else v
                    for i, v in enumerate(row)
                ]
            )
        found[table_id] = rows
    return found


def numbers_of(entrepreneur: str | None) -> set[str]:
    return {dataset.number(s.number) for s in dataset.SPECS if s.entrepreneur == entrepreneur}


def entrepreneur_page(out_dir: Path, code: str) -> Path:
    siret = dataset.ENTREPRENEURS[code][0]
    return out_dir / "entrepreneurs" / f"{siret}-{code}.html"
