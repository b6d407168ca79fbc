"""How commands report: a human summary on the console, or one JSON document with `--json`."""

from __future__ import annotations

import json
from typing import Any

import typer


def emit(payload: Any, *, as_json: bool, human: str) -> None:
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(human)
