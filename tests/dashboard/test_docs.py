"""docs/warehouse.md documents every column of every view, in order, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from schemas.views import ENTREPRENEUR_SUMMARY, STRUCTURE_SUMMARY, VIEWS

DOC = Path(__file__).resolve().parents[2] / "docs" / "warehouse.md"
_ROW = re.compile(r"^\| `([a-z_]+)` \|", re.M)


def _sections() -> dict[str, str]:
    parts = re.split(r"^#{2,3} ", DOC.read_text(encoding="utf-8"), flags=re.M)
    return {part.split("\n", 1)[0].strip("` "): part for part in parts[1:]}


def test_every_view_column_is_documented_in_order() -> None:
    sections = _sections()
    shared = _ROW.findall(sections["Summary figures"])
    for view in VIEWS:
        assert view.name in sections, f"docs/warehouse.md has no section for {view.name}"
        documented = _ROW.findall(sections[view.name])
        if view in (ENTREPRENEUR_SUMMARY, STRUCTURE_SUMMARY):
            documented += shared
        assert documented == view.column_names, view.name
