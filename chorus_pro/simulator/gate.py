"""A gate that holds API requests until a test opens it: a barrier, not a sleep.

Tests of overlapping runs need one run caught in the middle of its work (its uploads or its
`soumettre` sent, no answer yet) while another starts. Closing the gate on some path prefixes
holds every matching request before it is handled; a test waits, server side, until so many are
held, does what it needs (starts a second run, kills the first), then opens the gate and the
held requests are handled as if they had just arrived.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

__all__ = ["Gate"]


@dataclass
class Gate:
    paths: list[str] = field(default_factory=list)
    held: int = 0
    #: Requests held since the gate last closed, passed or not.
    caught: int = 0
    _opened: asyncio.Event | None = None
    _changed: asyncio.Condition | None = None

    def _events(self) -> tuple[asyncio.Event, asyncio.Condition]:
        # Made on first use, inside the server's event loop.
        if self._opened is None or self._changed is None:
            self._opened = asyncio.Event()
            self._opened.set()
            self._changed = asyncio.Condition()
        return self._opened, self._changed

    @property
    def closed(self) -> bool:
        return bool(self.paths)

    def close(self, paths: list[str]) -> None:
        opened, _ = self._events()
        self.paths, self.caught = list(paths), 0
        opened.clear()

    def open(self) -> None:
        opened, _ = self._events()
        self.paths = []
        opened.set()

    async def pass_through(self, path: str) -> None:
        """Returns at once unless the gate is closed on `path`; then once it opens."""
        if not any(path.startswith(prefix) for prefix in self.paths):
            return
        opened, changed = self._events()
        async with changed:
            self.held += 1
            self.caught += 1
            changed.notify_all()
        try:
            await opened.wait()
        finally:
            async with changed:
                self.held -= 1
                changed.notify_all()

    async def wait_caught(self, count: int, timeout: float) -> bool:
        """Until `count` requests have been caught since the gate closed; False on timeout."""
        _, changed = self._events()
        async with changed:
            try:
                await asyncio.wait_for(
                    changed.wait_for(lambda: self.caught >= count), timeout=timeout
                )
            except TimeoutError:
                return False
        return True

    def as_json(self) -> dict[str, object]:
        return {"paths": list(self.paths), "held": self.held, "caught": self.caught}
