"""Who owns a row: its structure's cooperative, else its export's, else the installation's."""

from __future__ import annotations

from pathlib import Path

import pytest

from chorus_etl.config import get_settings, reset_settings_cache
from chorus_etl.cooperatives import (
    accounting_email,
    cooperative_names,
    cooperative_of,
    export_cooperative,
)
from tasks.ingest.stages import owners_of
from tests.fixtures.isolation import ANTIGONE, ARTENREEL, INSTALLATION, use_two_cooperatives

STRAY = "12345678900000"


def test_rows_follow_their_structure_and_strays_their_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_two_cooperatives(monkeypatch, tmp_path)
    settings = get_settings()
    assert cooperative_of(ARTENREEL.siret, settings) == ARTENREEL.id
    assert cooperative_of(STRAY, settings) == INSTALLATION
    assert export_cooperative([ANTIGONE.siret, STRAY], settings) == ANTIGONE.id
    assert export_cooperative([ANTIGONE.siret, ARTENREEL.siret], settings) == INSTALLATION
    assert export_cooperative([], settings) == INSTALLATION
    owners = owners_of(settings, [ARTENREEL.siret, STRAY])
    assert (owners.of(ARTENREEL.siret), owners.of(STRAY), owners.export) == (
        ARTENREEL.id,
        ARTENREEL.id,
        ARTENREEL.id,
    )
    assert accounting_email(ARTENREEL.id, settings) == ARTENREEL.accounting_email
    assert accounting_email(INSTALLATION, settings) == settings.alert_accounting_email
    assert list(cooperative_names(settings)) == [ANTIGONE.id, ARTENREEL.id]


def test_without_an_accounts_file_there_is_one_cooperative(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CHORUS_ETL_ACCOUNTS_FILE", raising=False)
    monkeypatch.setenv("CHORUS_ETL_COOPERATIVE_ID", "cooproduction")
    reset_settings_cache()
    settings = get_settings()
    assert {cooperative_of(s, settings) for s in (ANTIGONE.siret, ARTENREEL.siret, STRAY)} == {
        "cooproduction"
    }
    assert export_cooperative([ANTIGONE.siret, ARTENREEL.siret], settings) == "cooproduction"
