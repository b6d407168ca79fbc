"""Who is working on a claimed row, and whether they still are.

Runs overlap: a deposit started by hand beside the scheduled one, two workers given the same
structure, two hosts on one PostgreSQL. Every claim in the warehouse (an open deposit attempt, an
alert being delivered) therefore records its owner and a lease. A claim is a crash leftover, to be
taken over, only once its owner is gone:

- in the owner's own process, as soon as the run that took it has ended (`Owner.retire`, or the
  owner object was dropped): an exception that ended a run leaves claims nobody will finish;
- on the owner's own host, as soon as its process no longer exists (the process id and its start
  time are part of the owner's name, so a recycled pid does not count as the same process);
- from any other host, once the lease has run out. An owner renews its lease before every call
  that could reach Chorus Pro, so a live run never loses a claim it is using; one that stalls
  longer than the lease finds the claim gone at its next renewal, and sends nothing.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from chorus_etl.errors import RetryLater

__all__ = ["ClaimLost", "Owner", "is_gone"]

#: A claim's owner column is this long at most.
OWNER_LENGTH = 200


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or "" where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: count from its closing one.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""


def _alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not started or _process_start(pid) in ("", started)


#: The owners of this process whose runs are still going, by name.
_LIVE: weakref.WeakValueDictionary[str, Owner] = weakref.WeakValueDictionary()
_LIVE_LOCK = threading.Lock()


def _host() -> str:
    return socket.gethostname()[:80]


@dataclass(eq=False)
class Owner:
    """One run's identity in the claims it takes: `host/pid/start/token`."""

    name: str
    lease: timedelta

    @classmethod
    def start(cls, lease: timedelta) -> Owner:
        """A new owner, alive until `retire` (or until nothing refers to it any more)."""
        pid = os.getpid()
        name = f"{_host()}/{pid}/{_process_start(pid)}/{uuid.uuid4().hex[:12]}"[:OWNER_LENGTH]
        owner = cls(name, lease)
        with _LIVE_LOCK:
            _LIVE[name] = owner
        return owner

    def retire(self) -> None:
        """The run is over: what it still holds is a leftover for the next run to take over."""
        with _LIVE_LOCK:
            _LIVE.pop(self.name, None)

    def until(self, now: datetime) -> datetime:
        return now + self.lease


class ClaimLost(RetryLater):
    """What a run held is no longer its own: its lease ran out and another run took it over.
    Nothing is lost: that other run carries on with it."""


def is_gone(owner: str | None, lease_until: datetime | None, now: datetime) -> bool:
    """Whether a claim's owner can no longer act on it (so the claim may be taken over)."""
    if owner is None or lease_until is None:
        return True
    host, _, rest = owner.partition("/")
    pid_text, _, rest = rest.partition("/")
    started, _, _token = rest.partition("/")
    if host == _host() and pid_text.isdigit():
        if int(pid_text) == os.getpid():
            with _LIVE_LOCK:
                return owner not in _LIVE
        # Same host: the process table is the truth, whatever the lease says.
        return not _alive(int(pid_text), started)
    return lease_until < now
