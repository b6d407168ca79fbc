"""`chorus-etl doctor` with an accounts file: each technical account checked on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chorus_etl.config import reset_settings_cache
from chorus_pro.simulator import SimulatorHandle, seed
from tasks.setup.doctor import CHECKS
from tests.doctor.conftest import write_directory
from tests.doctor.test_cli import app
from tests.fixtures.cooperatives import Cooperatives

SIRETS = [seed.ANTIGONE_SIRET, seed.RHIZOME_SIRET, seed.ESTUAIRE_SIRET]
runner = CliRunner()


@pytest.fixture
def coops(
    directory: Path, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Cooperatives:
    found = Cooperatives(SIRETS)
    rows = [(s.services[0].code, s.services[0].label, s.siret) for s in seed.ALL_SUPPLIERS]
    write_directory(directory, [r for r in rows if r[2] in SIRETS])
    found.install(simulator, monkeypatch, tmp_path)
    return found


def _by_scope() -> tuple[int, dict[str, dict[str, str]]]:
    result = runner.invoke(app, ["doctor", "--json"])
    checks = json.loads(result.stdout)
    scopes: dict[str, dict[str, str]] = {}
    for check in checks:
        scopes.setdefault(check["scope"], {})[check["check"]] = check["status"]
    assert all(list(found) == list(CHECKS) for found in scopes.values())
    return result.exit_code, scopes


def _scope_of(scopes: dict[str, dict[str, str]], siret: str) -> dict[str, str]:
    return next(found for scope, found in scopes.items() if siret in scope)


@pytest.mark.usefixtures("coops")
def test_every_account_passes_on_its_own() -> None:
    code, scopes = _by_scope()
    assert len(scopes) == len(SIRETS)
    for siret in SIRETS:
        statuses = _scope_of(scopes, siret)
        assert statuses["technical_account"] == "OK", (siret, statuses)
        assert statuses["structure_attachment"] == "OK", (siret, statuses)
    assert code == 0, [(s, c) for s, f in scopes.items() for c, v in f.items() if v == "FAIL"]


def test_a_revoked_account_and_a_missing_secret_fail_their_own_scope_only(
    coops: Cooperatives, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulator.control.set_config(technical_accounts=coops.technical_accounts(revoked=SIRETS[1]))
    monkeypatch.delenv(coops.structure(SIRETS[2]).password_env)
    reset_settings_cache()
    code, scopes = _by_scope()
    assert code == 1
    assert _scope_of(scopes, SIRETS[0])["technical_account"] == "OK"
    assert _scope_of(scopes, SIRETS[1])["technical_account"] == "FAIL"
    assert _scope_of(scopes, SIRETS[2])["configuration"] == "FAIL"
    result = runner.invoke(app, ["doctor"])
    assert coops.structure(SIRETS[2]).password_env in result.stdout
    assert f"== cooproduction: {SIRETS[0]}" in result.stdout
    assert coops.structure(SIRETS[1]).password not in result.stdout
