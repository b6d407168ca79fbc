"""The demo's logic at a small size: it must run end to end and tell a coherent story."""

from __future__ import annotations

from pathlib import Path

from cli.demo import run_demo


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
