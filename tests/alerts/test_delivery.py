"""Delivery rules: all channels or pending, no repeats per channel, redacted errors, events."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chorus_etl import db
from schemas.warehouse import Alert
from tasks.alerts import sender
from tasks.alerts.sender import (
    BREAKER_FAILURES,
    AppriseChannel,
    PendingAlert,
    Unit,
    delivered_on,
    event_name,
    load_pending,
    plan,
    redact,
    send_pending,
)
from tests.alerts.helpers import ACCOUNTING, FROM, Recorder, add_alert, alerts, free_port

Events = list[tuple[PendingAlert, bool]]


def _pending(
    id_: int, audience: str, recipient: str, kind: str = "rejetee", cooperative: str = "coop"
) -> PendingAlert:
    return PendingAlert(
        id_, f"k{id_}", kind, cooperative, audience, recipient, "s", "b", f"FA-{id_}", "1"
    )


def test_plan_groups_accounting_per_address_and_keeps_creation_order() -> None:
    other = "direction@cooproduction.example"
    alerts_ = [
        _pending(1, "entrepreneur", "a@example.fr"),
        _pending(2, "accounting", ACCOUNTING),
        _pending(3, "accounting", other),
        _pending(4, "accounting", ACCOUNTING),
        _pending(5, "entrepreneur", "b@example.fr"),
        _pending(6, "accounting", ACCOUNTING),
    ]

    units = plan(alerts_, threshold=2)

    assert [([a.id for a in u.alerts], u.digest) for u in units] == [
        ([1], False),
        ([2, 4, 6], True),
        ([3], False),
        ([5], False),
    ]
    assert all(len(u.alerts) == 1 for u in plan(alerts_, threshold=3))


def test_a_digest_never_mixes_two_cooperatives_sharing_an_address() -> None:
    alerts_ = [
        _pending(1, "accounting", ACCOUNTING, cooperative="antigone"),
        _pending(2, "accounting", ACCOUNTING, cooperative="artenreel"),
        _pending(3, "accounting", ACCOUNTING, cooperative="antigone"),
        _pending(4, "accounting", ACCOUNTING, cooperative="artenreel"),
        _pending(5, "accounting", ACCOUNTING, cooperative="antigone"),
    ]

    units = plan(alerts_, threshold=2)

    assert [([a.id for a in u.alerts], u.digest) for u in units] == [
        ([1, 3, 5], True),
        ([2], False),
        ([4], False),
    ]


def test_event_names() -> None:
    assert event_name(_pending(1, "accounting", ACCOUNTING, "rejetee")) == "chorus.invoice.rejected"
    assert (
        event_name(_pending(1, "accounting", ACCOUNTING, "rejected")) == "chorus.invoice.rejected"
    )
    assert (
        event_name(_pending(1, "accounting", ACCOUNTING, "deposit_refused"))
        == "chorus.invoice.deposit-refused"
    )
    assert event_name(_pending(1, "accounting", ACCOUNTING, "A_RECYCLER")) == (
        "chorus.invoice.to-recycle"
    )
    no_invoice = PendingAlert(
        1, "k", "password_expiring", "coop", "accounting", ACCOUNTING, "s", "b"
    )
    assert event_name(no_invoice) == "chorus.alert.password-expiring"


def test_a_refusing_channel_keeps_the_row_and_the_others_are_not_repeated(
    any_warehouse: Engine,
) -> None:
    warehouse = any_warehouse
    add_alert(warehouse, "FA-1")
    chat, mail = Recorder("chat"), Recorder("mail", down=True)
    events: Events = []

    first = send_pending(warehouse, [chat, mail], emit=lambda a, d: events.append((a, d)))

    assert (first.sent, first.failed, first.pending_left) == (0, 1, 1)
    (row,) = alerts(warehouse)
    assert row.status == "pending" and row.attempts == 1
    with Session(warehouse) as session:
        assert delivered_on(session, [row.id or 0]) == {row.id: {"chat"}}
    assert "recorder://mail: OSError: recorder://mail is down" in (row.last_error or "")
    assert events == []

    mail.down = False
    second = send_pending(warehouse, [chat, mail], emit=lambda a, d: events.append((a, d)))

    assert (second.sent, second.failed, second.pending_left) == (1, 0, 0)
    assert (len(chat.messages), len(mail.messages)) == (1, 1)
    (row,) = alerts(warehouse)
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    assert [(a.id, d) for a, d in events] == [(row.id, False)]


def test_a_failing_channel_is_not_hammered_for_the_rest_of_the_run(warehouse: Engine) -> None:
    for number in ("FA-1", "FA-2", "FA-3", "FA-4", "FA-5"):
        add_alert(warehouse, number)
    mail = Recorder("mail", down=True)

    summary = send_pending(warehouse, [mail], emit=lambda a, d: None)

    assert mail.calls == BREAKER_FAILURES
    assert summary.failed == 5 and summary.pending_left == 5
    assert {(r.attempts, r.status) for r in alerts(warehouse)} == {(1, "pending")}
    last_errors = [r.last_error or "" for r in alerts(warehouse)]
    assert all("recorder://mail is down" in e for e in last_errors)
    assert last_errors[-1].startswith(f"not tried after {BREAKER_FAILURES} failures in a row")


def test_rows_sent_meanwhile_by_another_run_are_skipped(any_warehouse: Engine) -> None:
    warehouse = any_warehouse
    add_alert(warehouse, "FA-1")
    (pending,) = load_pending(warehouse)
    with Session(warehouse) as session:
        row = session.get(Alert, pending.id)
        assert row is not None
        row.status = "sent"
        session.add(row)
        session.commit()
    recorder = Recorder()
    run = sender.DeliveryRun(channels=[recorder], summary=sender.SendSummary())

    sender.deliver_unit(warehouse, Unit(alerts=(pending,)), run, lambda a, d: None)

    assert recorder.calls == 0 and run.summary.sent == 0


def test_events_carry_the_invoice_and_their_failure_never_stops_delivery(
    warehouse: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_alert(warehouse, "FA-9", kind="deposit_refused")
    add_alert(warehouse, "FA-10")
    emitted: list[dict[str, Any]] = []

    def fake_emit(**kwargs: Any) -> None:
        emitted.append(kwargs)
        raise RuntimeError("events API down")

    monkeypatch.setattr(sender, "emit_event", fake_emit)

    summary = send_pending(warehouse, [Recorder()])

    assert summary.sent == 2
    first = emitted[0]
    assert first["event"] == "chorus.invoice.deposit-refused"
    assert first["resource"]["prefect.resource.id"] == f"chorus.alert.{alerts(warehouse)[0].id}"
    assert first["resource"]["chorus.invoice.number"] == "FA-9"
    assert first["payload"] == {"digest": False, "sent": True}
    assert emitted[1]["event"] == "chorus.invoice.rejected"


def test_redact_removes_url_passwords_in_every_form() -> None:
    url = "mailtos://bot:p%40ss-w0rd!@smtp.example.org:465?mode=ssl"
    text = f"{url} failed; login p@ss-w0rd! refused (p%40ss-w0rd!); other://u:zz9secret@h/x"

    cleaned = redact(text, [url])

    assert "p@ss-w0rd!" not in cleaned and "p%40ss-w0rd!" not in cleaned
    assert "zz9secret" not in cleaned
    assert "smtp.example.org:465" in cleaned


def test_last_error_never_holds_the_smtp_password(warehouse: Engine) -> None:
    add_alert(warehouse, "FA-1")
    secret = "hunter2-Sup3r"
    url = f"mailto://robot:{secret}@127.0.0.1:{free_port()}?from={FROM}"

    summary = send_pending(warehouse, [AppriseChannel(url, FROM)], emit=lambda a, d: None)

    assert summary.failed == 1
    (row,) = alerts(warehouse)
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error is not None
    assert secret not in row.last_error
    assert "mailto://robot:***" in row.last_error
    assert "Connection refused" in row.last_error


def test_an_invalid_url_fails_visibly_without_losing_the_alert(warehouse: Engine) -> None:
    add_alert(warehouse, "FA-1")

    summary = send_pending(
        warehouse, [AppriseChannel("nosuchscheme://x:pw123456@h", FROM)], emit=lambda a, d: None
    )

    assert summary.failed == 1
    (row,) = alerts(warehouse)
    assert row.status == "pending"
    assert "invalid or unsupported apprise URL" in (row.last_error or "")
    assert "pw123456" not in (row.last_error or "")


@pytest.mark.postgres
def test_rows_another_run_is_delivering_are_left_to_it(postgres_url: str) -> None:
    """PostgreSQL row locks: a concurrent sender skips what the first one holds."""
    db.upgrade(postgres_url)
    engine = db.make_engine(postgres_url)
    try:
        alert_id = add_alert(engine, "FA-1")
        recorder = Recorder()
        with Session(engine) as holder:
            holder.exec(select(Alert).where(Alert.id == alert_id).with_for_update()).one()

            summary = send_pending(engine, [recorder], emit=lambda a, d: None)

        assert recorder.calls == 0
        assert (summary.sent, summary.failed, summary.pending_left) == (0, 0, 1)
        assert send_pending(engine, [recorder], emit=lambda a, d: None).sent == 1
    finally:
        engine.dispose()
