"""The accounts file: what it accepts, what it refuses and how it says so, where secrets come from."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from chorus_etl.accounts import AccountsError, load_accounts, load_accounts_file
from chorus_etl.log import secrets_of
from chorus_etl.settings import (
    ANTIGONE_SIRET,
    ARTENREEL_SIRET,
    SIMULATOR_CLIENT_ID,
    SIMULATOR_LOGIN,
    Settings,
)
from chorus_etl.values import DepositMode

ESTUAIRE_SIRET = "33186091600013"

VALID = f"""
[[piste_apps]]
id = "coop-a"
client_id = "client-a"
client_secret_from = "SECRET_A"
rate_per_second = 6

[[piste_apps]]
id = "coop-b"
client_id = "client-b"
client_secret_from = "SECRET_B"

[[cooperatives]]
id = "coop-a"
name = "Coopérative A"
accounting_email = "compta@a.example"

[[cooperatives.structures]]
siret = "{ANTIGONE_SIRET}"
piste_app = "coop-a"
login = "TECH_1_antigone@cpro.fr"
password_from = "PASSWORD_ANTIGONE"
deposit_mode = "facturx"

[[cooperatives.structures]]
siret = "{ARTENREEL_SIRET}"
piste_app = "coop-a"
login = "TECH_1_artenreel@cpro.fr"
password_from = "PASSWORD_ARTENREEL"

[[cooperatives]]
id = "coop-b"
name = "Coopérative B"
accounting_email = "compta@b.example"

[[cooperatives.structures]]
siret = "{ESTUAIRE_SIRET}"
piste_app = "coop-b"
login = "TECH_1_estuaire@cpro.fr"
password_from = "PASSWORD_ESTUAIRE"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECRET_A", "SECRET_B", "PASSWORD_ANTIGONE", "PASSWORD_ARTENREEL"):
        monkeypatch.setenv(name, f"value-of-{name}")
    monkeypatch.delenv("PASSWORD_ESTUAIRE", raising=False)


@pytest.mark.usefixtures("secrets")
def test_the_settings_take_structures_modes_and_accounts_from_the_file(tmp_path: Path) -> None:
    settings = Settings(accounts_file=_write(tmp_path, VALID), _env_file=None)
    accounts = load_accounts(settings)
    assert accounts.sirets() == [ANTIGONE_SIRET, ARTENREEL_SIRET, ESTUAIRE_SIRET]
    assert accounts.deposit_mode(ANTIGONE_SIRET) is DepositMode.FACTURX
    assert accounts.deposit_mode(ESTUAIRE_SIRET) is DepositMode.PDF
    assert accounts.cooperative_of(ESTUAIRE_SIRET) == "coop-b"
    assert accounts.accounting_email(ARTENREEL_SIRET) == "compta@a.example"
    assert accounts.sirets("coop-a") == [ANTIGONE_SIRET, ARTENREEL_SIRET]
    account = accounts.account(ANTIGONE_SIRET)
    assert (account.client_id, account.login, account.rate_per_second) == (
        "client-a",
        "TECH_1_antigone@cpro.fr",
        6.0,
    )
    assert account.password.get_secret_value() == "value-of-PASSWORD_ANTIGONE"
    assert "value-of" not in repr(account), "secrets stay masked"
    groups = accounts.groups()
    assert [(g.cooperative, g.app_id, g.sirets) for g in groups] == [
        ("coop-a", "coop-a", (ANTIGONE_SIRET,)),
        ("coop-a", "coop-a", (ARTENREEL_SIRET,)),
        ("coop-b", "coop-b", (ESTUAIRE_SIRET,)),
    ]
    assert [g.sirets for g in accounts.groups([ESTUAIRE_SIRET, "00000000000000"])] == [
        (ESTUAIRE_SIRET,)
    ]
    assert "value-of-SECRET_A" in secrets_of(settings), "redacted from the logs"


@pytest.mark.usefixtures("secrets")
def test_a_missing_secret_fails_its_structure_only_and_names_it(tmp_path: Path) -> None:
    accounts = load_accounts(Settings(accounts_file=_write(tmp_path, VALID), _env_file=None))
    with pytest.raises(AccountsError, match="PASSWORD_ESTUAIRE") as refused:
        accounts.account(ESTUAIRE_SIRET)
    assert "value-of" not in str(refused.value)
    assert accounts.account(ARTENREEL_SIRET).login == "TECH_1_artenreel@cpro.fr"


@pytest.mark.usefixtures("secrets")
def test_a_secret_may_come_from_a_file_in_the_secrets_dir(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "PASSWORD_ESTUAIRE").write_text("from-a-file\n", encoding="utf-8")
    settings = Settings(accounts_file=_write(tmp_path, VALID), secrets_dir=folder, _env_file=None)
    password = load_accounts(settings).account(ESTUAIRE_SIRET).password
    assert password == SecretStr("from-a-file")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('password_from = "PASSWORD_ESTUAIRE"', 'password = "hunter2"'), "must not be written"),
        (('piste_app = "coop-b"', 'piste_app = "coop-c"'), "not declared"),
        ((ESTUAIRE_SIRET, ARTENREEL_SIRET), "appears twice"),
        ((ESTUAIRE_SIRET, "33186091600014"), "not a valid SIRET"),
        (("TECH_1_estuaire", "TECH_1_antigone"), "used by cooperatives"),
        (('id = "coop-b"\nname', 'id = "Coop B"\nname'), "cooperatives.1.id"),
        (("rate_per_second = 6", "rate_per_second = 0"), "greater than 0"),
        (("accounting_email", "acounting_email"), "acounting_email"),
    ],
)
def test_a_wrong_file_is_refused_with_where_and_why(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    before, after = change
    assert before in VALID
    path = _write(tmp_path, VALID.replace(before, after, 1))
    with pytest.raises(AccountsError, match=message) as refused:
        load_accounts_file(path)
    assert str(path) in str(refused.value)
    assert "hunter2" not in str(refused.value)
    with pytest.raises(AccountsError, match=message):
        load_accounts(Settings(accounts_file=path, _env_file=None))


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(AccountsError, match="does not exist"):
        load_accounts_file(tmp_path / "nowhere.toml")
    with pytest.raises(AccountsError, match="not valid TOML"):
        load_accounts_file(_write(tmp_path, "[[piste_apps]\n"))


def test_without_a_file_the_single_account_settings_are_one_cooperative() -> None:
    settings = Settings(_env_file=None, cooperative_id="coop-x", alert_accounting_email="c@x.fr")
    accounts = load_accounts(settings)
    assert [c.id for c in accounts.cooperatives] == ["coop-x"]
    assert accounts.sirets() == settings.supplier_sirets
    assert [len(g.sirets) for g in accounts.groups()] == [len(settings.supplier_sirets)]
    account = accounts.account(ANTIGONE_SIRET)
    assert (account.client_id, account.login) == (SIMULATOR_CLIENT_ID, SIMULATOR_LOGIN)
    assert accounts.accounting_email(ANTIGONE_SIRET) == "c@x.fr"


def test_without_a_file_production_names_the_missing_settings() -> None:
    settings = Settings(_env_file=None, chorus_env="production")
    with pytest.raises(AccountsError, match="CHORUS_ETL_CPRO_PASSWORD"):
        load_accounts(settings).account(ANTIGONE_SIRET)
