"""Running the simulator: in a background thread, as a separate process, or in the foreground.

Both helpers serve real HTTP on 127.0.0.1 (a client under test goes through its whole transport
stack) and return only once the health check answers, polled against a deadline, never after a
fixed sleep. The thread server binds its socket itself before starting uvicorn, so the port is
known and cannot be taken in between; the process server picks a free port and retries once if
it lost the race for it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import httpx
import uvicorn

from chorus_pro.simulator.app import create_app
from chorus_pro.simulator.config import SimulatorConfig
from chorus_pro.simulator.gateway import HEALTH_CHECK_PATH, TOKEN_PATH

__all__ = [
    "SimulatorControl",
    "SimulatorControlError",
    "SimulatorHandle",
    "SimulatorProcess",
    "free_port",
    "run_simulator_in_thread",
    "serve",
    "start_simulator_process",
    "wait_until_ready",
]

_POLL_INTERVAL = 0.05


class SimulatorControlError(RuntimeError):
    """A `/_sim` request the simulator refused (its `error` message is in the text)."""


class SimulatorControl:
    """A small httpx helper for the `/_sim` endpoints; every method returns the JSON answer."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=timeout, trust_env=False)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._client.request(method, path, json=body)
        if response.status_code >= 400:
            raise SimulatorControlError(
                f"{method} {path} answered {response.status_code}: {response.text}"
            )
        result: dict[str, Any] = response.json()
        return result

    def reset(self) -> dict[str, Any]:
        """Empty store, start-up configuration and faults, clock back to its start."""
        return self._call("POST", "/_sim/reset")

    def store(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/store")

    def config(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/config")

    def set_config(self, **changes: Any) -> dict[str, Any]:
        """Merges `changes` into the running configuration."""
        return self._call("POST", "/_sim/config", changes)

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/faults")

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replaces the fault configuration (no argument: no fault)."""
        return self._call("POST", "/_sim/faults", faults)

    def expire_tokens(self) -> dict[str, Any]:
        """Invalidates every token issued so far; faults are left as configured."""
        return self._call("POST", "/_sim/faults", {"expire_tokens_now": True})

    def clock(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/clock")

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0) -> dict[str, Any]:
        return self._call(
            "POST",
            "/_sim/clock",
            {"advance_days": days, "advance_hours": hours, "advance_minutes": minutes},
        )

    def set_clock(self, moment: str | datetime) -> dict[str, Any]:
        text = moment.isoformat() if isinstance(moment, datetime) else moment
        return self._call("POST", "/_sim/clock", {"set": text})

    def manual_invoice(self, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/_sim/invoices/manual", fields)

    def set_status(self, invoice_id: int, statut: str, commentaire: str = "") -> dict[str, Any]:
        return self._call(
            "POST",
            f"/_sim/invoices/{invoice_id}/status",
            {"statut": statut, "commentaire": commentaire},
        )

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/stats")

    def reset_stats(self) -> dict[str, Any]:
        return self._call("POST", "/_sim/stats/reset")

    def close_gate(self, *paths: str) -> dict[str, Any]:
        """Holds every API request whose path starts with one of `paths` until `open_gate`."""
        return self._call("POST", "/_sim/gate", {"close": list(paths)})

    def open_gate(self) -> dict[str, Any]:
        return self._call("POST", "/_sim/gate", {"open": True})

    def wait_gate(self, caught: int, timeout: float = 60) -> dict[str, Any]:
        """Returns once `caught` requests were held since the gate closed; raises on timeout."""
        return self._call("POST", "/_sim/gate/wait", {"caught": caught, "timeout": timeout})

    def close(self) -> None:
        self._client.close()


class SimulatorHandle:
    """Where a running simulator is, how to drive it, and how to stop it."""

    def __init__(self, base_url: str, config: SimulatorConfig, stopper: Callable[[], None]) -> None:
        self.base_url = base_url
        self.config = config
        self.control = SimulatorControl(base_url)
        self._stopper = stopper
        self._stopped = False

    @property
    def oauth_url(self) -> str:
        return f"{self.base_url}{TOKEN_PATH}"

    @property
    def credentials(self) -> dict[str, str]:
        """The four values a client needs (the simulator's public defaults unless configured)."""
        return {
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "login": self.config.login,
            "password": self.config.password,
        }

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.control.close()
        self._stopper()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


def wait_until_ready(
    base_url: str, timeout: float, *, alive: Callable[[], bool] | None = None
) -> None:
    """Polls the health check until it answers 200, the deadline passes, or `alive()` is False."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if alive is not None and not alive():
                raise RuntimeError(f"the simulator at {base_url} stopped while starting")
            try:
                if client.get(f"{base_url}{HEALTH_CHECK_PATH}").status_code == 200:
                    return
            except httpx.TransportError as exc:
                last_error = repr(exc)
            time.sleep(_POLL_INTERVAL)
    raise TimeoutError(
        f"the simulator at {base_url} was not ready after {timeout} s ({last_error})"
    )


def _uvicorn_config(app: Any, log_level: str, *, quiet: bool, **extra: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http="h11",
        loop="asyncio",
        lifespan="off",
        log_level=log_level,
        log_config=None if quiet else uvicorn.config.LOGGING_CONFIG,
        access_log=not quiet,
        timeout_graceful_shutdown=1,
        **extra,
    )


@contextmanager
def run_simulator_in_thread(
    config: SimulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ready_timeout: float = 15.0,
) -> Iterator[SimulatorHandle]:
    """A simulator in a daemon thread of this process; port 0 picks a free one."""
    config = config or SimulatorConfig()
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says so, and without it every answer waits ~40 ms on delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(_uvicorn_config(create_app(config), "warning", quiet=True))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"chorus-sim-{bound_port}", daemon=True
    )

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        sock.close()

    handle = SimulatorHandle(f"http://{host}:{bound_port}", config, stop)
    thread.start()
    try:
        wait_until_ready(handle.base_url, ready_timeout, alive=thread.is_alive)
        yield handle
    finally:
        handle.stop()


class SimulatorProcess(SimulatorHandle):
    """A simulator in its own OS process (`python -m chorus_pro.simulator`)."""

    def __init__(
        self,
        base_url: str,
        config: SimulatorConfig,
        process: subprocess.Popen[bytes],
        log: BinaryIO | None,
    ) -> None:
        self.process = process
        self._log = log
        super().__init__(base_url, config, self._terminate)

    @property
    def pid(self) -> int:
        return self.process.pid

    def is_running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, no clean shutdown: for tests of a simulator that disappears."""
        self.process.kill()
        self.process.wait(timeout=10)
        self.stop()

    def _terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def start_simulator_process(
    config: SimulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    ready_timeout: float = 30.0,
    log_path: Path | None = None,
) -> SimulatorProcess:
    """Starts `python -m chorus_pro.simulator` and waits for it; stop it with `.stop()`."""
    config = config or SimulatorConfig()
    attempts = 1 if port is not None else 2
    for attempt in range(attempts):
        chosen = port or free_port(host)
        command = [
            sys.executable,
            "-m",
            "chorus_pro.simulator",
            "--host",
            host,
            "--port",
            str(chosen),
            "--config-json",
            json.dumps(config.model_dump(mode="json")),
        ]
        log = log_path.open("ab") if log_path is not None else None
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        handle = SimulatorProcess(f"http://{host}:{chosen}", config, process, log)
        try:
            wait_until_ready(handle.base_url, ready_timeout, alive=handle.is_running)
        except (RuntimeError, TimeoutError):
            handle.stop()
            if attempt + 1 < attempts:
                continue
            raise
        return handle
    raise AssertionError("unreachable")


def serve(
    config: SimulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    log_level: str = "info",
) -> None:
    """Serves in the foreground until interrupted (the CLI's and `python -m`'s entry point)."""
    server = uvicorn.Server(
        _uvicorn_config(create_app(config), log_level, quiet=False, host=host, port=port)
    )
    server.run()
