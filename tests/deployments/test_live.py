"""The deployments on a real Prefect server, as production runs them: separate processes over HTTP.

A `prefect server start` subprocess (SQLite in a temporary directory) stands in for the long-lived
server; `deployments/serve.py` runs as its own process against it and executes the runs triggered
here: `daily` fills the warehouse from an export in the inbox (against the session's Chorus Pro
simulator), then `nightly`, triggered twice at once, runs once. `prefect deploy` then registers the
same file for a process work pool. The session's ephemeral harness is not used: every Prefect
client here talks to the real server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.responses import DeploymentResponse
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlmodel import Session, col, select

from chorus_etl import db
from chorus_etl.settings import ANTIGONE_SIRET, ARTENREEL_SIRET
from chorus_pro.simulator import SimulatorHandle
from schemas.warehouse import Invoice, PipelineRun, StatusEvent
from tasks.sample.export import generate_export
from tests.deployments.processes import (
    PrefectServer,
    Process,
    start,
    wait_for,
)
from tests.deployments.processes import (
    prefect_server as start_prefect_server,
)
from tests.flows.helpers import configure

# Each wait below has its own deadline and reports the process output; this is the backstop.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVE_SCRIPT = REPO_ROOT / "deployments" / "serve.py"
PREFECT_FILE = REPO_ROOT / "deployments" / "prefect.yaml"
DEPLOYMENTS = ("nightly", "daily", "backfill-deposits", "backfill-history")
INVOICES = 6
RUN_SECONDS = 150.0
FINAL = {StateType.COMPLETED, StateType.CANCELLED, StateType.FAILED, StateType.CRASHED}


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """`prefect server start` on a fresh SQLite database, for the tests of this module."""
    root = tmp_path_factory.mktemp("prefect-server")
    with start_prefect_server(root, f"sqlite+aiosqlite:///{root / 'prefect.db'}") as server:
        yield server


@pytest.fixture
def api(prefect_server: PrefectServer) -> Iterator[SyncPrefectClient]:
    """A client of the real server for this test process (which has no PREFECT_API_URL)."""
    with (
        temporary_settings({PREFECT_API_URL: prefect_server.api_url}),
        get_client(sync_client=True) as client,
    ):
        yield client


@pytest.fixture
def pipeline_env(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str, simulator: SimulatorHandle, tmp_path: Path
) -> str:
    """Warehouse, simulator and local folders of the pipeline, in this process's environment.

    serve.py runs its flows from the checkout, where a developer's `.env` may point elsewhere: every
    setting that matters here, or that could reach the outside world, is fixed explicitly.
    """
    configure(monkeypatch, sqlite_url, simulator)
    folders = {
        "VAR_DIR": "var",
        "INBOX_DIR": "inbox",
        "ALERT_OUTBOX_DIR": "outbox",
        "ARCHIVE_DIR": "archive",
    }
    for name, folder in folders.items():
        monkeypatch.setenv(f"CHORUS_ETL_{name}", str(tmp_path / folder))
    monkeypatch.setenv("CHORUS_ETL_CHORUS_ENV", "simulator")
    monkeypatch.setenv("CHORUS_ETL_ALERT_URLS", "[]")
    monkeypatch.setenv("CHORUS_ETL_SUPPLIER_SIRETS", json.dumps([ANTIGONE_SIRET, ARTENREEL_SIRET]))
    monkeypatch.setenv("CHORUS_ETL_RECONCILE_DETAIL", "false")
    return sqlite_url


@pytest.fixture
def served(prefect_server: PrefectServer, pipeline_env: str, tmp_path: Path) -> Iterator[Process]:
    """`python deployments/serve.py`, polling every second so the test does not wait 10 s."""
    workdir = tmp_path / "serve"
    workdir.mkdir()
    env = prefect_server.client_env(PREFECT_RUNNER_POLL_FREQUENCY="1")
    process = start([sys.executable, str(SERVE_SCRIPT)], env, workdir, tmp_path / "serve.log")
    try:
        yield process
    finally:
        process.stop()


def _final_run(client: SyncPrefectClient, run_id: UUID) -> FlowRun | None:
    run = client.read_flow_run(run_id)
    return run if run.state is not None and run.state.type in FINAL else None


def _schedules(deployment: DeploymentResponse) -> list[tuple[str, str | None, str | None, bool]]:
    """(cron, timezone, slug, active) of each schedule; every schedule here is a cron one."""
    found = []
    for item in deployment.schedules:
        assert isinstance(item.schedule, CronSchedule), item
        found.append((item.schedule.cron, item.schedule.timezone, item.slug, item.active))
    return found


def _trigger(name: str, parameters: dict[str, Any]) -> FlowRun:
    """`run_deployment` without waiting: the test polls the runs itself, several at once."""
    run = run_deployment(name, parameters=parameters, timeout=0)
    assert isinstance(run, FlowRun)
    return run


def test_serve_runs_daily_then_nightly_once_and_keeps_the_schedules(
    served: Process,
    api: SyncPrefectClient,
    simulator: SimulatorHandle,
    pipeline_env: str,
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    generate_export(inbox / "export-1", invoices=INVOICES, seed_value=7)

    def registered() -> dict[str, DeploymentResponse] | None:
        try:
            return {name: api.read_deployment_by_name(f"{name}/{name}") for name in DEPLOYMENTS}
        except ObjectNotFound:
            return None

    deployments = wait_for(registered, RUN_SECONDS, "serve.py registering", served)
    nightly = deployments["nightly"]
    assert _schedules(nightly) == [("30 4 * * *", "Europe/Paris", "nightly-0430", True)]
    assert nightly.global_concurrency_limit is not None
    assert nightly.global_concurrency_limit.limit == 1
    assert nightly.concurrency_options is not None
    assert nightly.concurrency_options.collision_strategy.value == "CANCEL_NEW"

    # The daily deployment fills the warehouse: ingest of the inbox, deposit, reconcile, alerts.
    daily = _trigger("daily/daily", {"inbox": str(inbox)})
    daily = wait_for(partial(_final_run, api, daily.id), RUN_SECONDS, "daily run", served)
    assert daily.state is not None and daily.state.type is StateType.COMPLETED, daily.state

    # Required parameters are enforced when a run is created, not when the deployment is.
    with pytest.raises(PrefectHTTPStatusError, match="date_from"):
        _trigger("backfill-history/backfill-history", {})

    simulator.control.advance(days=12)
    as_of = date.fromisoformat(simulator.control.clock()["today"])
    engine = db.make_engine(pipeline_env)
    with engine.connect() as connection:
        events_before = connection.execute(
            sa.select(sa.func.count()).select_from(StatusEvent)
        ).scalar_one()

    # Two triggers back to back: the second finds the slot taken and is cancelled (CANCEL_NEW).
    runs = [_trigger("nightly/nightly", {"as_of": as_of.isoformat()}) for _ in range(2)]
    finished = [
        wait_for(partial(_final_run, api, run.id), RUN_SECONDS, "nightly run", served)
        for run in runs
    ]
    by_state = {run.state.type: run for run in finished if run.state is not None}
    assert set(by_state) == {StateType.COMPLETED, StateType.CANCELLED}, [
        (r.name, r.state) for r in finished
    ]
    completed = by_state[StateType.COMPLETED]

    remote = {i["numeroFacture"]: i["statut"] for i in simulator.control.store()["invoices"]}
    with Session(engine) as session:
        invoices = session.exec(select(Invoice).where(col(Invoice.state) == "deposited")).all()
        events_after = len(session.exec(select(StatusEvent)).all())
        runs_logged = session.exec(select(PipelineRun).order_by(col(PipelineRun.id))).all()
    engine.dispose()

    assert len(invoices) == INVOICES, "deposited by the daily run"
    assert events_after > events_before
    assert {i.invoice_number: i.current_status for i in invoices} == {
        i.invoice_number: remote[i.invoice_number] for i in invoices
    }
    assert any(i.current_status != "DEPOSEE" for i in invoices)
    top_level = [(r.flow, r.outcome, r.flow_run_id) for r in runs_logged if r.flow in DEPLOYMENTS]
    assert top_level == [
        ("daily", "completed", str(daily.id)),
        ("nightly", "completed", str(completed.id)),
    ]

    # Stopping serve.py (a restart, a host reboot) leaves the schedules active.
    assert served.stop() == 0, served.tail()
    for name in ("nightly", "daily"):
        after = api.read_deployment_by_name(f"{name}/{name}")
        assert _schedules(after) == _schedules(deployments[name])
        assert all(active for *_, active in _schedules(after))


def test_prefect_deploy_accepts_the_file(
    prefect_server: PrefectServer, api: SyncPrefectClient
) -> None:
    """`prefect deploy --all` from the repository root, as docs/deployment.md says."""
    try:
        api.read_work_pool("chorus-etl")
    except ObjectNotFound:
        api.create_work_pool(WorkPoolCreate(name="chorus-etl", type="process"))
    env = prefect_server.client_env()
    env.pop("CHORUS_ETL_REPO_DIR", None)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "prefect",
            "--no-prompt",
            "deploy",
            "--all",
            "--prefect-file",
            str(PREFECT_FILE.relative_to(REPO_ROOT)),
        ],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-4000:]

    for name in DEPLOYMENTS:
        deployment = api.read_deployment_by_name(f"{name}/{name}")
        assert deployment.work_pool_name == "chorus-etl"
        # Left for the worker to fill from its own environment.
        assert deployment.pull_steps == [
            {
                "prefect.deployments.steps.set_working_directory": {
                    "directory": "{{ $CHORUS_ETL_REPO_DIR }}"
                }
            }
        ]
        assert deployment.global_concurrency_limit is not None
        assert deployment.global_concurrency_limit.limit == 1
    nightly = api.read_deployment_by_name("nightly/nightly")
    assert _schedules(nightly) == [("30 4 * * *", "Europe/Paris", "nightly-0430", True)]
    assert nightly.concurrency_options is not None
    assert nightly.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    history = api.read_deployment_by_name("backfill-history/backfill-history")
    assert history.schedules == []
    assert history.parameter_openapi_schema is not None
    assert set(history.parameter_openapi_schema["required"]) == {"date_from", "date_to"}
