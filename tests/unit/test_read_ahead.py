"""`read_ahead`: the same items in the same order, one `next()` at a time, errors where they arose."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from chorus_etl.read_ahead import read_ahead


class _Source:
    """Counts how many `next()` calls run at once and how many items were asked for."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.asked = 0
        self.inside = 0
        self.most_inside = 0
        self.threads: set[str] = set()
        self.lock = threading.Lock()
        self.second_asked = threading.Event()

    def __iter__(self) -> Iterator[int]:
        for index in range(self.count):
            with self.lock:
                self.inside += 1
                self.most_inside = max(self.most_inside, self.inside)
            self.asked += 1
            if self.asked == 2:
                self.second_asked.set()
            self.threads.add(threading.current_thread().name)
            with self.lock:
                self.inside -= 1
            if index == self.fail_at:
                raise ValueError(f"page {index} refused")
            yield index


def test_items_come_in_order_each_asked_for_in_the_worker_one_at_a_time() -> None:
    source = _Source(50)
    assert list(read_ahead(iter(source))) == list(range(50))
    assert source.most_inside == 1
    assert all(name.startswith("read-ahead") for name in source.threads)


def test_the_next_item_is_asked_for_while_the_caller_holds_the_current_one() -> None:
    source = _Source(5)
    items = read_ahead(iter(source))
    assert next(items) == 0
    assert source.second_asked.wait(timeout=30), "item 1 was not asked for in advance"
    assert source.asked == 2
    items.close()


def test_an_error_is_raised_where_its_item_would_have_come_after_the_items_before_it() -> None:
    got: list[int] = []

    def consume() -> None:
        got.extend(read_ahead(iter(_Source(10, fail_at=3))))

    with pytest.raises(ValueError, match="page 3 refused"):
        consume()
    assert got == [0, 1, 2]


def test_a_caller_that_stops_early_leaves_at_most_one_item_asked_in_advance() -> None:
    source = _Source(100)
    for item in read_ahead(iter(source)):
        if item == 4:
            break
    assert source.asked in {5, 6}
