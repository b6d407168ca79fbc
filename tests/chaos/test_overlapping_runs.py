"""Two deposit runs at once on one warehouse, as happens when someone deposits by hand while the
scheduled run works, or two workers are given the same structure: every invoice reaches Chorus
Pro once, none is failed or alerted for nothing, and a run killed in the middle leaves claims that
the next run takes over.

The overlap is made by the simulator's gate, not by timing: the first run's write calls are held
until the second run has held as many of its own, so the second run has done everything it does
before its first write (the leftover pass included) while the first is mid-deposit.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import col

from chorus_etl import db
from chorus_etl.config import reset_settings_cache
from chorus_etl.settings import ANTIGONE_SIRET, ARTENREEL_SIRET
from chorus_pro.simulator import SimulatorHandle
from flows.ingest import ingest
from flows.reconcile import reconcile
from schemas.warehouse import Alert
from tasks.sample.export import generate_export
from tests.chaos.helpers import (
    agrees_with_chorus_pro,
    process_env,
    simulator_settled,
    start_deposit,
    states,
)
from tests.flows.helpers import configure

TODAY = date(2026, 11, 27)
INVOICES = 14
CONCURRENCY = 3
#: Where each mode's first write call goes: the PDF upload, the Factur-X flux.
UPLOAD = "/cpro/transverses/v1/ajouter/fichier"
SUBMIT = "/cpro/factures/v1/soumettre"
FLUX = "/cpro/factures/v1/deposer/flux"


def _ingested(
    tmp_path: Path,
    url: str,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> dict[str, str]:
    """A clean export ingested, and the settings of the deposit processes."""
    folder = tmp_path / "export"
    generate_export(folder, invoices=INVOICES, seed_value=7, today=TODAY)
    configure(monkeypatch, url, simulator)
    if mode == "facturx":
        modes = {siret: "facturx" for siret in (ANTIGONE_SIRET, ARTENREEL_SIRET)}
        monkeypatch.setenv("CHORUS_ETL_DEPOSIT_MODES", json.dumps(modes))
        monkeypatch.setenv("CHORUS_ETL_FLUX_RESEND_GRACE_MINUTES", "0")
    reset_settings_cache()
    report = ingest(folder, today=TODAY)
    assert report["counts"]["state_ready"] == INVOICES
    simulator.control.reset_stats()
    return process_env(
        CHORUS_ETL_DEPOSIT_CONCURRENCY=str(CONCURRENCY),
        CHORUS_ETL_DEPOSIT_RATE_PER_SECOND="1000",
        # A held call must wait for the gate, not time out into an ambiguous outcome.
        CHORUS_ETL_HTTP_TIMEOUT_SECONDS="120",
    )


def _finish(process: subprocess.Popen[bytes], log: Path) -> None:
    assert process.wait(timeout=300) == 0, log.read_text()[-4000:]


def _settle_fluxes(simulator: SimulatorHandle, mode: str) -> None:
    """Factur-X invoices wait in `submitting` for their flux report: time passes, the nightly
    reconciliation follows them."""
    if mode != "facturx":
        return
    simulator_settled(simulator)
    simulator.control.advance(minutes=10)
    reconcile(as_of=TODAY)


def _assert_each_once(url: str, simulator: SimulatorHandle, mode: str) -> None:
    assert states(url) == Counter({"deposited": INVOICES})
    store = simulator.control.store()
    if mode == "facturx":
        received = Counter(f["nomFichier"].split("_")[1] for f in store["flux"])
        assert len(received) == INVOICES
        assert set(received.values()) == {1}, f"fluxes received twice: {received}"
    else:
        sent = Counter(
            {(s["supplier_siret"], s["numeroFacture"]): s["count"] for s in store["submissions"]}
        )
        assert len(sent) == INVOICES
        assert set(sent.values()) == {1}, f"invoices submitted twice: {sent}"
        assert all(a["count"] == 1 for a in store["attempts"]), store["attempts"]
    assert agrees_with_chorus_pro(url, simulator), "the warehouse agrees invoice by invoice"
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            alerts = connection.execute(sa.select(col(Alert.kind), col(Alert.subject))).all()
    finally:
        engine.dispose()
    assert alerts == [], "no failure was alerted"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "engine"), [("pdf", "sqlite"), ("facturx", "postgres")], ids=["pdf", "facturx"]
)
def test_two_overlapping_runs_deposit_each_invoice_once(
    tmp_path: Path,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    mode: str,
    engine: str,
) -> None:
    """With the killed-run test below, each deposit mode overlaps on each engine once."""
    engine_url = str(request.getfixturevalue(f"{engine}_url"))
    env = _ingested(tmp_path, engine_url, simulator, monkeypatch, mode)
    log = tmp_path / "deposit.log"
    simulator.control.close_gate(UPLOAD if mode == "pdf" else FLUX)
    try:
        first = start_deposit(env, log)
        simulator.control.wait_gate(CONCURRENCY)  # the first run is mid-deposit
        second = start_deposit(env, log)
        simulator.control.wait_gate(2 * CONCURRENCY)  # the second too, past its leftover pass
    finally:
        simulator.control.open_gate()
    _finish(first, log)
    _finish(second, log)
    _settle_fluxes(simulator, mode)
    _assert_each_once(engine_url, simulator, mode)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "engine"), [("pdf", "postgres"), ("facturx", "sqlite")], ids=["pdf", "facturx"]
)
def test_a_run_killed_while_another_runs_is_taken_over_by_the_next(
    tmp_path: Path,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    mode: str,
    engine: str,
) -> None:
    """The first run dies with its writes sent (held, then handled): the second, running
    beside it, leaves its claims alone while it lives; the next run finds them on Chorus Pro."""
    url = str(request.getfixturevalue(f"{engine}_url"))
    env = _ingested(tmp_path, url, simulator, monkeypatch, mode)
    log = tmp_path / "deposit.log"
    simulator.control.close_gate(SUBMIT if mode == "pdf" else FLUX)
    try:
        first = start_deposit(env, log)
        simulator.control.wait_gate(CONCURRENCY)
        second = start_deposit(env, log)
        simulator.control.wait_gate(2 * CONCURRENCY)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    finally:
        simulator.control.open_gate()
    _finish(second, log)
    left = states(url)
    assert left["submitting"] >= CONCURRENCY, left  # the killed run's claims, and the fluxes
    simulator_settled(simulator)
    simulator.control.advance(minutes=10)  # time passes: Chorus Pro integrates received fluxes
    _finish(start_deposit(env, log), log)
    _settle_fluxes(simulator, mode)
    _assert_each_once(url, simulator, mode)
