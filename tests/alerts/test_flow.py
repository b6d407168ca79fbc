"""The `send-alerts` flow and `chorus-etl alerts send`, through the real Prefect engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from chorus_etl.config import reset_settings_cache
from cli.alerts import app
from flows.alerts import send_alerts
from schemas.warehouse import PipelineRun
from tests.alerts.helpers import ACCOUNTING, add_alert, alerts

pytestmark = pytest.mark.prefect


@pytest.fixture
def outbox(
    prefect_harness: None,
    warehouse: Engine,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    folder = tmp_path / "outbox"
    monkeypatch.setenv("CHORUS_ETL_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CHORUS_ETL_ALERT_OUTBOX_DIR", str(folder))
    monkeypatch.setenv("CHORUS_ETL_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("CHORUS_ETL_LOG_FORMAT", "json")
    reset_settings_cache()
    return folder


def test_flow_delivers_pending_alerts_as_eml_and_records_the_run(
    outbox: Path, warehouse: Engine
) -> None:
    add_alert(warehouse, "FA-1")
    add_alert(warehouse, "FA-1", audience="accounting", recipient=ACCOUNTING)
    add_alert(
        warehouse, None, kind="password_expiring", audience="accounting", recipient=ACCOUNTING
    )

    summary = send_alerts()

    assert summary == {
        "sent": 3,
        "failed": 0,
        "pending_left": 0,
        "digests": 0,
        "by_kind": {"rejetee": 2, "password_expiring": 1},
        "undeliverable": 0,
    }
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 3
    assert b"To: elodie@example.fr" in files[0].read_bytes()
    assert {a.status for a in alerts(warehouse)} == {"sent"}
    with Session(warehouse) as session:
        (run,) = session.exec(select(PipelineRun).where(PipelineRun.flow == "send-alerts")).all()
    assert run.outcome == "completed"
    assert json.loads(run.counts_json or "{}")["sent"] == 3

    assert send_alerts()["sent"] == 0
    assert len(sorted(outbox.glob("*.eml"))) == 3


def test_cli_alerts_send_prints_the_summary_as_json(outbox: Path, warehouse: Engine) -> None:
    add_alert(warehouse, "FA-2")

    cli = typer.Typer()
    cli.add_typer(app, name="alerts")

    result = CliRunner().invoke(cli, ["alerts", "send", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sent"] == 1
    assert len(list(outbox.glob("*.eml"))) == 1
