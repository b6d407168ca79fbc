"""The demo's logic at a small size: it must run end to end and tell a coherent story."""

from __future__ import annotations

from pathlib import Path

from chorus_etl import db
from cli.demo import run_demo
from schemas.views import INVOICE_LIFECYCLE
from tasks.sample.export import generate_export
from tests.dashboard.helpers import records


def test_demo_runs_end_to_end_at_a_small_size(tmp_path: Path) -> None:
    # The sample's numbers follow from its seed: one invoice will be suspended, one sent back
    # to recycle (their statuses come within 15 days).
    manifest = generate_export(tmp_path / "probe", invoices=15, seed_value=2026, with_errors=True)
    good = [
        i["invoice_number"]
        for i in manifest["invoices"]  # type: ignore[attr-defined]
        if i["expected"] == "ready" and i["invoice_type"] == "FACTURE"
    ]
    steps: list[tuple[int, int]] = []
    result = run_demo(
        tmp_path / "demo",
        invoices=15,
        days=24,
        step_days=4,
        on_step=lambda d, t: steps.append((d, t)),
        outcomes={good[0]: "suspended", good[1]: "to_recycle"},
    )
    assert steps == [(n, 6) for n in range(1, 7)]
    assert result.simulated_days == 24
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
    # Invoices sent back were answered through the export, once each, and are moving again.
    assert sorted((r["invoice_number"], r["kind"]) for r in result.returns) == sorted(
        [(good[0], "complete"), (good[1], "recycle")]
    )
    assert {r["state"] for r in result.returns} == {"done"}
    assert {r["origin"] for r in result.returns} == {"export"}
    assert all(r["current_status"] not in ("SUSPENDUE", "A_RECYCLER") for r in result.returns)
    assert result.archived_files >= 2 * result.states["deposited"]


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
