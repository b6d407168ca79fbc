"""`chorus-etl complete` and `chorus-etl recycle`: answer an invoice the buyer sent back.

Both record the request (checked as an export's would be), then answer it through the `returns`
flow: the attempt is committed before the call and settled from the invoice's status history
after a crash or a lost answer, so running the same command again never sends it twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cli.output import emit, friendly_errors

_STRUCTURE = typer.Option(None, "--structure", help="Supplier SIRET, when several have the number.")
_COOPERATIVE = typer.Option(None, "--cooperative", help="Cooperative id (accounts file).")
_JSON = typer.Option(False, "--json", help="Print a machine-readable summary.")


@friendly_errors
def complete(
    number: str = typer.Argument(..., help="The suspended invoice's number."),
    attach: list[Path] = typer.Option(
        [], "--attach", help="A supporting document to send (repeatable)."
    ),
    comment: str | None = typer.Option(None, "--comment", help="Text sent with the documents."),
    structure: str | None = _STRUCTURE,
    cooperative: str | None = _COOPERATIVE,
    as_json: bool = _JSON,
) -> None:
    """Complete a SUSPENDUE invoice on Chorus Pro (`completer`): documents and a comment. The
    files pass the attachment preflight of the deposit first."""
    from tasks.returns import ReturnOrder

    order = ReturnOrder(
        kind="complete",
        number=number,
        structure=structure,
        cooperative=cooperative,
        files=[str(path) for path in attach],
        comment=comment,
    )
    _run(order, as_json)


@friendly_errors
def recycle(
    number: str = typer.Argument(..., help="The invoice to recycle (A_RECYCLER)."),
    buyer: str | None = typer.Option(None, "--buyer", help="New recipient SIRET."),
    service: str | None = typer.Option(None, "--service", help='New service code ("" for none).'),
    engagement: str | None = typer.Option(
        None, "--engagement", help='New engagement number ("" for none).'
    ),
    comment: str | None = typer.Option(None, "--comment", help="Text sent with the recycling."),
    structure: str | None = _STRUCTURE,
    cooperative: str | None = _COOPERATIVE,
    as_json: bool = _JSON,
) -> None:
    """Recycle an A_RECYCLER invoice on Chorus Pro (`recycler`) with a new recipient, service or
    engagement; what is left out stays. The new routing passes the ingest's directory checks."""
    from tasks.returns import ReturnOrder

    order = ReturnOrder(
        kind="recycle",
        number=number,
        structure=structure,
        cooperative=cooperative,
        buyer_siret=buyer,
        service_code=service,
        engagement_number=engagement,
        comment=comment,
    )
    _run(order, as_json)


#: How the command ends, by what happened to the order.
_EXIT = {"unknown": 1, "refused": 1, "ambiguous": 2, "waiting": 2, "retry_later": 2}


def _run(order: Any, as_json: bool) -> None:
    from flows.returns import returns

    summary: dict[str, Any] = returns(order=order)
    placed = summary["order"] or {}
    mine = [o for o in summary["outcomes"] if o["action_id"] == placed.get("action_id")]
    outcome = mine[0] if mine else None
    emit(summary, as_json=as_json, human=_human(order.kind, order.number, placed, outcome))
    problem = placed.get("problem") or (outcome or {}).get("result")
    code = _EXIT.get(str(problem), 0)
    if code:
        raise typer.Exit(code)


def _human(kind: str, number: str, placed: dict[str, Any], outcome: dict[str, Any] | None) -> str:
    what = "completion" if kind == "complete" else "recycling"
    if placed.get("problem"):
        return "\n".join(
            [f"{number}: {what} not sent ({placed['problem']})", *placed.get("reasons", [])]
        )
    if outcome is None:
        return f"{number}: {what} recorded, nothing to answer now"
    result = outcome["result"]
    if result == "done":
        line = f"{number}: {what} done on Chorus Pro"
        if outcome.get("chorus_status"):
            line += f" (status {outcome['chorus_status']})"
        return "\n".join([line, *([outcome["detail"]] if outcome.get("detail") else [])])
    if result == "refused":
        return f"{number}: {what} refused: {outcome['detail']}"
    if result == "retry_later":
        return f"{number}: {what} not settled yet, the next run retries it: {outcome['detail']}"
    return f"{number}: {what} skipped: {outcome['detail']}"
