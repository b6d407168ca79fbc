"""Two cooperatives in one warehouse: each one's views, dashboard and entrepreneur pages hold its
rows and nothing of the other's, though both have an entrepreneur E001 and invoices FC-001, FC-002."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from cli.report import report
from schemas.views import (
    ENTREPRENEUR_SUMMARY,
    INVOICE_CURRENT,
    INVOICE_LIFECYCLE,
    PIPELINE_RUN,
    REJECTION,
    STRUCTURE_SUMMARY,
)
from tasks.report.writer import write_report
from tests.dashboard.helpers import records
from tests.dashboard.pages import tables
from tests.fixtures.isolation import (
    ANTIGONE,
    ARTENREEL,
    CODE,
    HOLDINGS,
    NUMBERS,
    Holding,
    load_two_cooperatives,
    use_two_cooperatives,
)

NAMES = {h.cooperative.id: h.cooperative.name for h in HOLDINGS}


def _other(holding: Holding) -> Holding:
    (other,) = [h for h in HOLDINGS if h is not holding]
    return other


@pytest.fixture
def two(any_warehouse: Engine) -> Engine:
    load_two_cooperatives(any_warehouse)
    return any_warehouse


def test_each_view_queried_for_a_cooperative_returns_its_rows_only(two: Engine) -> None:
    for holding in HOLDINGS:
        coop = holding.cooperative
        for view in (INVOICE_CURRENT, INVOICE_LIFECYCLE):
            rows = records(two, view, cooperative=coop.id)
            assert sorted(r["invoice_number"] for r in rows) == sorted(NUMBERS), view.name
            assert {r["supplier_siret"] for r in rows} == {coop.siret}, view.name
            assert {r["entrepreneur_name"] for r in rows} == {holding.entrepreneur_name}
            assert sorted(r["total_ttc_cents"] for r in rows) == sorted(holding.amounts)
        (summary,) = records(two, ENTREPRENEUR_SUMMARY, cooperative=coop.id)
        assert (summary["entrepreneur_code"], summary["entrepreneur_name"]) == (
            CODE,
            holding.entrepreneur_name,
        )
        assert summary["total_ttc_cents"] == sum(holding.amounts)
        assert summary["overdue_ttc_cents"] == holding.amounts[0]
        (structure,) = records(two, STRUCTURE_SUMMARY, cooperative=coop.id)
        assert structure["supplier_siret"] == coop.siret
        assert structure["invoice_count"] == 2
        rejections = records(two, REJECTION, cooperative=coop.id)
        assert [r["reason"] for r in rejections] == (
            [holding.rejection] if holding.rejection else []
        )
        runs = records(two, PIPELINE_RUN, cooperative=coop.id)
        assert [json.loads(r["counts_json"]) for r in runs] == [{f"deposited_{coop.id}": 2}]
    everyone = records(two, ENTREPRENEUR_SUMMARY, entrepreneur_code=CODE)
    assert len(everyone) == 2, "one E001 per cooperative, never merged"


def _amounts(page_tables: dict[str, list[list[object]]], with_entrepreneur: bool) -> set[object]:
    """Every TTC cell of the invoice table (the column after the buyer)."""
    column = 3 if with_entrepreneur else 2
    return {row[column] for row in page_tables["factures"]}


def test_each_cooperative_dashboard_holds_nothing_of_the_other(two: Engine, tmp_path: Path) -> None:
    out = tmp_path / "dashboard"
    result = write_report(two, out, ecb_rate_percent=2.15, buyer_kinds={}, cooperatives=NAMES)

    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    assert pages == [
        f"{ANTIGONE.id}/entrepreneurs/{ANTIGONE.siret}-{CODE}.html",
        f"{ANTIGONE.id}/index.html",
        f"{ARTENREEL.id}/entrepreneurs/{ARTENREEL.siret}-{CODE}.html",
        f"{ARTENREEL.id}/index.html",
        "index.html",
    ]
    assert result.cooperatives == {c: out / c / "index.html" for c in NAMES}
    assert result.invoices == 4 and result.entrepreneur_pages == 2
    for holding in HOLDINGS:
        coop, other = holding.cooperative, _other(holding)
        folder = out / coop.id
        index_html = (folder / "index.html").read_text(encoding="utf-8")
        for text in holding.secrets:
            assert text in index_html or text == holding.entrepreneur_email, text
        for page in (folder / "index.html", folder / "entrepreneurs" / f"{coop.siret}-{CODE}.html"):
            html = page.read_text(encoding="utf-8")
            assert holding.entrepreneur_name in html and holding.buyer_name in html
            for text in other.secrets:
                assert text not in html, f"{other.cooperative.id}'s {text!r} on {page}"
            found = tables(html)
            assert sorted(row[0] for row in found["factures"]) == sorted(NUMBERS)
            assert _amounts(found, page.name == "index.html") == set(holding.amounts)
        index = tables((folder / "index.html").read_text(encoding="utf-8"))
        assert [row[2] for row in index["entrepreneurs"]] == [coop.siret]
        assert [row[0] for row in index["structures"]] == [coop.siret]
        assert [row[0] for row in index["retards"]] == [NUMBERS[0]]
        assert [row[5] for row in index["executions"]] == [f"deposited_{coop.id} 2"]
        assert coop.name in (folder / "index.html").read_text(encoding="utf-8")

    overview = (out / "index.html").read_text(encoding="utf-8")
    found = tables(overview)
    assert sorted(row[1] for row in found["cooperatives"]) == sorted(NAMES)
    assert sorted(row[0][1] for row in found["cooperatives"]) == [
        f"{c}/index.html" for c in sorted(NAMES)
    ]
    assert [row[5] for row in found["executions"]] == ["installation_wide 4"]
    for holding in HOLDINGS:
        assert holding.cooperative.name in overview
        for text in holding.secrets:
            assert text not in overview, f"{text!r} on the page above the cooperatives"
    assert "factures" not in found


def test_one_cooperative_alone_and_stale_folders(two: Engine, tmp_path: Path) -> None:
    out = tmp_path / "dashboard"
    write_report(two, out, ecb_rate_percent=2.15, buyer_kinds={}, cooperatives=NAMES)
    shutil.copytree(out / ARTENREEL.id, out / "gone")
    (out / "notes").mkdir()
    (out / "notes" / "index.html").write_text("not a dashboard", encoding="utf-8")
    (out / "entrepreneurs").mkdir()
    (out / "entrepreneurs" / "old.html").write_text("everyone's figures", encoding="utf-8")
    antigone_page = out / ANTIGONE.id / "index.html"
    antigone_page.write_text("before", encoding="utf-8")
    artenreel_page = out / ARTENREEL.id / "index.html"
    artenreel_page.write_text("before", encoding="utf-8")

    write_report(
        two, out, ecb_rate_percent=2.15, buyer_kinds={}, cooperatives=NAMES, cooperative="antigone"
    )
    assert "Alice Martin" in antigone_page.read_text(encoding="utf-8")
    assert artenreel_page.read_text(encoding="utf-8") == "before", "the other one is left alone"

    write_report(two, out, ecb_rate_percent=2.15, buyer_kinds={}, cooperatives=NAMES)
    assert not (out / "gone").exists(), "a cooperative reported no more has no folder"
    assert (out / "notes" / "index.html").read_text(encoding="utf-8") == "not a dashboard"
    assert not (out / "entrepreneurs" / "old.html").exists()
    assert "Bruno Keller" in artenreel_page.read_text(encoding="utf-8")


def test_a_cooperative_of_the_warehouse_missing_from_the_accounts_still_gets_its_folder(
    two: Engine, tmp_path: Path
) -> None:
    result = write_report(
        two,
        tmp_path,
        ecb_rate_percent=2.15,
        buyer_kinds={},
        cooperatives={ANTIGONE.id: ANTIGONE.name},
    )
    assert set(result.cooperatives) == {ANTIGONE.id, ARTENREEL.id}
    assert "Bruno Keller" in (tmp_path / ARTENREEL.id / "index.html").read_text(encoding="utf-8")


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("report")(report)
    app.command("noop")(lambda: None)
    return app


def test_cli_reports_each_cooperative_and_one_on_demand(
    warehouse: Engine, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_two_cooperatives(warehouse)
    use_two_cooperatives(monkeypatch, tmp_path)
    monkeypatch.setenv("CHORUS_ETL_DATABASE_URL", sqlite_url)
    out = tmp_path / "dashboard"
    result = CliRunner().invoke(_cli(), ["report", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["cooperatives"] == {c: str(out / c / "index.html") for c in NAMES}
    assert ANTIGONE.name in (out / ANTIGONE.id / "index.html").read_text(encoding="utf-8")

    one = CliRunner().invoke(
        _cli(), ["report", str(tmp_path / "one"), "--cooperative", "artenreel"]
    )
    assert one.exit_code == 0, one.output
    assert (tmp_path / "one" / ARTENREEL.id / "index.html").is_file()
    assert not (tmp_path / "one" / ANTIGONE.id).exists()

    unknown = CliRunner().invoke(_cli(), ["report", str(tmp_path / "x"), "--cooperative", "nope"])
    assert unknown.exit_code == 1
    assert "no cooperative 'nope'" in unknown.output
