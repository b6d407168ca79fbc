"""Deposit processes and the simulator's quiet moments, for the tests that kill or overlap runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from prefect.settings import PREFECT_API_URL
from sqlmodel import col

from chorus_etl import db
from chorus_pro.simulator import SimulatorHandle
from schemas.warehouse import Invoice


def states(url: str) -> Counter[str]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(col(Invoice.state), sa.func.count()).group_by(col(Invoice.state))
            )
            return Counter({state: int(n) for state, n in rows})
    finally:
        engine.dispose()


def agrees_with_chorus_pro(url: str, simulator: SimulatorHandle) -> bool:
    """The warehouse's Chorus ids, invoice by invoice, are the simulator's."""
    remote = {
        (i["supplier_siret"], i["numeroFacture"]): i["identifiantFactureCPP"]
        for i in simulator.control.store()["invoices"]
    }
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            local = {
                (s, n): cid
                for s, n, cid in connection.execute(
                    sa.select(
                        col(Invoice.supplier_siret),
                        col(Invoice.invoice_number),
                        col(Invoice.chorus_invoice_id),
                    )
                )
            }
    finally:
        engine.dispose()
    return local == remote


def process_env(**settings: str) -> dict[str, str]:
    """This test's settings (from the environment `configure` set) for a child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    env["PYTHONFAULTHANDLER"] = "1"  # a crash of a deposit process shows its threads in the log
    env.update(settings)
    return env


def start_deposit(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "deposit", "--json"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def simulator_settled(simulator: SimulatorHandle) -> None:
    """Waits until no request is still being handled: a killed deposit's last call may still be
    running in the simulator, and a flux it lands after the clock moved would stay pending, so
    absent from the next run's search although received (a real gap of minutes, not of test
    milliseconds: what `CHORUS_ETL_FLUX_RESEND_GRACE_MINUTES` stands for in production)."""
    deadline = time.monotonic() + 60
    seen: tuple[int, int] | None = None
    while time.monotonic() < deadline:
        stats = simulator.control.stats()
        now = (stats["total"], stats["in_flight"])
        if now == seen and now[1] == 0:  # idle twice in a row, and nothing new arrived between
            return
        seen = now
        time.sleep(0.05)
    raise AssertionError(f"the simulator never went idle: {seen}")
