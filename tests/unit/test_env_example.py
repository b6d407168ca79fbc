"""`.env.example` documents every setting, and only real ones."""

from __future__ import annotations

import re
from pathlib import Path

from chorus_etl.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"CHORUS_ETL_([A-Z_]+)=", text))
    expected = {name.upper() for name in Settings.model_fields}
    assert documented == expected
