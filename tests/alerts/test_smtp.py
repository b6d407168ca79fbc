"""Real SMTP through apprise's mailto plugin, against aiosmtpd servers on local ports."""

from __future__ import annotations

import email
from collections.abc import Callable
from email.policy import default
from pathlib import Path

from sqlalchemy.engine import Engine

from chorus_etl.settings import Settings
from tasks.alerts.sender import EmlOutbox, channels_for, send_pending
from tests.alerts.helpers import (
    ACCOUNTING,
    FROM,
    Collector,
    add_alert,
    alerts,
    free_port,
    free_ports,
    webhook,
)

StartServer = Callable[[int], Collector]


def _settings(*ports: int, query: str = "") -> Settings:
    return Settings(alert_urls=[f"mailto://127.0.0.1:{port}{query}" for port in ports])


def _send(engine: Engine, settings: Settings) -> dict[str, object]:
    return send_pending(engine, channels_for(settings), emit=lambda a, d: None).as_dict()


def test_each_alert_reaches_its_own_recipient_in_french(
    warehouse: Engine, smtp_server: StartServer
) -> None:
    port = free_port()
    inbox = smtp_server(port)
    add_alert(warehouse, "FA-1", recipient="elodie@example.fr")
    add_alert(warehouse, "FA-1", audience="accounting", recipient=ACCOUNTING)
    # A target written in the URL must not receive the entrepreneurs' messages.
    settings = _settings(port, query="?to=someone-else@example.org")

    summary = _send(warehouse, settings)

    assert summary["sent"] == 2 and summary["pending_left"] == 0
    assert [(m.mail_from, m.rcpt_tos) for m in inbox.received] == [
        (FROM, ["elodie@example.fr"]),
        (FROM, [ACCOUNTING]),
    ]
    first = inbox.received[0]
    row = alerts(warehouse)[0]
    assert first.message["From"] == FROM
    assert first.message["To"] == "elodie@example.fr"
    assert first.message["Subject"] == row.subject
    assert "rejetée" in row.subject
    assert first.message["Auto-Submitted"] == "auto-generated"
    assert first.message.get_body(("plain",)) is not None
    assert "Bonjour Élodie Légère," in first.text
    assert "Montant TTC : 1\u00a0234,56\u00a0€" in first.text
    assert first.text.strip() == row.body.strip()


def test_down_server_keeps_alerts_then_delivers_each_exactly_once(
    warehouse: Engine, smtp_server: StartServer
) -> None:
    port = free_port()
    add_alert(warehouse, "FA-1")
    add_alert(warehouse, "FA-2", recipient="bruno@example.fr")
    settings = _settings(port)

    down = _send(warehouse, settings)

    assert (down["sent"], down["failed"], down["pending_left"]) == (0, 2, 2)
    for row in alerts(warehouse):
        assert row.status == "pending" and row.attempts == 1 and row.sent_at is None
        assert f"mailto://127.0.0.1:{port}" in (row.last_error or "")
        assert "Connection refused" in (row.last_error or "")

    inbox = smtp_server(port)
    back = _send(warehouse, settings)

    assert (back["sent"], back["failed"], back["pending_left"]) == (2, 0, 0)
    assert sorted(r for m in inbox.received for r in m.rcpt_tos) == [
        "bruno@example.fr",
        "elodie@example.fr",
    ]
    assert {(r.status, r.attempts, r.last_error) for r in alerts(warehouse)} == {("sent", 2, None)}

    third = _send(warehouse, settings)

    assert third["sent"] == 0 and len(inbox.received) == 2


def test_one_unreachable_server_neither_blocks_nor_repeats_the_other(
    warehouse: Engine, smtp_server: StartServer
) -> None:
    live_port, dead_port = free_ports(2)
    live = smtp_server(live_port)
    add_alert(warehouse, "FA-1")
    settings = _settings(dead_port, live_port)

    assert _send(warehouse, settings)["pending_left"] == 1
    assert _send(warehouse, settings)["pending_left"] == 1
    assert len(live.received) == 1

    revived = smtp_server(dead_port)
    last = _send(warehouse, settings)

    assert last["sent"] == 1 and last["pending_left"] == 0
    assert (len(live.received), len(revived.received)) == (1, 1)
    (row,) = alerts(warehouse)
    assert row.status == "sent" and row.attempts == 3


def test_chat_urls_get_the_subject_as_title_and_the_body(
    warehouse: Engine, smtp_server: StartServer
) -> None:
    """apprise's json:// stands for Mattermost or Slack: same plugin interface, local server."""
    port = free_port()
    inbox = smtp_server(port)
    add_alert(warehouse, "FA-1")
    with webhook() as posts:
        settings = Settings(
            alert_urls=[f"mailto://127.0.0.1:{port}", f"json://127.0.0.1:{posts.port}/hook"]
        )
        summary = _send(warehouse, settings)

    assert summary["sent"] == 1
    (row,) = alerts(warehouse)
    (post,) = posts.received
    assert (post["title"], post["message"]) == (row.subject, row.body)
    assert len(inbox.received) == 1


def test_a_line_break_in_a_header_never_blocks_an_alert(
    warehouse: Engine, smtp_server: StartServer, tmp_path: Path
) -> None:
    """A buyer's name from a multi-line spreadsheet cell made the subject refused on every run
    (`Header values may not contain linefeed`), the alert pending for ever: now it goes on one
    line, by SMTP and as an .eml file, and so do the alerts around it."""
    port = free_port()
    inbox = smtp_server(port)
    add_alert(warehouse, "FA-1", buyer_name="Mairie de\r\nMontreuil\nBcc: evil@example.org")
    add_alert(warehouse, "FA-2", recipient="bruno@example.fr\r\n")
    add_alert(warehouse, "FA-3", recipient="chloe@example.fr")
    outbox = tmp_path / "outbox"
    channels = [*channels_for(_settings(port)), EmlOutbox(outbox, FROM)]

    summary = send_pending(warehouse, channels, emit=lambda a, d: None).as_dict()

    assert (summary["sent"], summary["failed"], summary["pending_left"]) == (3, 0, 0)
    assert {(row.status, row.last_error) for row in alerts(warehouse)} == {("sent", None)}
    assert [m.rcpt_tos for m in inbox.received] == [
        ["elodie@example.fr"],
        ["bruno@example.fr"],
        ["chloe@example.fr"],
    ]
    files = sorted(outbox.glob("*.eml"))
    written = [email.message_from_bytes(f.read_bytes(), policy=default) for f in files]
    assert [m["To"] for m in written] == [
        "elodie@example.fr",
        "bruno@example.fr",
        "chloe@example.fr",
    ]
    subject = (
        "Facture FA-1 a été rejetée par votre client (Mairie de Montreuil Bcc: evil@example.org)"
    )
    for message in (inbox.received[0].message, written[0]):
        assert message["Subject"] == subject
        assert message["Bcc"] is None
