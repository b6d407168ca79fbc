"""Ask for the next item of a slow iterator while the caller works on the current one.

The nightly reconciliation spends about as long waiting for Chorus Pro's search pages as it
does writing what a page says into the warehouse; the two can overlap. Only one `next()` runs at
a time, in one worker thread, so the iterator (and the API client it uses) is never entered
twice at once, and Chorus Pro sees the same sequence of requests as without it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar, cast

__all__ = ["read_ahead"]

T = TypeVar("T")

_END = object()


def read_ahead(items: Iterator[T]) -> Generator[T, None, None]:
    """Yields what `items` yields, its next item already being asked for while the caller
    works on the current one. An exception of `items` is raised here, where the caller reaches
    that item; a caller that stops early waits for the one item asked for in advance."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as pool:

        def step() -> object:
            return next(items, _END)

        def ask() -> Future[object]:
            # A copy of the caller's context: logs stay attached to the caller's run.
            return pool.submit(contextvars.copy_context().run, step)

        pending = ask()
        while True:
            item = pending.result()
            if item is _END:
                return
            pending = ask()
            yield cast(T, item)
