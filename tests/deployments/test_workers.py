"""Scale-out as production runs it: a Prefect server on PostgreSQL, a process pool, two workers.

Six supplier structures of two cooperatives, each with its own technical account, share two PISTE
applications whose quota the simulator enforces. The nightly deployment, with fan-out on, starts
one `reconcile-structure` run per structure; the two workers share them. The test shows each
structure reconciled exactly once, by runs on both workers, no application ever above its rate
(the simulator counts requests per client id in every sliding second), and the PostgreSQL
warehouse holding exactly what Chorus Pro holds.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from chorus_etl import db
from chorus_etl.pacing import gcl_name
from chorus_pro.simulator import SimulatorHandle, run_simulator_in_thread, seed
from schemas.warehouse import Invoice, PipelineRun
from tests.deployments.processes import PrefectServer, Process, prefect_server, start, wait_for
from tests.fixtures.cooperatives import Cooperatives

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFECT_FILE = REPO_ROOT / "deployments" / "prefect.yaml"
POOL = "chorus-etl"
WORKERS = ("worker-a", "worker-b")
#: Slots per worker: with the nightly run holding one, neither worker alone can take all six.
WORKER_LIMIT = 3
#: The simulator's quota per application, which the pipeline is told too (accounts file).
RATE = 4.0
INVOICES_PER_STRUCTURE = 3
RUN_SECONDS = 420.0
SIRETS = [s.siret for s in (*seed.COOPRODUCTION_SUPPLIERS, *seed.LOIRE_OCEAN_SUPPLIERS)]
FINAL = {StateType.COMPLETED, StateType.CANCELLED, StateType.FAILED, StateType.CRASHED}


@pytest.fixture
def prefect_database(postgres_server: Engine) -> Iterator[str]:
    """An empty PostgreSQL database for the Prefect server itself (asyncpg, as Prefect wants)."""
    name = f"prefect_test_{uuid.uuid4().hex[:12]}"
    with postgres_server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(str(postgres_server.url)).set(drivername="postgresql+asyncpg", database=name)
    yield url.render_as_string(hide_password=False)
    with postgres_server.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def coops() -> Cooperatives:
    return Cooperatives(SIRETS, rate_per_second=RATE, simulator_rate_limit=RATE)


@pytest.fixture
def chorus(coops: Cooperatives) -> Iterator[SimulatorHandle]:
    with run_simulator_in_thread(coops.simulator_config(clock_start="2026-11-02")) as handle:
        yield handle


@pytest.fixture
def server(tmp_path: Path, prefect_database: str) -> Iterator[PrefectServer]:
    with prefect_server(tmp_path / "prefect", prefect_database) as running:
        yield running


def _pipeline_env(
    server: PrefectServer,
    coops: Cooperatives,
    chorus: SimulatorHandle,
    warehouse_url: str,
    folder: Path,
) -> dict[str, str]:
    """What every worker (and so every flow run it starts) runs with; secrets as environment."""
    settings = {
        "DATABASE_URL": warehouse_url,
        "CHORUS_ENV": "simulator",
        "CHORUS_API_URL": chorus.base_url,
        "CHORUS_OAUTH_URL": chorus.oauth_url,
        "ACCOUNTS_FILE": str(coops.write(folder)),
        "FAN_OUT": "true",
        "RATE_LIMIT_BACKEND": "prefect",
        "VAR_DIR": str(folder / "var"),
        "INBOX_DIR": str(folder / "inbox"),
        "ALERT_OUTBOX_DIR": str(folder / "outbox"),
        "DASHBOARD_DIR": str(folder / "dashboard"),
        "ARCHIVE_DIR": str(folder / "archive"),
        "ALERT_URLS": "[]",
        "RECONCILE_DETAIL": "false",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "json",
        "HTTP_BACKOFF_BASE_SECONDS": "0.05",
    }
    env = server.client_env(
        CHORUS_ETL_REPO_DIR=str(REPO_ROOT),
        PREFECT_WORKER_QUERY_SECONDS="1",
        **{f"CHORUS_ETL_{k}": v for k, v in settings.items()},
        **coops.environment(),
    )
    # A developer's own settings must not leak into the runs.
    for name in [n for n in env if n.startswith("CHORUS_ETL_") and n[11:] not in settings]:
        if name != "CHORUS_ETL_REPO_DIR":
            del env[name]
    return env


def _seed_invoices(chorus: SimulatorHandle) -> None:
    """Invoices deposited by hand on each structure, then a few days of buyers' processing."""
    buyer = seed.BUYER_NO_REQUIREMENT
    for siret in SIRETS:
        for n in range(INVOICES_PER_STRUCTURE):
            chorus.control.manual_invoice(
                supplier_siret=siret,
                numeroFacture=f"F-{n + 1:03d}",  # the same numbers in every structure
                codeDestinataire=buyer.siret,
                montantHtTotal=100.0 * (n + 1),
                montantTVA=20.0 * (n + 1),
            )
    chorus.control.advance(days=6)


