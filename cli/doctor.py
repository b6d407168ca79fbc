"""`chorus-etl doctor`: check the Chorus Pro set-up step by step and say what to fix, and where.

The checks themselves live in `tasks.setup.doctor`; this module only prints them, for a person (one
line per check, the remedy under it) or for a script (`--json`), and sets the exit code so a
deployment can refuse to start on a broken set-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from chorus_etl.untrusted import printable
from cli.output import emit

if TYPE_CHECKING:
    from tasks.setup.doctor import CheckResult

#: Width of the status column: the longest status is SKIPPED.
STATUS_WIDTH = 8


def doctor(
    as_json: bool = typer.Option(
        False, "--json", help="Print a JSON list of {check, status, detail, remedy, scope}."
    ),
) -> None:
    """Check credentials, PISTE token, technical account, API subscriptions, attachments,
    entrepreneurs' services, bank details, password expiry and the buyer directory, for every
    technical account of the accounts file on its own, and Ghostscript on this machine; exit 1 if
    any check FAILs."""
    from chorus_etl.config import get_settings
    from chorus_etl.log import configure_logging
    from chorus_etl.settings import Settings
    from tasks.setup.doctor import Status, run_checks

    settings: Settings | None
    try:
        settings = get_settings()
    except ValueError:
        # Unreadable settings are the first check's finding, reported with the others.
        settings = None
    else:
        configure_logging(settings)
    results = run_checks(settings)
    emit([r.as_dict() for r in results], as_json=as_json, human=render(results))
    if any(r.status is Status.FAIL for r in results):
        raise typer.Exit(1)


def render(results: list[CheckResult]) -> str:
    """One line per check, its remedy indented below it, then a count per status."""
    from tasks.setup.doctor import Status

    width = max(len(r.check) for r in results) + 2
    lines: list[str] = []
    scope = ""
    for result in results:
        if result.scope != scope:
            scope = result.scope
            lines += ["", f"== {scope}"] if lines else [f"== {scope}"]
        status = result.status.value.ljust(STATUS_WIDTH)
        # Details quote Chorus Pro's answers: printed without their control characters.
        lines.append(f"{status} {result.check.ljust(width)}{printable(result.detail)}")
        if result.remedy:
            lines.append(f"{' ' * (STATUS_WIDTH + 1 + width)}→ {printable(result.remedy)}")
    counts = {s: sum(r.status is s for r in results) for s in Status}
    summary = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    verdict = "some checks failed" if counts[Status.FAIL] else "nothing failed"
    lines.append("")
    lines.append(f"{summary}: {verdict}.")
    return "\n".join(lines)
