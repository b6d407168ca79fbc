"""`chorus-etl waits`: what is being retried at every run, since when, and whether accounting was
told (the bounded waits of docs/design.md), read from the warehouse without asking Chorus Pro."""

from __future__ import annotations

from typing import Any

import typer

from cli.output import emit


def waits(
    kind: str | None = typer.Option(
        None, "--kind", help="Only this kind: directory, deposit, flux, alert, return or archive."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of the waits."),
) -> None:
    """List the waits still open (oldest first): an invoice waiting for the Chorus Pro directory,
    a deposit left in progress, a flux report, an alert not delivered; past the bound
    (CHORUS_ETL_WAIT_ALERT_AFTER_DAYS / _RUNS) accounting was told once."""
    from chorus_etl.config import get_settings
    from cli.invoices import _warehouse
    from schemas.warehouse import utcnow
    from tasks.alerts import stalls

    kinds = stalls.KINDS
    chosen = None
    if kind is not None:
        chosen = kinds.get(kind)
        if chosen is None:
            typer.echo(f"waits: unknown kind {kind!r} ({', '.join(kinds)})", err=True)
            raise typer.Exit(2)
    engine = _warehouse("waits")
    try:
        rows = stalls.list_waits(engine, chosen)
    finally:
        engine.dispose()
    bounds = stalls.WaitBounds.from_settings(get_settings())
    now = utcnow()
    records = [
        {
            "kind": row.kind,
            "subject": row.subject,
            "cooperative": row.cooperative,
            "label": row.label,
            "first_seen_at": row.first_seen_at.isoformat(),
            "last_seen_at": row.last_seen_at.isoformat(),
            "runs": row.runs,
            "over_bound": bounds.exceeded(row, now),
            "alerted_at": row.alerted_at.isoformat() if row.alerted_at else None,
            "last_error": row.last_error,
        }
        for row in rows
    ]
    emit(records, as_json=as_json, human=_human(records))


def _human(records: list[dict[str, Any]]) -> str:
    if not records:
        return "nothing is waiting"
    lines = []
    for r in records:
        state = f"alerted {r['alerted_at'][:16]}" if r["alerted_at"] else "within the bound"
        if r["over_bound"] and not r["alerted_at"]:
            state = "over the bound"
        lines.append(
            f"{r['kind']:<10} {r['first_seen_at'][:16]}  {r['runs']:>3} runs  {state:<24} "
            f"{r['label']}"
        )
        if r["last_error"]:
            lines.append(f"{'':<10} last error: {r['last_error'][:200]}")
    lines.append(f"{len(records)} waiting")
    return "\n".join(lines)
