"""Acceptance: configured secrets never reach any log output, even through an HTTP error."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogWorker

from chorus_etl.log import configure_logging
from chorus_etl.settings import Settings
from flows.config_check import config_check

SECRET = "piste-secret-XK41d"
PASSWORD = "cpro-password-QQ93z"
LOGIN = "TECH_9_test@cpro.fr"


class _EchoingRefusal(BaseHTTPRequestHandler):
    """A token endpoint that refuses and echoes the request, the way a verbose gateway might."""

    received: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.received.append(body)
        payload = f'{{"error": "invalid_client", "request": "{body}"}}'.encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def refusing_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingRefusal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/oauth/token"
    server.shutdown()
    server.server_close()


def test_flow_logging_settings_and_an_http_error_leaks_no_secret(
    refusing_server: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHORUS_ETL_CHORUS_ENV", "sandbox")
    monkeypatch.setenv("CHORUS_ETL_CHORUS_OAUTH_URL", refusing_server)
    monkeypatch.setenv("CHORUS_ETL_PISTE_CLIENT_ID", "client-id-1")
    monkeypatch.setenv("CHORUS_ETL_PISTE_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("CHORUS_ETL_CPRO_LOGIN", LOGIN)
    monkeypatch.setenv("CHORUS_ETL_CPRO_PASSWORD", PASSWORD)
    monkeypatch.setenv("CHORUS_ETL_LOG_FORMAT", "json")
    monkeypatch.setenv("CHORUS_ETL_LOG_STREAM", "stdout")
    _EchoingRefusal.received.clear()

    state = config_check(return_state=True)
    assert state.is_completed()
    assert state.result() is False
    assert SECRET in _EchoingRefusal.received[0], "the secret must have been on the wire"

    APILogWorker.drain_all(timeout=30)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(
                flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    api_text = "\n".join(entry.message for entry in logs)
    console = capfd.readouterr()
    everything = "\n".join([api_text, console.out, console.err])

    assert "oauth.token_refused" in api_text, "our events must reach the Prefect API"
    assert "settings.effective" in console.out
    header = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    for secret in (SECRET, PASSWORD, header):
        assert secret not in everything
    configure_logging(Settings())
