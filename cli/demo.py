"""`chorus-etl demo` (`make demo`): the whole pipeline on embedded defaults, with no credentials.

It starts the Chorus Pro simulator on a free local port, writes a sample export with some bad
invoices into a demo inbox, runs the daily pipeline, then moves the simulator's clock forward
step by step over about three months, running the nightly job at each step, the way the
cooperative's invoices would live. When a night finds invoices sent back, accounting answers
them in the export (`cli/demo_returns.py`) and the next daily run completes or recycles them on
Chorus Pro. Everything it writes stays under one folder.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, col, select

from chorus_etl import db
from chorus_etl.config import get_settings, reset_settings_cache
from chorus_etl.settings import ARTENREEL_SIRET
from chorus_etl.values import DepositMode
from cli.console_progress import make_progress
from cli.output import plain
from schemas.warehouse import Alert, AttemptOutcome, DepositAttempt, Invoice


@dataclass
class DemoResult:
    """What the demo shows at the end."""

    workdir: Path
    warehouse_url: str
    outbox: Path
    export: Path
    simulated_days: int
    states: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    #: Invoices on Chorus Pro by deposit mode (pdf, facturx).
    modes: Counter[str] = field(default_factory=Counter)
    emails: int = 0
    overdue: list[dict[str, Any]] = field(default_factory=list)
    rejected_rows: int = 0
    dashboard: Path | None = None
    final_status_changes: int = 0
    #: Returned invoices answered: number, kind, origin, state, Chorus Pro status now.
    returns: list[dict[str, Any]] = field(default_factory=list)
    archived_files: int = 0


def _environment(workdir: Path, api_url: str, oauth_url: str) -> dict[str, str]:
    return {
        "CHORUS_ETL_CHORUS_ENV": "simulator",
        "CHORUS_ETL_DATABASE_URL": f"sqlite:///{workdir / 'warehouse.db'}",
        "CHORUS_ETL_CHORUS_API_URL": api_url,
        "CHORUS_ETL_CHORUS_OAUTH_URL": oauth_url,
        "CHORUS_ETL_INBOX_DIR": str(workdir / "inbox"),
        "CHORUS_ETL_ALERT_OUTBOX_DIR": str(workdir / "outbox"),
        "CHORUS_ETL_ALERT_URLS": "[]",
        "CHORUS_ETL_DASHBOARD_DIR": str(workdir / "dashboard"),
        "CHORUS_ETL_VAR_DIR": str(workdir),
        "CHORUS_ETL_ARCHIVE_DIR": str(workdir / "archive"),
        "CHORUS_ETL_LOG_LEVEL": os.environ.get("CHORUS_ETL_LOG_LEVEL", "WARNING"),
        # One structure in each deposit mode: Antigone's PDFs are read by Chorus Pro's OCR,
        # Artenréel's go as Factur-X fluxes.
        "CHORUS_ETL_DEPOSIT_MODES": json.dumps({ARTENREEL_SIRET: DepositMode.FACTURX.value}),
    }


def run_demo(
    workdir: Path,
    *,
    invoices: int = 60,
    days: int = 90,
    step_days: int = 3,
    seed: int = 2026,
    layout: str = "contract",
    on_step: Callable[[int, int], None] | None = None,
    outcomes: dict[str, str] | None = None,
) -> DemoResult:
    """Runs the whole story, from a sample export in `layout` (contract or caerp); `on_step(done,
    total)` reports progress of the simulated nights; `outcomes` forces the simulator's life of
    some invoice numbers (suspended, to_recycle…)."""
    from chorus_pro.simulator import run_simulator_in_thread
    from chorus_pro.simulator.config import SimulatorConfig
    from cli.demo_returns import answer_returned
    from flows.daily import daily
    from flows.nightly import nightly
    from tasks.sample import LAYOUTS

    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    previous = {k: os.environ.get(k) for k in _environment(workdir, "", "")}
    config = SimulatorConfig.model_validate(
        {"seed": seed, "lifecycle_outcomes_by_number": outcomes or {}}
    )
    with run_simulator_in_thread(config) as simulator:
        os.environ.update(_environment(workdir, simulator.base_url, simulator.oauth_url))
        reset_settings_cache()
        # The rules the nightly applied: the summary judges lateness as its alerts and dashboard.
        legal = (get_settings().buyer_kinds, get_settings().ecb_rate_percent)
        try:
            today = date.fromisoformat(simulator.control.clock()["today"])
            export = workdir / "inbox" / f"export-{today.isoformat()}"
            LAYOUTS[layout](
                export, invoices=invoices, seed_value=seed, with_errors=True, today=today
            )
            first = daily(inbox=workdir / "inbox", as_of=today)
            steps = max(1, days // step_days)
            last: dict[str, Any] = {}
            url = f"sqlite:///{workdir / 'warehouse.db'}"
            for step in range(steps):
                simulator.control.advance(days=step_days)
                today = date.fromisoformat(simulator.control.clock()["today"])
                if answer_returned(export, url):
                    daily(inbox=workdir / "inbox", as_of=today)
                last = nightly(as_of=today)
                if on_step is not None:
                    on_step(step + 1, steps)
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            reset_settings_cache()
    from cli.demo_returns import answered

    url = f"sqlite:///{workdir / 'warehouse.db'}"
    result = DemoResult(
        workdir=workdir,
        warehouse_url=url,
        outbox=workdir / "outbox",
        export=export,
        simulated_days=steps * step_days,
        rejected_rows=sum(e["counts"].get("state_invalid", 0) for e in first.get("exports", [])),
    )
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            for invoice in session.exec(select(Invoice)).all():
                result.states[invoice.state] += 1
                if invoice.current_status:
                    result.statuses[invoice.current_status] += 1
            for alert in session.exec(select(Alert)).all():
                result.alerts[alert.kind] += 1
            for attempt in session.exec(
                select(DepositAttempt).where(
                    col(DepositAttempt.outcome).in_(
                        [AttemptOutcome.DEPOSITED.value, AttemptOutcome.FOUND_EXISTING.value]
                    )
                )
            ).all():
                result.modes[attempt.mode] += 1
    finally:
        engine.dispose()
    result.emails = len(list(result.outbox.glob("*.eml"))) if result.outbox.exists() else 0
    from tasks.reconcile.overdue import find_overdue

    engine = db.make_engine(url)
    try:
        late = find_overdue(engine, today, *legal)
        with Session(engine) as session:
            for item in late:
                row = session.get(Invoice, item.invoice_id)
                assert row is not None
                result.overdue.append(
                    {
                        "invoice": row.invoice_number,
                        "buyer": row.buyer_name,
                        "deposited": row.deposit_date,
                        "delay_days": item.delay_days,
                        "days_late": item.days_late,
                        "interest_cents": item.interest_cents,
                    }
                )
    finally:
        engine.dispose()
    result.final_status_changes = int(last.get("status_changes", 0))
    result.returns = answered(url)
    archive = workdir / "archive"
    result.archived_files = (
        sum(1 for p in archive.rglob("*") if p.is_file()) if archive.exists() else 0
    )
    if last.get("dashboard"):
        result.dashboard = Path(str(last["dashboard"]))
    return result


def demo(
    workdir: Path = typer.Option(Path("var/demo"), help="Where the demo writes everything."),
    invoices: int = typer.Option(60, min=5, help="Invoices in the sample export."),
    days: int = typer.Option(90, min=1, help="Simulated days after the first deposit."),
    step_days: int = typer.Option(3, min=1, help="Days between two nightly runs."),
    layout: str = typer.Option(
        "contract", "--format", help="The sample export's layout: contract or caerp."
    ),
) -> None:
    """Simulator, sample export with errors, daily pipeline, ~90 simulated nights, summary."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    console = Console()
    console.print(
        "[bold]Chorus Pro pipeline demo[/bold]: local simulator, sample export with errors, "
        f"daily pipeline, then {days} simulated days of nightly reconciliation."
    )
    with make_progress() as bar:
        nights = bar.add_task("nightly runs", total=max(1, days // step_days))
        result = run_demo(
            workdir.resolve(),
            invoices=invoices,
            days=days,
            step_days=step_days,
            layout=layout,
            on_step=lambda done, total: bar.update(nights, completed=done, total=total),
        )
    states = Table("invoice state", "count", title="Invoices by state")
    for state, count in sorted(result.states.items()):
        states.add_row(state, str(count))
    statuses = Table("Chorus Pro status", "count", title="Deposited invoices by status")
    for status, count in result.statuses.most_common():
        statuses.add_row(status, str(count))
    alerts = Table("alert", "messages", title="Alerts (entrepreneur + accounting copies)")
    for kind, count in sorted(result.alerts.items()):
        alerts.add_row(kind, str(count))
    modes = Table("deposit mode", "invoices", title="Deposited by mode (PDF + OCR, or Factur-X)")
    for mode, count in sorted(result.modes.items()):
        modes.add_row(mode, str(count))
    console.print(states, modes, statuses, alerts)
    if result.returns:
        answers = Table(
            "invoice",
            "answered with",
            "asked in",
            "answer",
            "Chorus Pro now",
            title="Returned invoices answered (complete: SUSPENDUE, recycle: A_RECYCLER)",
        )
        for item in result.returns:
            answers.add_row(
                item["invoice_number"],
                item["kind"],
                item["origin"],
                item["state"],
                item["current_status"] or item["chorus_status"] or "",
            )
        console.print(answers)
    if result.overdue:
        late = Table(
            "invoice", "buyer", "deposited", "delay", "days late", "interest", title="Overdue"
        )
        for item in result.overdue[:15]:
            late.add_row(
                plain(item["invoice"]),
                plain(item["buyer"]),
                str(item["deposited"]),
                f"{item['delay_days']} d",
                str(item["days_late"]),
                f"{item['interest_cents'] / 100:.2f} €",
            )
        console.print(late)
    console.print(
        f"Export with {result.rejected_rows} refused invoices: {result.export}\n"
        f"Warehouse: {result.warehouse_url}\n"
        f"Alert outbox: {result.outbox} ({result.emails} e-mails written as .eml files)\n"
        + (f"Dashboard: {result.dashboard}\n" if result.dashboard else "")
        + f"Archive (documents as Chorus Pro holds them): {result.workdir / 'archive'} "
        f"({result.archived_files} files)\n" + f"Simulated days: {result.simulated_days}",
        highlight=False,
    )
