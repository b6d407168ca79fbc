"""Progress of long stages, shown by whoever is watching (the CLI's progress bar), else logged.

A process-wide hook rather than a parameter: flows receive only serialisable parameters, and a
console bar belongs to the command that started the flow, not to the flow.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Reporter(Protocol):
    def start(self, stage: str, total: int) -> None: ...

    def advance(self, stage: str, amount: int = 1) -> None: ...


class _Null:
    def start(self, stage: str, total: int) -> None:
        return None

    def advance(self, stage: str, amount: int = 1) -> None:
        return None


_lock = threading.Lock()
_reporter: Reporter = _Null()


def start(stage: str, total: int) -> None:
    with _lock:
        _reporter.start(stage, total)


def advance(stage: str, amount: int = 1) -> None:
    with _lock:
        _reporter.advance(stage, amount)


@contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    """Routes progress to `reporter` for the duration of the block."""
    global _reporter
    previous, _reporter = _reporter, reporter
    try:
        yield
    finally:
        _reporter = previous
