"""`chorus-etl complete` and `recycle` killed with their request in flight: the attempt was
committed before the call, and running the same command again settles it from the invoice's
status history, so Chorus Pro gets the action exactly once whether the kill came before the
call left (it is sent then) or after (it is not sent again).

The simulator's gate holds the request the killed process made, then lets it through after the
kill: a barrier, not a sleep.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chorus_etl import db
from chorus_pro.simulator import SimulatorHandle
from schemas.warehouse import ReturnAction
from tests.chaos.helpers import process_env, simulator_settled
from tests.flows.helpers import configure, rows_of
from tests.returns.conftest import (
    COMPLETER,
    RECYCLER,
    UPLOAD,
    chorus_client,
    document,
    returned,
)


def _command(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *args, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("ab"),
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "held"),
    [("complete", UPLOAD), ("complete", COMPLETER), ("recycle", RECYCLER)],
    ids=["complete-killed-before-the-call", "complete-killed-after-the-call", "recycle"],
)
def test_a_killed_command_run_again_reaches_chorus_pro_once(
    tmp_path: Path,
    simulator: SimulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    held: str,
) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    status = "SUSPENDUE" if kind == "complete" else "A_RECYCLER"
    client = chorus_client(simulator)
    r = returned(engine, client, simulator, "K-001", status)
    configure(monkeypatch, url, simulator)
    env = process_env(CHORUS_ETL_HTTP_TIMEOUT_SECONDS="120")
    if kind == "complete":
        args = ["complete", "K-001", "--attach", str(document(tmp_path, "bl.pdf"))]
    else:
        args = ["recycle", "K-001", "--service", "28E"]
    log = tmp_path / "command.log"

    simulator.control.close_gate(held)
    try:
        killed = _command(args, env, log)
        simulator.control.wait_gate(1)  # committed, and its call on the way
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=60)
    finally:
        simulator.control.open_gate()
    simulator_settled(simulator)
    (left,) = rows_of(url, ReturnAction)
    assert left.state == "pending", "the attempt was committed before the call"

    again = _command(args, env, log)
    output, _ = again.communicate(timeout=300)
    assert again.returncode == 0, log.read_text()[-3000:]

    summary = json.loads(output)
    (outcome,) = summary["outcomes"]
    assert outcome["result"] == "done"
    (action,) = rows_of(url, ReturnAction)
    assert (action.id, action.state, action.attempts) == (left.id, "done", 1)
    write = COMPLETER if kind == "complete" else RECYCLER
    assert r.calls(write) == 1, "Chorus Pro was asked once"
    assert r.actions_on_chorus() == ["COMPLETER" if kind == "complete" else "RECYCLER"]
    client.close()
    engine.dispose()
