"""Alerts that cannot be delivered are a bounded wait: past it, accounting hears of it once.

Real SMTP (aiosmtpd) through apprise; the bound in runs (send runs), so no clock is needed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from chorus_etl.config import reset_settings_cache
from chorus_etl.settings import Settings
from cli import app
from tasks.alerts import stalls
from tasks.alerts.sender import EmlOutbox, SendSummary, channels_for, send_pending
from tests.alerts.helpers import (
    ACCOUNTING,
    FROM,
    RefusingCollector,
    StartServer,
    add_alert,
    alerts,
    free_port,
)

BOUNDS = stalls.WaitBounds(after=timedelta(days=30), runs=2)
GONE = "parti@example.fr"


def _send(engine: Engine, port: int, outbox: Path) -> SendSummary:
    settings = Settings(alert_urls=[f"mailto://127.0.0.1:{port}"])
    return send_pending(
        engine,
        channels_for(settings),
        emit=lambda a, d: None,
        bounds=BOUNDS,
        fallback=EmlOutbox(outbox, FROM),
        settings=settings,
    )


def test_an_alert_refused_run_after_run_is_reported_to_accounting_once(
    warehouse: Engine, smtp_server: StartServer, tmp_path: Path
) -> None:
    port = free_port()
    inbox = smtp_server(port, RefusingCollector(refused=frozenset({GONE})))
    add_alert(warehouse, "FA-1", recipient=GONE)

    within = [_send(warehouse, port, tmp_path) for _ in range(2)]
    quiet = list(inbox.received)
    past = [_send(warehouse, port, tmp_path) for _ in range(3)]

    assert quiet == [] and [s.undeliverable for s in within] == [0, 0]
    assert [s.undeliverable for s in past] == [1, 1, 1]
    (report,) = inbox.received
    assert report.rcpt_tos == [ACCOUNTING]
    assert "alerte(s) impossibles à envoyer" in report.message["Subject"]
    assert f"pour {GONE}" in report.text and "Mailbox unavailable" in report.text
    (copy,) = tmp_path.glob("*.eml")
    assert message_from_bytes(copy.read_bytes(), policy=default)["To"] == ACCOUNTING
    statuses = sorted((a.kind, a.status) for a in alerts(warehouse))
    assert statuses == [("rejetee", "pending"), ("stalled_alert", "sent")]


def test_when_accounting_s_own_channel_fails_the_report_is_a_file_and_never_loops(
    warehouse: Engine, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens: every message fails, accounting's too
    add_alert(warehouse, "FA-1")

    summaries = [_send(warehouse, port, tmp_path) for _ in range(6)]

    assert [s.undeliverable for s in summaries] == [0, 0, 1, 1, 1, 1]
    kinds = sorted(a.kind for a in alerts(warehouse))
    assert kinds == ["rejetee", "stalled_alert"], "the report of a failure is not reported"
    (copy,) = tmp_path.glob("*.eml")
    text = copy.read_text(encoding="utf-8")
    assert f"To: {ACCOUNTING}" in text and "Connection refused" in text
    assert [w.kind for w in stalls.list_waits(warehouse)] == ["alert"]


def test_a_delivered_alert_ends_its_wait(
    warehouse: Engine, smtp_server: StartServer, tmp_path: Path
) -> None:
    port = free_port()
    add_alert(warehouse, "FA-1")
    _send(warehouse, port, tmp_path)
    waiting = stalls.list_waits(warehouse, stalls.ALERT)

    inbox = smtp_server(port)
    back = _send(warehouse, port, tmp_path)

    assert len(waiting) == 1 and back.sent == 1 and len(inbox.received) == 1
    assert stalls.list_waits(warehouse) == []
    assert list(tmp_path.glob("*.eml")) == []


def test_chorus_etl_waits_lists_the_undelivered_alert_and_its_error(
    warehouse: Engine, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHORUS_ETL_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CHORUS_ETL_WAIT_ALERT_AFTER_RUNS", str(BOUNDS.runs))
    reset_settings_cache()
    runner = CliRunner()
    empty = runner.invoke(app, ["waits"])
    port = free_port()
    add_alert(warehouse, "FA-1")
    for _ in range(3):
        _send(warehouse, port, tmp_path)

    listed = runner.invoke(app, ["waits", "--json", "--kind", "alert"])
    human = runner.invoke(app, ["waits"])

    assert empty.exit_code == 0 and "nothing is waiting" in empty.stdout
    assert listed.exit_code == 0, listed.output
    (wait,) = json.loads(listed.stdout)
    assert (wait["kind"], wait["runs"], wait["over_bound"]) == ("alert", 3, True)
    assert wait["alerted_at"] is not None and "Connection refused" in wait["last_error"]
    assert "alerted" in human.stdout and "1 waiting" in human.stdout
    assert runner.invoke(app, ["waits", "--kind", "nope"]).exit_code == 2
