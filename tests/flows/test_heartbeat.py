"""Flow runs still send heartbeats, and no longer wait for the heartbeat thread's sleep to end."""

from __future__ import annotations

import threading
import types
from typing import Any

import pytest
from prefect import flow_engine

import flows
from flows import _heartbeat


class _Engine:
    """What `_send_heartbeats` reads of a flow run engine."""

    heartbeat_seconds = 30
    flow_run = None

    def __init__(self) -> None:
        self.sent = threading.Event()
        self.logger = types.SimpleNamespace(debug=lambda *args, **kwargs: None)

    def _build_heartbeat_event_template(self) -> tuple[dict[str, str], list[Any]]:
        return {"prefect.resource.id": "prefect.flow-run.test"}, []

    def _emit_flow_run_heartbeat(self, resource: dict[str, str], related: list[Any]) -> None:
        self.sent.set()


def test_importing_the_flows_installs_the_unjoined_heartbeats() -> None:
    assert flows.__name__ == "flows"
    assert _heartbeat.installed(), (
        "Prefect's _send_heartbeats no longer takes join_on_exit: every flow call waits for its "
        "heartbeat thread again; see flows/_heartbeat.py"
    )


def test_a_run_sends_its_heartbeat_and_ends_without_joining_the_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    joined: list[float | None] = []

    class Thread(threading.Thread):
        def join(self, timeout: float | None = None) -> None:
            joined.append(timeout)
            super().join(timeout)

    monkeypatch.setattr(
        flow_engine, "threading", types.SimpleNamespace(Thread=Thread, Event=threading.Event)
    )
    engine = _Engine()
    send_heartbeats = getattr(flow_engine, "_send_heartbeats")  # noqa: B009
    with send_heartbeats(engine):
        assert engine.sent.wait(timeout=30), "no heartbeat was sent while the run lived"
    assert joined == []


def test_installing_twice_wraps_once() -> None:
    before = flow_engine._send_heartbeats
    _heartbeat.install()
    assert flow_engine._send_heartbeats is before
