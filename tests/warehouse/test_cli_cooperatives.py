"""`chorus-etl invoices` and `invoice NUMBER` when two cooperatives use the same numbers: the
cooperative is a column and a filter, and a number is never shown mixed across cooperatives."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from chorus_etl.config import reset_settings_cache
from cli import app
from cli.invoices import LIST_COLUMNS
from tests.fixtures.isolation import (
    ANTIGONE,
    ARTENREEL,
    HOLDINGS,
    NUMBERS,
    load_two_cooperatives,
)


@pytest.fixture
def runner(any_warehouse: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    load_two_cooperatives(any_warehouse)
    monkeypatch.setenv(
        "CHORUS_ETL_DATABASE_URL", any_warehouse.url.render_as_string(hide_password=False)
    )
    monkeypatch.setenv("CHORUS_ETL_LOG_STREAM", "stderr")
    monkeypatch.setenv("CHORUS_ETL_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "250")
    reset_settings_cache()
    return CliRunner()


def _run(runner: CliRunner, *args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def _listed(runner: CliRunner, *args: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(_run(runner, "invoices", "--json", *args).stdout)
    return records


def test_the_list_shows_and_filters_the_cooperative(runner: CliRunner) -> None:
    everything = _listed(runner)
    assert LIST_COLUMNS[0] == "cooperative"
    assert sorted(
        (r["cooperative"], r["supplier_siret"], r["invoice_number"]) for r in everything
    ) == sorted((h.cooperative.id, h.cooperative.siret, n) for h in HOLDINGS for n in NUMBERS)
    for holding in HOLDINGS:
        coop = holding.cooperative
        mine = _listed(runner, "--cooperative", coop.id)
        assert {(r["cooperative"], r["supplier_siret"]) for r in mine} == {(coop.id, coop.siret)}
        assert sorted(r["total_ttc_cents"] for r in mine) == sorted(holding.amounts)
        assert _listed(runner, "--cooperative", coop.id, "--number", "FC-001") == [
            r for r in mine if r["invoice_number"] == "FC-001"
        ]
        late = _listed(
            runner, "--cooperative", coop.id, "--overdue", "--as-of", date.today().isoformat()
        )
        assert [(r["cooperative"], r["invoice_number"]) for r in late] == [(coop.id, "FC-001")]
        table = _run(runner, "invoices", "--cooperative", coop.id).stdout
        assert "cooperative" in table and coop.id in table
        other = ARTENREEL if coop is ANTIGONE else ANTIGONE
        assert other.siret not in table and other.id not in table
    assert _listed(runner, "--cooperative", "nope") == []
    assert _listed(runner, "--cooperative", ANTIGONE.id, "--structure", ARTENREEL.siret) == []

    text = _run(runner, "invoices", "--csv", "--cooperative", ARTENREEL.id).stdout
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert {r["cooperative"] for r in rows} == {ARTENREEL.id} and len(rows) == 2


def test_a_number_two_cooperatives_use_is_never_shown_mixed(runner: CliRunner) -> None:
    for extra in ((), ("--json",)):
        ambiguous = _run(runner, "invoice", "FC-001", *extra, code=2)
        assert ambiguous.stdout == ""
        lines = ambiguous.stderr.strip().splitlines()
        assert lines[0] == (
            "invoice: FC-001 is used by 2 cooperatives (antigone, artenreel); "
            "pass --cooperative ID or --structure SIRET for one:"
        )
        assert lines[1:] == [
            f"  --cooperative {c.id} --structure {c.siret}  (deposited)"
            for c in (ANTIGONE, ARTENREEL)
        ]

    (life,) = json.loads(
        _run(runner, "invoice", "fc-001", "--cooperative", ARTENREEL.id, "--json").stdout
    )
    assert (life["cooperative"], life["supplier_siret"], life["total_ttc_cents"]) == (
        ARTENREEL.id,
        ARTENREEL.siret,
        HOLDINGS[1].amounts[0],
    )
    (life,) = json.loads(
        _run(runner, "invoice", "FC-001", "--structure", ANTIGONE.siret, "--json").stdout
    )
    assert (life["cooperative"], life["total_ttc_cents"]) == (ANTIGONE.id, HOLDINGS[0].amounts[0])

    shown = _run(runner, "invoice", "FC-002", "--cooperative", ANTIGONE.id).stdout
    assert f"of {ANTIGONE.siret} (cooperative {ANTIGONE.id})" in shown
    for text in HOLDINGS[1].secrets:
        assert text not in shown

    missing = _run(runner, "invoice", "FC-001", "--cooperative", "nope", code=1)
    assert "no invoice 'FC-001' for cooperative nope" in missing.stderr
