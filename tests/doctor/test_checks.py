"""The doctor's plain functions: the cases the command-line tests do not reach."""

from __future__ import annotations

import socket
from datetime import date, timedelta
from pathlib import Path

import pytest

from chorus_etl.accounts import load_accounts
from chorus_etl.chorus_client import chorus_pro_config
from chorus_etl.config import get_settings, reset_settings_cache
from chorus_etl.settings import ANTIGONE_SIRET, ARTENREEL_SIRET, Settings
from chorus_pro.client import ChorusProClient
from chorus_pro.simulator import SimulatorHandle
from schemas.payloads import BankAccount, StructureDetail
from tasks.setup.doctor import (
    Status,
    check_ghostscript,
    check_token,
    password_verdict,
    run_checks,
    run_remote_checks,
)

TODAY = date(2026, 3, 2)


def _closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("days", "status"),
    [(-1, Status.FAIL), (0, Status.WARN), (15, Status.WARN), (16, Status.OK)],
)
def test_password_verdict(days: int, status: Status) -> None:
    verdict, detail = password_verdict(TODAY + timedelta(days=days), TODAY, 15)

    assert verdict is status
    assert (TODAY + timedelta(days=days)).isoformat() in detail


def test_unreachable_token_url_gives_a_network_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/api/oauth/token"
    monkeypatch.setenv("CHORUS_ETL_CHORUS_OAUTH_URL", url)
    reset_settings_cache()

    result = check_token(get_settings())

    assert result.status is Status.FAIL
    assert url in result.detail
    assert "proxy" in result.remedy
    assert "CHORUS_ETL_CHORUS_OAUTH_URL" in result.remedy


@pytest.mark.usefixtures("directory")
def test_closed_transverses_api_still_proves_the_technical_account(
    simulator: SimulatorHandle,
) -> None:
    simulator.control.set_config(unsubscribed_apis=["transverses"])

    results = {r.check: r for r in run_checks()}

    assert results["technical_account"].status is Status.OK
    assert results["api_subscriptions"].status is Status.FAIL
    assert "Transverses" in results["api_subscriptions"].detail
    for name in ("structure_attachment", "entrepreneur_services", "bank_details"):
        assert results[name].status is Status.SKIPPED
        assert "Transverses" in results[name].detail


@pytest.mark.usefixtures("directory")
def test_every_api_closed_fails_subscriptions_only(simulator: SimulatorHandle) -> None:
    simulator.control.set_config(unsubscribed_apis=["factures", "structures", "transverses"])

    results = {r.check: r for r in run_checks()}

    assert results["technical_account"].status is Status.SKIPPED
    assert results["api_subscriptions"].status is Status.FAIL
    for api in ("Factures", "Structures", "Transverses"):
        assert api in results["api_subscriptions"].detail


class _NoBankDetails(ChorusProClient):
    """The real client, but the structures have no bank details and no expiry date."""

    def bank_accounts(self, id_structure: int) -> list[BankAccount]:
        return []

    def get_structure(self, id_structure_cpp: int, langue: str = "fr") -> StructureDetail:
        detail = super().get_structure(id_structure_cpp, langue)
        detail.informationGenerales.pop("dateExpirationMotPasseCompteTech", None)
        return detail


@pytest.mark.usefixtures("directory")
def test_missing_bank_details_and_expiry_date() -> None:
    settings = get_settings()

    accounts = load_accounts(settings)
    with _NoBankDetails(chorus_pro_config(settings, accounts.account(accounts.sirets()[0]))) as api:
        results = {r.check: r for r in run_remote_checks(settings, api, TODAY)}

    bank = results["bank_details"]
    assert bank.status is Status.FAIL
    assert ANTIGONE_SIRET in bank.detail
    assert "Coordonnées bancaires" in bank.remedy
    assert results["password_expiry"].status is Status.WARN
    assert results["entrepreneur_services"].status is Status.OK


@pytest.mark.usefixtures("directory")
def test_a_directory_that_does_not_answer_fails_with_what_waiting_invoices_need(
    simulator: SimulatorHandle,
) -> None:
    simulator.control.set_faults(
        rate_503=1.0, retry_after_seconds=0, paths=["/cpro/structures/v1/rechercher/services"]
    )

    results = {r.check: r for r in run_checks()}

    directory = results["buyer_directory"]
    assert directory.status is Status.FAIL
    assert "does not answer" in directory.detail and "503" in directory.detail
    assert "try again later" in directory.remedy
    assert "CHORUS_ETL_WAIT_ALERT_AFTER_DAYS" in directory.remedy
    assert "chorus-etl waits" in directory.remedy
    assert results["technical_account"].status is Status.OK


@pytest.mark.usefixtures("directory")
def test_the_directory_check_needs_the_structures_api(simulator: SimulatorHandle) -> None:
    simulator.control.set_config(unsubscribed_apis=["structures"])

    results = {r.check: r for r in run_checks()}

    assert results["buyer_directory"].status is Status.SKIPPED
    assert "Structures" in results["buyer_directory"].detail


@pytest.mark.usefixtures("directory")
def test_a_directory_that_answers_a_business_error_is_reachable(
    simulator: SimulatorHandle,
) -> None:
    simulator.control.set_config(unconsultable_structures=[ANTIGONE_SIRET])

    directory = {r.check: r for r in run_checks()}["buyer_directory"]

    assert directory.status is Status.WARN
    assert "answers, but not for 51858054300107" in directory.detail
    assert "codeRetour 20001: Structure inexistante." in directory.detail


@pytest.mark.parametrize(
    ("modes", "status"),
    [({ARTENREEL_SIRET: "facturx"}, Status.FAIL), ({}, Status.WARN)],
    ids=["a-structure-deposits-facturx", "pdf-only"],
)
def test_missing_ghostscript_names_the_package_to_install(
    tmp_path: Path, modes: dict[str, str], status: Status
) -> None:
    settings = Settings(
        _env_file=None,
        ghostscript_command=str(tmp_path / "gs"),
        deposit_modes=modes,
    )
    result = check_ghostscript(settings)
    assert result.status is status
    assert "apt-get install -y ghostscript" in result.remedy
    assert ("47840796800054 (Artenréel) deposit Factur-X" in result.detail) is bool(modes)


def test_installed_ghostscript_is_found_with_its_version() -> None:
    result = check_ghostscript(Settings(_env_file=None))
    assert result.status is Status.OK, result
    assert result.detail.startswith("Ghostscript 1")
    assert result.remedy == ""
