from __future__ import annotations

import pytest
from pydantic import SecretStr

from chorus_etl.accounts import load_accounts
from chorus_etl.settings import ANTIGONE_SIRET, ARTENREEL_SIRET, ChorusEnv, Settings


def test_defaults_run_against_the_simulator_with_a_local_sqlite_warehouse() -> None:
    settings = Settings()
    assert settings.chorus_env is ChorusEnv.SIMULATOR
    assert settings.database_url.startswith("sqlite:///var/")
    assert settings.api_url == "http://127.0.0.1:8765"
    assert settings.supplier_sirets == [ANTIGONE_SIRET, ARTENREEL_SIRET]
    account = load_accounts(settings).account(ANTIGONE_SIRET)
    assert account.client_id and account.login
    assert account.client_secret.get_secret_value() and account.password.get_secret_value()


def test_environment_chooses_urls_and_overrides_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_ETL_CHORUS_ENV", "sandbox")
    assert Settings().api_url == "https://sandbox-api.piste.gouv.fr"
    assert Settings().oauth_url == "https://sandbox-oauth.piste.gouv.fr/api/oauth/token"
    monkeypatch.setenv("CHORUS_ETL_CHORUS_ENV", "production")
    assert Settings().api_url == "https://api.piste.gouv.fr"
    monkeypatch.setenv("CHORUS_ETL_CHORUS_API_URL", "http://proxy.local:9000/")
    assert Settings().api_url == "http://proxy.local:9000"


def test_real_environments_name_the_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_ETL_CHORUS_ENV", "production")
    monkeypatch.setenv("CHORUS_ETL_PISTE_CLIENT_ID", "abc")
    with pytest.raises(ValueError, match="CHORUS_ETL_PISTE_CLIENT_SECRET") as excinfo:
        load_accounts(Settings()).account(ANTIGONE_SIRET)
    assert "CHORUS_ETL_CPRO_PASSWORD" in str(excinfo.value)


def test_secrets_are_hidden_in_repr_and_dumps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_ETL_PISTE_CLIENT_SECRET", "s3cr3t-client-value")
    monkeypatch.setenv("CHORUS_ETL_CPRO_PASSWORD", "s3cr3t-password-value")
    settings = Settings()
    assert isinstance(settings.piste_client_secret, SecretStr)
    for text in (repr(settings), str(settings.model_dump()), settings.model_dump_json()):
        assert "s3cr3t" not in text
    assert sorted(settings.secret_values()) == ["s3cr3t-client-value", "s3cr3t-password-value"]


def test_dotenv_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CHORUS_ETL_DEPOSIT_CONCURRENCY=3\n", encoding="utf-8")
    assert Settings().deposit_concurrency == 3
