"""Child processes of the deployment tests: a real Prefect server, serve.py, workers.

Each wait has its own deadline and shows the process's output when it fails, so that a test
that cannot start its server says why instead of timing out.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

SERVER_START_SECONDS = 180.0

T = TypeVar("T")


@dataclass
class Process:
    """A child process, its combined output file, and a way to show that output on failure."""

    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace_seconds: float = 20.0) -> int:
        """SIGTERM first: serve.py and the server shut down cleanly on it."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        return self.popen.returncode


def start(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> Process:
    with log.open("wb") as output:
        popen = subprocess.Popen(command, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)
    return Process(popen, log)


def wait_for(
    probe: Callable[[], T | None], seconds: float, what: str, process: Process | None = None
) -> T:
    """Polls until `probe` returns something, the deadline passes or the process dies."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.popen.poll() is not None:
            pytest.fail(f"{what}: process exited ({process.popen.returncode})\n{process.tail()}")
        value = probe()
        if value is not None:
            return value
        time.sleep(0.25)
    pytest.fail(f"{what}: not within {seconds:.0f} s\n{process.tail() if process else ''}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prefect_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment (telemetry off, see conftest) with a Prefect home of its own."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    home.mkdir(parents=True, exist_ok=True)
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    env.update(extra)
    return env


@dataclass
class PrefectServer:
    """Where the server answers, its process, and the Prefect home its clients share."""

    api_url: str
    process: Process
    client_home: Path

    def client_env(self, **extra: str) -> dict[str, str]:
        """The environment of a process that talks to this server."""
        return prefect_env(self.client_home, PREFECT_API_URL=self.api_url, **extra)


@contextmanager
def prefect_server(root: Path, database_url: str) -> Iterator[PrefectServer]:
    """`prefect server start` (API only) on `database_url`, stopped on exit."""
    port = free_port()
    env = prefect_env(
        root / "server-home",
        PREFECT_SERVER_DATABASE_CONNECTION_URL=database_url,
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
    )
    # The API alone: runs, states and concurrency are decided by it. The background services
    # (the scheduler among them) only cost CPU here; schedules are read back, not awaited.
    command = [sys.executable, "-m", "prefect", "server", "start", "--no-services"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    process = start(command, env, root, root / "server.log")
    base = f"http://127.0.0.1:{port}/api"

    def healthy() -> bool | None:
        try:
            return httpx.get(f"{base}/health", timeout=2).status_code == 200 or None
        except httpx.TransportError:
            return None

    try:
        wait_for(healthy, SERVER_START_SECONDS, "prefect server start", process)
        yield PrefectServer(base, process, root / "client-home")
    finally:
        process.stop()
