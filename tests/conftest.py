"""Test-wide set-up: Prefect kept away from the developer's home and the network, shared fixtures.

The environment is fixed before anything imports Prefect. Most tests are engine-free; those that run
flows ask for the session-wide `prefect_harness` fixture (heartbeats off, as in Prefect's own suite).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

_PREFECT_HOME = tempfile.mkdtemp(prefix="chorus-etl-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ["PREFECT_TASKS_DISABLE_CACHING"] = "true"
os.environ["PREFECT_LOGGING_EXTRA_LOGGERS"] = "chorus_etl"
os.environ.pop("PREFECT_API_URL", None)
for _name in [n for n in os.environ if n.startswith("CHORUS_ETL_")]:
    del os.environ[_name]

import pytest  # noqa: E402

from chorus_etl.config import reset_settings_cache  # noqa: E402

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.simulator"]


@pytest.fixture(autouse=True)
def _isolated_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Each test starts from default settings, never from a developer's `.env`."""
    workdir = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(workdir)
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One ephemeral Prefect API for the whole session, with flow heartbeats off."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=60),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Names the browser tests a machine without Chromium skipped, and the command that enables them.

    pytest's own summary groups skips by the line that skipped them, which hides which tests did
    not run; a newcomer should see it in the last lines of `make test`.
    """
    from tests.dashboard.browser import INSTALL_CHROMIUM, NO_CHROMIUM

    skipped = [
        report.nodeid
        for report in terminalreporter.stats.get("skipped", [])
        if NO_CHROMIUM in str(report.longrepr)
    ]
    if skipped:
        terminalreporter.section("browser tests skipped: Chromium is not installed", yellow=True)
        for nodeid in skipped:
            terminalreporter.line(f"  {nodeid}")
        terminalreporter.line(f"Enable them with: {INSTALL_CHROMIUM}")
