"""Flow-run heartbeats that stop with their run instead of holding its end.

Prefect's synchronous flow engine joins its heartbeat thread when a run ends, and that thread
sleeps in one-second steps, so every flow call waited for the rest of the current second: 0 to
1 s on each ingest, deposit and reconciliation, measured as a third of the nightly
reconciliation's wall time (docs/benchmarks.md). Prefect's asynchronous engine already lets the
thread go (`join_on_exit=False`): once the stop event is set the thread sends nothing more and
ends at its next one-second step. The synchronous engine gets the same here. Heartbeats are still
sent every `PREFECT_FLOWS_HEARTBEAT_FREQUENCY` seconds while the run lives, which is what zombie
detection needs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from prefect import flow_engine

_MARK = "_chorus_etl_unjoined"

SendHeartbeats = Callable[..., AbstractContextManager[None]]


def _unjoined(original: SendHeartbeats) -> SendHeartbeats:
    @contextmanager
    def send_heartbeats(engine: Any, join_on_exit: bool = True) -> Iterator[None]:
        with original(engine, join_on_exit=False):
            yield

    setattr(send_heartbeats, _MARK, True)
    return send_heartbeats


def installed() -> bool:
    return bool(getattr(getattr(flow_engine, "_send_heartbeats", None), _MARK, False))


def install() -> None:
    """Let flow runs end without waiting for their heartbeat thread's sleep.

    Only where Prefect's function still takes `join_on_exit` (3.9); a Prefect that changed it
    keeps its own behaviour, and `tests/flows/test_heartbeat.py` says so.
    """
    original = getattr(flow_engine, "_send_heartbeats", None)
    if original is None or installed():
        return
    if "join_on_exit" not in inspect.signature(original).parameters:
        return
    setattr(flow_engine, "_send_heartbeats", _unjoined(original))  # noqa: B010
