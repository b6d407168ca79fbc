from __future__ import annotations

import base64
import io
import json
import logging

import pytest

from chorus_etl.log import configure_logging, get_logger
from chorus_etl.settings import Settings

SECRET = "client-secret-4f9a"
PASSWORD = "tech-password-77e1"


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    monkeypatch.setenv("CHORUS_ETL_PISTE_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("CHORUS_ETL_CPRO_LOGIN", "TECH_1@cpro.fr")
    monkeypatch.setenv("CHORUS_ETL_CPRO_PASSWORD", PASSWORD)
    monkeypatch.setenv("CHORUS_ETL_DATABASE_URL", "postgresql+psycopg://etl:db-pass-9z@db/wh")
    monkeypatch.setenv("CHORUS_ETL_LOG_FORMAT", "json")
    stream = io.StringIO()
    configure_logging(Settings(), stream=stream)
    return stream


def test_events_are_json_lines_with_the_secret_values_masked(configured: io.StringIO) -> None:
    log = get_logger("tests.redaction")
    header = base64.b64encode(f"TECH_1@cpro.fr:{PASSWORD}".encode()).decode()
    log.info(
        "http.error",
        body=f"client_secret={SECRET}&x=1",
        headers={"cpro-account": header, "Authorization": "Bearer abc.def"},
        nested=[{"detail": f"password was {PASSWORD}"}],
        url="postgresql+psycopg://etl:db-pass-9z@db/wh",
    )
    try:
        raise RuntimeError(f"boom with {SECRET}")
    except RuntimeError:
        log.exception("failure")
    lines = configured.getvalue().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["event"] == "http.error"
    assert first["body"] == "client_secret=***&x=1"
    assert first["headers"] == {"cpro-account": "***", "Authorization": "***"}
    output = configured.getvalue()
    for secret in (SECRET, PASSWORD, header, "db-pass-9z", "abc.def"):
        assert secret not in output
    assert "boom with ***" in output


def test_other_libraries_records_are_scrubbed_too(configured: io.StringIO) -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    logger = logging.getLogger("httpx")
    logger.addHandler(handler)
    configure_logging(Settings(), stream=configured)
    try:
        logger.warning("sent %s", f"secret={SECRET}")
    finally:
        logger.removeHandler(handler)
    assert records == ["sent secret=***"]