def _deploy(env: dict[str, str], log: Path) -> None:
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"),
            *("--prefect-file", str(PREFECT_FILE.relative_to(REPO_ROOT))),
        ],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log.write_text(completed.stdout + completed.stderr, encoding="utf-8")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]


def _final(client: SyncPrefectClient, run_id: uuid.UUID) -> FlowRun | None:
    run = client.read_flow_run(run_id)
    return run if run.state is not None and run.state.type in FINAL else None


def test_two_workers_share_the_nightly_fan_out_within_each_applications_rate(
    server: PrefectServer,
    coops: Cooperatives,
    chorus: SimulatorHandle,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    env = _pipeline_env(server, coops, chorus, postgres_url, tmp_path)
    _seed_invoices(chorus)
    as_of = date.fromisoformat(chorus.control.clock()["today"])
    chorus.control.reset_stats()

    with (
        temporary_settings({PREFECT_API_URL: server.api_url}),
        get_client(sync_client=True) as client,
    ):
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        _deploy(env, tmp_path / "deploy.log")
        workers: list[Process] = []
        try:
            for name in WORKERS:
                command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL]
                command += ["--type", "process", "--name", name, "--limit", str(WORKER_LIMIT)]
                workers.append(start(command, env, tmp_path, tmp_path / f"{name}.log"))

            nightly = run_deployment(
                "nightly/nightly", parameters={"as_of": as_of.isoformat()}, timeout=0
            )
            assert isinstance(nightly, FlowRun)
            done = wait_for(
                partial(_final, client, nightly.id), RUN_SECONDS, "nightly run", workers[0]
            )
            logs = "\n".join(w.tail(60) for w in workers)
            assert done.state is not None and done.state.type is StateType.COMPLETED, logs

            deployment = client.read_deployment_by_name("reconcile/reconcile-structure")
            children = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
            )
            limits = {
                app: client.read_global_concurrency_limit_by_name(gcl_name(app))
                for app in coops.apps()
            }
        finally:
            for worker in workers:
                worker.stop()

    # Each structure reconciled once, by its own run, and those runs on both workers.
    assert sorted(tuple(c.parameters["supplier_sirets"]) for c in children) == sorted(
        (s,) for s in SIRETS
    )
    assert {c.state.type for c in children if c.state is not None} == {StateType.COMPLETED}
    assert all(c.parent_task_run_id is not None for c in children), "linked to the nightly run"
    ran_on = {c.labels.get("prefect.worker.name") for c in children}
    assert ran_on == set(WORKERS), ran_on

    # One global concurrency limit per PISTE application, shaped after the accounts file.
    assert all(limit.slot_decay_per_second > 0 for limit in limits.values())

    # Never above the quota, and never refused for it.
    by_client = chorus.control.stats()["by_client"]
    for app in coops.apps():
        seen = by_client[coops.client_id(app)]
        assert seen["requests"] > 0, app
        assert seen["max_per_second"] <= RATE, (app, seen)
        assert seen["throttled"] == 0, (app, seen)
    assert by_client[chorus.config.client_id]["requests"] == 0, "nothing via the default app"

    # The warehouse on PostgreSQL holds what Chorus Pro holds, structure by structure.
    remote = {
        (i["supplier_siret"], i["numeroFacture"]): i["statut"]
        for i in chorus.control.store()["invoices"]
    }
    engine = db.make_engine(postgres_url)
    with Session(engine) as session:
        invoices = session.exec(select(Invoice)).all()
        runs = session.exec(select(PipelineRun).order_by(col(PipelineRun.id))).all()
    engine.dispose()
    assert {(i.supplier_siret, i.invoice_number): i.current_status for i in invoices} == remote
    assert len(invoices) == len(SIRETS) * INVOICES_PER_STRUCTURE
    assert {i.cooperative for i in invoices if i.supplier_siret in SIRETS[:4]} == {"cooproduction"}
    assert {i.cooperative for i in invoices if i.supplier_siret in SIRETS[4:]} == {"loire-ocean"}
    reconciles = [r for r in runs if r.flow == "reconcile"]
    assert sorted(str(r.flow_run_id) for r in reconciles) == sorted(str(c.id) for c in children)
    assert {r.outcome for r in runs} == {"completed"}
    assert [r.flow for r in runs if r.flow == "nightly"] == ["nightly"]
