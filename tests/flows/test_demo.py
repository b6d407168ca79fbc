"""The demo's logic at a small size: it must run end to end and tell a coherent story."""

from __future__ import annotations

from pathlib import Path

from chorus_etl import db
from cli.demo import run_demo
from schemas.views import INVOICE_LIFECYCLE
from tests.dashboard.helpers import records


def test_demo_runs_end_to_end_at_a_small_size(tmp_path: Path) -> None:
    steps: list[tuple[int, int]] = []
    result = run_demo(
        tmp_path / "demo",
        invoices=15,
        days=12,
        step_days=4,
        on_step=lambda d, t: steps.append((d, t)),
    )
    assert steps == [(1, 3), (2, 3), (3, 3)]
    assert result.simulated_days == 12
    assert result.states["deposited"] > 0
    assert result.states["invalid"] == result.rejected_rows > 0
    assert sum(result.statuses.values()) == result.states["deposited"]
    assert result.modes["pdf"] > 0
    assert result.modes["facturx"] > 0
    assert result.export.is_dir()
    assert (tmp_path / "demo" / "warehouse.db").is_file()
    assert result.emails == len(list(result.outbox.glob("*.eml")))
    assert result.dashboard is not None
    assert result.dashboard.is_file()
    assert (result.dashboard.parent / "entrepreneurs").is_dir()


def test_the_demo_dashboard_and_summary_agree_on_overdue_invoices(tmp_path: Path) -> None:
    """The dashboard judges lateness on the nightly run's simulated date, as the summary does,
    not on the machine's today."""
    result = run_demo(tmp_path / "demo", invoices=40, days=90, step_days=45)
    engine = db.make_engine(result.warehouse_url)
    try:
        late = records(engine, INVOICE_LIFECYCLE, is_overdue=1)
        as_of = {r["as_of_date"] for r in records(engine, INVOICE_LIFECYCLE)}
    finally:
        engine.dispose()
    assert result.overdue, "the demo lasts long enough for some invoices to be late"
    assert sorted(r["invoice_number"] for r in late) == sorted(o["invoice"] for o in result.overdue)
    assert {r["interest_cents"] for r in late} == {o["interest_cents"] for o in result.overdue}
    (day,) = as_of
    assert result.dashboard is not None
    assert f"Retards au {day.strftime('%d/%m/%Y')}" in result.dashboard.read_text()
