"""Definitive directory answers are reasons; only a failure to get an answer defers.

Against the simulator answering as the reference allows for a dissolved buyer (listed INACTIVE by
the search, `consulter` a business error 20001 behind it), and for a buyer the search lists
ACTIVE that `consulter` no longer knows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from chorus_etl.config import reset_settings_cache
from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import BUYER_INACTIVE, BUYER_NO_REQUIREMENT, Buyer
from flows.ingest import ingest
from schemas.warehouse import Alert, StalledWait
from tasks.sample.export import generate_export
from tests.flows.helpers import configure, rows_of

TODAY = date(2026, 11, 27)
STRUCTURES = "/cpro/structures/v1"


Export = Callable[..., Path]


@pytest.fixture
def export(
    tmp_path: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> Export:
    """The pipeline on this warehouse and simulator; `export(buyer)` writes three invoices to
    `buyer` (another `seed`, other numbers)."""
    configure(monkeypatch, sqlite_url, simulator)

    def write(buyer: Buyer, seed: int = 11) -> Path:
        folder = tmp_path / f"export-{seed}"
        generate_export(folder, invoices=3, seed_value=seed, today=TODAY, buyers=[buyer])
        return folder

    return write


def _rules(report: dict[str, Any]) -> set[tuple[str, str | None, str]]:
    return {(i["result"], i["state"], r["rule"]) for i in report["invoices"] for r in i["reasons"]}


def test_an_inactive_buyer_is_refused_after_one_ingest_without_more_calls(
    export: Export, simulator: SimulatorHandle
) -> None:
    folder = export(BUYER_INACTIVE)
    simulator.control.set_config(unconsultable_structures=[BUYER_INACTIVE.siret])

    report = ingest(folder, today=TODAY)

    assert _rules(report) == {("inserted", "invalid", "buyer.inactive")}
    requests = simulator.control.stats()["requests"]
    assert requests.get(f"{STRUCTURES}/rechercher") == 1
    assert f"{STRUCTURES}/consulter" not in requests
    assert f"{STRUCTURES}/rechercher/services" not in requests


def test_a_business_error_on_consult_is_a_definitive_reason_with_chorus_code_and_label(
    export: Export, simulator: SimulatorHandle
) -> None:
    folder = export(BUYER_NO_REQUIREMENT)
    simulator.control.set_config(unconsultable_structures=[BUYER_NO_REQUIREMENT.siret])

    first = ingest(folder, today=TODAY)
    simulator.control.reset_stats()
    cached = ingest(export(BUYER_NO_REQUIREMENT, seed=12), today=TODAY)

    assert _rules(first) == _rules(cached) == {("inserted", "invalid", "buyer.unknown")}
    messages = {r["message_fr"] for i in first["invoices"] for r in i["reasons"]}
    (message,) = messages
    assert "« Structure inexistante. » (code 20001)" in message
    assert {r["message_fr"] for i in cached["invoices"] for r in i["reasons"]} == messages
    assert simulator.control.stats()["requests"] == {}, "the answer is cached like any other"


@pytest.mark.parametrize("path", ["rechercher", "consulter"])
def test_a_503_still_defers(path: str, export: Export, simulator: SimulatorHandle) -> None:
    folder = export(BUYER_NO_REQUIREMENT)
    simulator.control.set_faults(
        rate_503=1.0, retry_after_seconds=0, paths=[f"{STRUCTURES}/{path}"]
    )

    report = ingest(folder, today=TODAY)

    assert _rules(report) == {("waiting", None, "directory.unavailable")}
    (message,) = {r["message_en"] for i in report["invoices"] for r in i["reasons"]}
    assert "TransientError" in message and "retried next run" in message


def test_a_directory_wait_past_its_bound_alerts_accounting_once_and_keeps_waiting(
    export: Export,
    sqlite_url: str,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = export(BUYER_NO_REQUIREMENT)
    monkeypatch.setenv("CHORUS_ETL_WAIT_ALERT_AFTER_RUNS", "2")
    reset_settings_cache()
    simulator.control.set_faults(rate_503=1.0, retry_after_seconds=0, paths=[STRUCTURES])

    within = [ingest(folder, today=TODAY) for _ in range(2)]
    quiet = rows_of(sqlite_url, Alert)
    past = [ingest(folder, today=TODAY) for _ in range(2)]
    alerted = rows_of(sqlite_url, Alert)
    simulator.control.set_faults()
    back = ingest(folder, today=TODAY)

    assert quiet == []
    assert all(_rules(r) == {("waiting", None, "directory.unavailable")} for r in within + past)
    (alert,) = alerted
    assert (alert.kind, alert.audience) == ("stalled_directory", "accounting")
    numbers = [i["invoice_number"] for i in within[0]["invoices"]]
    assert all(f"Facture {n} " in alert.body for n in numbers)
    assert "3 passage(s) ; dernière erreur : Chorus Pro directory unavailable (Transient" in (
        alert.body
    )
    assert {i["state"] for i in back["invoices"]} == {"ready"}
    assert rows_of(sqlite_url, StalledWait) == [], "the waits ended with the directory's answer"
