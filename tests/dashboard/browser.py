"""Headless Chromium driven over the DevTools protocol: load a page, collect errors, screenshot.

Scanning `--enable-logging` output for console lines depends on Chromium's log format, which
changes between versions; the DevTools protocol reports uncaught exceptions
(`Runtime.exceptionThrown`), `console.error` calls and browser-side errors such as CSP violations
(`Log.entryAdded`) as structured events, and tells which network requests the page made. The
client is `websockets` (a Prefect dependency), synchronous, one browser per `Browser` context.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "about:blank",
]


#: The one command that installs what the browser tests need (Debian, Ubuntu); CI runs it.
INSTALL_CHROMIUM = "sudo apt-get install -y chromium"
#: How a browser test says it was skipped; the suite's closing summary looks for it.
NO_CHROMIUM = f"Chromium is not installed (enable the browser tests with: {INSTALL_CHROMIUM})"


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageVisit:
    """What loading one page produced."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    text: str = ""
    table_rows: int = 0
    #: What the `script` given to `visit` returned.
    result: Any = None


class Browser:
    def __init__(self, executable: str, timeout: float = 30.0) -> None:
        self.executable = executable
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._profile = Path(tempfile.mkdtemp(prefix="chorus-etl-chromium-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: ClientConnection | None = None

    def __enter__(self) -> Browser:
        self._process = subprocess.Popen(
            [self.executable, f"--user-data-dir={self._profile}", *CHROMIUM_FLAGS],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self._profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        self._socket = connect(f"ws://127.0.0.1:{port}{path}", max_size=None)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._socket is not None:
                self._send("Browser.close")
                self._socket.close()
        except Exception:  # the browser may already be gone; the process is stopped below anyway
            pass
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    def _send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        events: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Sends a command and waits for its answer; events seen meanwhile go to `events`."""
        assert self._socket is not None
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while True:
            reply = json.loads(self._socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if events is not None and "method" in reply:
                events.append(reply)

    def _wait_for(self, event: str, events: list[dict[str, Any]]) -> None:
        assert self._socket is not None
        deadline = time.monotonic() + self.timeout
        while not any(e["method"] == event for e in events):
            events.append(
                json.loads(self._socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            )

    def visit(
        self, page: Path, screenshot: Path | None = None, script: str | None = None
    ) -> PageVisit:
        """Loads `page` in a fresh tab of 1280×2000, lets its script run, reports what happened;
        `script` (a JavaScript expression) then runs in the page and its value is returned."""
        events: list[dict[str, Any]] = []
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self._send(f"{domain}.enable", session=session, events=events)
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 2000, "deviceScaleFactor": 1, "mobile": False},
            session=session,
            events=events,
        )
        self._send("Page.navigate", {"url": page.resolve().as_uri()}, session, events)
        self._wait_for("Page.loadEventFired", events)
        probe = self._send(
            "Runtime.evaluate",
            {
                "expression": "JSON.stringify({text: document.body.innerText, "
                "rows: document.querySelectorAll('tbody tr').length})",
                "returnByValue": True,
            },
            session,
            events,
        )
        found = json.loads(probe["result"]["value"])
        result = None
        if script is not None:
            answer = self._send(
                "Runtime.evaluate", {"expression": script, "returnByValue": True}, session, events
            )
            if "exceptionDetails" in answer:
                raise AssertionError(f"script failed: {answer['exceptionDetails']}")
            result = answer["result"].get("value")
        if screenshot is not None:
            shot = self._send("Page.captureScreenshot", {"format": "png"}, session, events)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        self._send("Target.closeTarget", {"targetId": target}, events=events)
        return PageVisit(
            errors=_errors(events),
            requests=_requests(events),
            text=found["text"],
            table_rows=found["rows"],
            result=result,
        )


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        params = event.get("params", {})
        if event["method"] == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            found.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif event["method"] == "Runtime.consoleAPICalled" and params.get("type") in (
            "error",
            "assert",
        ):
            found.append(
                " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            )
        elif event["method"] == "Log.entryAdded" and params["entry"]["level"] == "error":
            found.append(params["entry"]["text"])
    return found


def _requests(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"
    ]
