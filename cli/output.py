"""How commands report: a human summary on the console, or one JSON document with `--json`."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer
from rich.text import Text

from chorus_etl.untrusted import printable

P = ParamSpec("P")
R = TypeVar("R")


def emit(payload: Any, *, as_json: bool, human: str) -> None:
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(human)


def plain(value: object, *, style: str = "", multiline: bool = False) -> Text:
    """Data for a rich console: plain text (rich would read `[...]` as markup), without the
    escape sequences and control characters a buyer's name or a Chorus Pro comment can carry."""
    return Text("" if value is None else printable(str(value), multiline=multiline), style=style)


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Configuration and Chorus Pro access problems end with one clear line, not a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from chorus_pro.errors import AuthenticationError, ChorusProError, ForbiddenError

        try:
            return func(*args, **kwargs)
        except (AuthenticationError, ForbiddenError) as exc:
            typer.echo(f"Chorus Pro refused the credentials: {exc}", err=True)
            typer.echo(
                "Run `chorus-etl doctor` to find which step fails and how to fix it.", err=True
            )
            raise typer.Exit(2) from exc
        except ChorusProError as exc:
            typer.echo(f"Chorus Pro could not be reached or answered an error: {exc}", err=True)
            raise typer.Exit(2) from exc
        except ValueError as exc:
            if "CHORUS_ETL_" not in str(exc):
                raise
            typer.echo(f"Configuration problem: {exc}", err=True)
            raise typer.Exit(2) from exc

    return wrapper
