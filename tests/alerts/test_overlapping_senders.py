"""Two senders at once (the nightly's delivery beside `chorus-etl alerts send`): each alert is
delivered once. Each sender holds the alerts it delivers (`alert.claimed_by`); the other leaves
them alone while it lives, and takes them over only once it is gone."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy.engine import Engine

from chorus_etl.leases import Owner
from tasks.alerts.outbox import ACCOUNTING as ACCOUNTING_AUDIENCE
from tasks.alerts.sender import Outgoing, claim_alerts, send_pending
from tests.alerts.helpers import ACCOUNTING, Recorder, add_alert, alerts


class Held(Recorder):
    """A slow mail server: the first message waits until the test lets it through."""

    def __init__(self) -> None:
        super().__init__("held")
        self.entered = threading.Event()
        self.release = threading.Event()

    def send(self, message: Outgoing) -> None:
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(timeout=60), "the test never released the first sender"
        super().send(message)


def test_two_senders_at_once_deliver_each_alert_once(any_warehouse: Engine) -> None:
    for n in range(6):
        add_alert(any_warehouse, f"F-{n}", recipient=f"e{n}@example.fr")
    add_alert(any_warehouse, "F-0", audience=ACCOUNTING_AUDIENCE, recipient=ACCOUNTING)
    first, second = Held(), Recorder("beside")
    errors: list[BaseException] = []

    def run_first() -> None:
        try:
            send_pending(any_warehouse, [first])
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert first.entered.wait(timeout=60)  # the first sender is mid-delivery
        send_pending(any_warehouse, [second])
    finally:
        first.release.set()
        thread.join(timeout=60)
    assert not errors, errors
    delivered = Counter(m.key for m in first.messages + second.messages)
    assert len(delivered) == 7
    assert set(delivered.values()) == {1}, f"delivered twice: {delivered}"
    assert len(first.messages) >= 1 and len(second.messages) >= 1, "both really ran"
    assert {a.status for a in alerts(any_warehouse)} == {"sent"}
    assert all(a.claimed_by is None for a in alerts(any_warehouse))


def test_an_alert_held_by_a_sender_that_is_gone_is_taken_over(any_warehouse: Engine) -> None:
    alert_id = add_alert(any_warehouse, "F-9")
    gone = Owner.start(timedelta(minutes=10))
    assert claim_alerts(any_warehouse, [alert_id], gone) == {alert_id}
    alive = Owner.start(timedelta(minutes=10))
    assert claim_alerts(any_warehouse, [alert_id], alive) == set(), "held by a live sender"
    gone.retire()  # its run ended without delivering (an exception)
    recorder = Recorder()
    send_pending(any_warehouse, [recorder])
    assert [m.subject for m in recorder.messages] == [alerts(any_warehouse)[0].subject]
    assert alerts(any_warehouse)[0].status == "sent"
