"""`chorus-etl doctor` through the command line, against the simulator over real HTTP."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from chorus_etl.config import reset_settings_cache
from chorus_etl.settings import ANTIGONE_SIRET, ARTENREEL_SIRET
from chorus_pro.simulator import SimulatorHandle
from cli.doctor import doctor
from tasks.setup.doctor import CHECKS
from tests.doctor.conftest import SEEDED, write_directory

app = typer.Typer()
app.command("doctor")(doctor)


@app.callback()
def _root() -> None:
    """Keeps `doctor` a sub-command, as in the real `chorus-etl` app."""


runner = CliRunner()


def run_json() -> tuple[int, dict[str, dict[str, str]]]:
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    checks: list[dict[str, str]] = json.loads(result.stdout)
    assert [c["check"] for c in checks] == list(CHECKS)
    assert all(set(c) == {"check", "status", "detail", "remedy", "scope"} for c in checks)
    assert {c["scope"] for c in checks} == {""}, "one account: no scope"
    return result.exit_code, {c["check"]: c for c in checks}


def statuses(checks: dict[str, dict[str, str]]) -> dict[str, str]:
    return {name: check["status"] for name, check in checks.items()}


@pytest.mark.usefixtures("directory")
def test_all_checks_pass_against_the_simulator() -> None:
    code, checks = run_json()

    assert code == 0
    assert set(statuses(checks).values()) == {"OK"}, checks
    assert all(c["remedy"] == "" for c in checks.values())


@pytest.mark.usefixtures("directory")
def test_human_output_lists_every_check_and_exits_zero() -> None:
    result = runner.invoke(app, ["doctor"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for name in CHECKS:
        assert any(line.startswith("OK") and name in line for line in lines), name
    assert f"{len(CHECKS)} OK: nothing failed." in result.stdout


@pytest.mark.usefixtures("directory")
def test_wrong_piste_secret_fails_the_token_and_skips_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "not-the-simulator-secret-4711"
    monkeypatch.setenv("CHORUS_ETL_PISTE_CLIENT_SECRET", secret)
    reset_settings_cache()

    code, checks = run_json()

    assert code == 1
    token = checks["piste_token"]
    assert token["status"] == "FAIL"
    assert "invalid_client" in token["detail"]
    assert "'OAuth Credentials' tab (not 'API Keys')" in token["remedy"]
    later = list(CHECKS)[CHECKS.index("piste_token") + 1 : CHECKS.index("password_expiry") + 1]
    assert {checks[name]["status"] for name in later} == {"SKIPPED"}
    assert checks["ghostscript"]["status"] == "OK", "this machine's own check still runs"
    human = runner.invoke(app, ["doctor"])
    assert human.exit_code == 1
    assert "FAIL" in human.stdout
    assert "SKIPPED" in human.stdout
    assert secret not in human.output
    assert secret not in json.dumps(checks)


@pytest.mark.usefixtures("directory")
def test_wrong_technical_password_fails_with_the_reset_remedy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    password = "not-the-technical-password-0815"
    monkeypatch.setenv("CHORUS_ETL_CPRO_PASSWORD", password)
    reset_settings_cache()

    result = runner.invoke(app, ["doctor", "--json"])
    checks = {c["check"]: c for c in json.loads(result.stdout)}

    assert result.exit_code == 1
    assert checks["piste_token"]["status"] == "OK"
    account = checks["technical_account"]
    assert account["status"] == "FAIL"
    assert "login or password" in account["detail"]
    assert "CHORUS_ETL_CPRO_PASSWORD" in account["remedy"]
    assert "main manager" in account["remedy"]
    assert checks["api_subscriptions"]["status"] == "SKIPPED"
    assert password not in result.output


@pytest.mark.usefixtures("directory")
def test_unattached_structure_is_named(simulator: SimulatorHandle) -> None:
    simulator.control.set_config(attached_supplier_sirets=[ANTIGONE_SIRET])

    code, checks = run_json()

    assert code == 1
    attachment = checks["structure_attachment"]
    assert attachment["status"] == "FAIL"
    assert ARTENREEL_SIRET in attachment["detail"]
    assert ANTIGONE_SIRET not in attachment["detail"]
    assert f"to SIRET {ARTENREEL_SIRET}" in attachment["remedy"]
    assert "raccordement" in attachment["remedy"]
    # The attached structure is still checked; the other one's entrepreneurs cannot be.
    assert checks["bank_details"]["status"] == "OK"
    assert checks["entrepreneur_services"]["status"] == "WARN"
    assert "ART-E001" in checks["entrepreneur_services"]["detail"]
    assert checks["password_expiry"]["status"] == "OK"


def test_entrepreneur_without_active_service_is_named(directory: Path) -> None:
    write_directory(
        directory,
        [
            *SEEDED,
            ("ANT-E099", "Inactive Service", ANTIGONE_SIRET),
            ("ANT-E777", "Unknown Code", ANTIGONE_SIRET),
        ],
    )

    code, checks = run_json()

    assert code == 1
    services = checks["entrepreneur_services"]
    assert services["status"] == "FAIL"
    assert "inactive service on 51858054300107 (Antigone): ANT-E099" in services["detail"]
    assert "no such service on 51858054300107 (Antigone): ANT-E777" in services["detail"]
    assert "ANT-E001" not in services["detail"]
    assert "maille service" in services["remedy"]
    assert str(directory) in services["remedy"]
    assert checks["bank_details"]["status"] == "OK"


@pytest.mark.usefixtures("directory")
def test_unsubscribed_api_is_named(simulator: SimulatorHandle) -> None:
    simulator.control.set_config(unsubscribed_apis=["structures"])

    code, checks = run_json()

    assert code == 1
    assert checks["technical_account"]["status"] == "OK"
    subscriptions = checks["api_subscriptions"]
    assert subscriptions["status"] == "FAIL"
    assert "Structures" in subscriptions["detail"]
    assert "Factures" not in subscriptions["detail"]
    assert "PISTE portal" in subscriptions["remedy"]
    assert "sandbox vs production" in subscriptions["remedy"]
    # What needs the Structures API is skipped; the rest still runs.
    assert checks["entrepreneur_services"]["status"] == "SKIPPED"
    assert checks["password_expiry"]["status"] == "SKIPPED"
    assert checks["structure_attachment"]["status"] == "OK"
    assert checks["bank_details"]["status"] == "OK"


@pytest.mark.usefixtures("directory")
def test_password_expiring_soon_warns_without_failing(simulator: SimulatorHandle) -> None:
    today = date.fromisoformat(simulator.control.clock()["today"])
    expires_on = today + timedelta(days=5)
    simulator.control.set_config(tech_password_expires_on=expires_on.isoformat())

    code, checks = run_json()

    assert code == 0
    expiry = checks["password_expiry"]
    assert expiry["status"] == "WARN"
    assert expires_on.isoformat() in expiry["detail"]
    assert "CHORUS_ETL_CPRO_PASSWORD" in expiry["remedy"]
    assert {s for n, s in statuses(checks).items() if n != "password_expiry"} == {"OK"}


def test_missing_directory_warns_where_it_is_expected(
    monkeypatch: pytest.MonkeyPatch, directory: Path
) -> None:
    missing = directory.with_name("nowhere.csv")
    monkeypatch.setenv("CHORUS_ETL_ENTREPRENEURS_FILE", str(missing))
    reset_settings_cache()

    code, checks = run_json()

    assert code == 0
    services = checks["entrepreneur_services"]
    assert services["status"] == "WARN"
    assert str(missing) in services["detail"]
    assert "CHORUS_ETL_ENTREPRENEURS_FILE" in services["remedy"]


def test_sandbox_without_credentials_names_the_missing_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHORUS_ETL_CHORUS_ENV", "sandbox")
    monkeypatch.setenv("CHORUS_ETL_PISTE_CLIENT_ID", "some-client")
    reset_settings_cache()

    code, checks = run_json()

    assert code == 1
    configuration = checks["configuration"]
    assert configuration["status"] == "FAIL"
    for name in ("CHORUS_ETL_PISTE_CLIENT_SECRET", "CHORUS_ETL_CPRO_LOGIN"):
        assert name in configuration["detail"]
    assert "CHORUS_ETL_PISTE_CLIENT_ID" not in configuration["detail"]
    assert {checks[n]["status"] for n in CHECKS[1:]} == {"SKIPPED"}


def test_unreadable_setting_is_the_configuration_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHORUS_ETL_CHORUS_ENV", "staging")
    reset_settings_cache()

    code, checks = run_json()

    assert code == 1
    assert checks["configuration"]["status"] == "FAIL"
    assert "CHORUS_ETL_CHORUS_ENV" in checks["configuration"]["detail"]
