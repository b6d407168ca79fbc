"""The layer rules of pyproject's import-linter contracts hold, and they fail on an upward import.

`make lint` runs the contracts on the tree; this test runs them on a copy of it, once as it is and
once per deliberately wrong import, so a contract that stopped biting (a typo in a layer name, a
package left out of `root_packages`) is caught too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["schemas", "chorus_pro", "chorus_etl", "tasks", "flows", "cli", "deployments"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy_tree(target: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("layers")
    _copy_tree(tree)
    return tree


def test_the_tree_keeps_every_contract(pristine: Path) -> None:
    result = _lint(pristine)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "broken"),
    [
        (
            "chorus_pro/errors.py",
            "from chorus_etl import settings",
            "chorus_pro is not allowed to import chorus_etl",
        ),
        (
            "schemas/issues.py",
            "from chorus_pro import errors",
            "schemas is not allowed to import chorus_pro",
        ),
        (
            "chorus_etl/db.py",
            "from tasks.ingest import extract",
            "chorus_etl is not allowed to import tasks",
        ),
        (
            "tasks/ingest/extract.py",
            "from flows import ingest",
            "tasks is not allowed to import flows",
        ),
        ("flows/alerts.py", "from cli import output", "flows is not allowed to import cli"),
        (
            "flows/alerts.py",
            "from tasks.deposit.depositor import Depositor",
            "flows is not allowed to import tasks.deposit.depositor",
        ),
        (
            "tasks/deposit/store.py",
            "from chorus_etl.config import get_settings",
            "tasks is not allowed to import chorus_etl.config",
        ),
        (
            "chorus_etl/settings.py",
            "from chorus_etl import accounts",
            "No cycles are allowed in chorus_etl",
        ),
    ],
)
def test_an_upward_import_breaks_a_contract(
    pristine: Path, tmp_path: Path, module: str, wrong_import: str, broken: str
) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(pristine, tree)
    target = tree / module
    target.write_text(target.read_text() + f"\n{wrong_import}  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert broken in result.stdout
