"""A machine without Chromium is told, in the suite's last lines, which tests did not run and why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.dashboard.browser import INSTALL_CHROMIUM

ROOT = Path(__file__).resolve().parents[2]


def test_skipped_browser_tests_are_named_with_the_command_that_enables_them(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(Path(sys.executable).parent)  # no Chromium on this PATH
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/dashboard/test_browser.py",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    tail = result.stdout.splitlines()[-25:]
    assert "browser tests skipped: Chromium is not installed" in "\n".join(tail)
    for name in (
        "test_every_page_renders_without_errors_and_offline",
        "test_an_entrepreneur_sees_only_their_invoices",
        "test_tables_filter_and_sort",
        "test_the_probe_sees_errors_and_requests",
    ):
        assert any(
            line.strip().startswith("tests/dashboard/test_browser.py::" + name) for line in tail
        )
    assert f"Enable them with: {INSTALL_CHROMIUM}" in tail
