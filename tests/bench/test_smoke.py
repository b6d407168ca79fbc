"""Every benchmark runs to its end at a tiny size and prints its figures and its verdicts.

No timing is asserted: at a few invoices the fixed costs (interpreter, Prefect's API) dominate and
a shared machine's load moves every figure. What is checked is that a benchmark cannot break
silently again (`bench.report` called a module that no longer existed and nobody noticed): each
runs as `make bench` runs it, in its own interpreter, and must exit 0, print the figures its
documentation quotes, and print one verdict per target with the load beside it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERDICT = re.compile(r"^target (?P<what>.+): (?:MET|MISSED) \((?:.+, )?load \d+\.\d\d\)$")


def run_bench(module: str, *args: str, cwd: Path, timeout: float = 240) -> dict[str, str]:
    """`python -m bench.<module> args` from an empty folder (no developer `.env`), its figures
    by name (`name: value unit` lines, `#` notes left out); fails with the output on an error."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    figures: dict[str, str] = {}
    for line in done.stdout.splitlines():
        if line.startswith("#") or ": " not in line:
            continue
        name, _, value = line.partition(": ")
        figures[name] = value
    return figures


def verdicts(figures: dict[str, str]) -> list[str]:
    found = [f"{name}: {value}" for name, value in figures.items() if name.startswith("target ")]
    for line in found:
        assert VERDICT.match(line), line
    return found


def has(figures: dict[str, str], *names: str) -> None:
    missing = [name for name in names if name not in figures]
    assert not missing, f"missing figures {missing}; printed: {sorted(figures)}"


@pytest.mark.slow
def test_ingest_benchmark_runs(tmp_path: Path) -> None:
    figures = run_bench(
        "ingest", "--invoices", "12", "--keep", str(tmp_path / "work"), cwd=tmp_path
    )
    has(
        figures,
        "machine.load_1min.before",
        "pypdf.pool.cpu",
        "ingest.first.wall",
        "ingest.first.cpu_ratio_to_pypdf_pool",
        "ingest.second.share_of_first",
        "memory.peak.process_plus_2_workers",
    )
    assert figures["ingest.first.ready"].startswith("12 ")
    assert len(verdicts(figures)) == 3


@pytest.mark.slow
def test_deposit_benchmark_runs_unpaced_and_reports_production_pacing(tmp_path: Path) -> None:
    figures = run_bench(
        "deposit",
        "--invoices",
        "10",
        "--paced-invoices",
        "4",
        "--keep",
        str(tmp_path / "work"),
        cwd=tmp_path,
    )
    has(
        figures,
        "deposit.wall",
        "deposit.ideal_wall",
        "deposit.ratio_wall_to_ideal",
        "overhead.cpu_per_invoice",
        "production.binding_pace",
        "production.predicted_throughput",
        "production.paced.throughput",
    )
    assert figures["deposit.invoices_deposited"].startswith("10 ")
    assert figures["overhead.invoices_deposited"].startswith("10 ")
    assert figures["production.paced.invoices_deposited"].startswith("4 ")
    # Both pacers lifted in the measured runs, production's defaults in the paced one.
    assert figures["limit.deposit_rate_per_second"].startswith("10000")
    assert figures["limit.piste_rate_per_second.default"].startswith("10000")
    assert figures["production.limit.deposit_rate_per_second"].startswith("20.000")
    assert figures["production.limit.piste_rate_per_second.default"].startswith("50.000")
    assert len(verdicts(figures)) == 2


@pytest.mark.slow
def test_reconcile_benchmark_runs(tmp_path: Path) -> None:
    figures = run_bench(
        "reconcile", "--invoices", "200", "--changed", "20", "--sample", "5", cwd=tmp_path
    )
    has(figures, "reconcile.wall", "reconcile.api_calls", "history_per_invoice.wall")
    assert figures["reconcile.status_changes"] == "20"
    assert len(verdicts(figures)) == 2


def test_report_benchmark_runs(tmp_path: Path) -> None:
    figures = run_bench(
        "report",
        "--invoices",
        "200",
        "--entrepreneurs",
        "6",
        "--buyers",
        "10",
        cwd=tmp_path,
    )
    has(
        figures,
        "report wall time (fresh interpreter, imports included)",
        "report time inside the command",
        "largest page size",
    )
    assert figures["invoices"] == "200"
    assert len(verdicts(figures)) == 2


def test_facturx_benchmark_runs(tmp_path: Path) -> None:
    figures = run_bench(
        "facturx", "--invoices", "8", "--ghostscript", "2", "--schematron", "0", cwd=tmp_path
    )
    has(
        figures,
        "preflight.cpu_per_invoice",
        "pdfa_input.with_conversion.cpu_per_invoice",
        "not_pdfa_input.with_conversion.cpu_per_invoice",
    )
    assert len(verdicts(figures)) == 2
