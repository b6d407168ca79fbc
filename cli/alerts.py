"""`chorus-etl alerts`: deliver the alert outbox by hand (the deployment runs it on a schedule)."""

from __future__ import annotations

from typing import Any

import typer

from cli.output import emit

app = typer.Typer(
    help="Deliver pending alerts: e-mail and chat through apprise URLs, or .eml files.",
    no_args_is_help=True,
)


@app.command("send")
def send(
    cooperative: str | None = typer.Option(
        None, "--cooperative", help="Only this cooperative's alerts (an id of the accounts)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
) -> None:
    """Deliver every pending alert once; those that fail stay pending for the next run."""
    from flows.alerts import send_alerts

    summary = send_alerts(cooperative=cooperative)
    emit(summary, as_json=as_json, human=_human(summary))


def _human(summary: dict[str, Any]) -> str:
    line = (
        f"sent: {summary['sent']}, failed: {summary['failed']}, "
        f"still pending: {summary['pending_left']}, digests: {summary['digests']}"
    )
    if summary.get("undeliverable"):
        line += (
            f"\nundeliverable for too long: {summary['undeliverable']} (accounting was told once, "
            "a copy is in the .eml outbox folder; `chorus-etl waits` lists them)"
        )
    kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(summary["by_kind"].items()))
    return f"{line}\n{kinds}" if kinds else line
