"""`chorus-etl report`: the pages, what each shows and hides, and that they need no network."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import typer
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from chorus_etl import db
from cli.report import report
from schemas.views import ENTREPRENEUR_SUMMARY, INVOICE_LIFECYCLE, REJECTION, STRUCTURE_SUMMARY
from tasks.report.data import load_report_data
from tasks.report.table import Column, Table
from tasks.report.writer import write_report
from tests.dashboard import dataset
from tests.dashboard.helpers import rows
from tests.dashboard.pages import entrepreneur_page, numbers_of, tables

ALL_NUMBERS = {dataset.number(s.number) for s in dataset.SPECS}


@pytest.fixture
def written(loaded: Engine, tmp_path: Path) -> Path:
    """The dashboard of the fixed dataset, on each engine, with the default settings."""
    result = write_report(loaded, tmp_path / "out", ecb_rate_percent=2.15, buyer_kinds={})
    assert not result.settings_rewritten
    return tmp_path / "out"


def test_one_page_for_the_cooperative_and_one_per_entrepreneur(written: Path) -> None:
    pages = sorted(p.relative_to(written).as_posix() for p in written.rglob("*.html"))
    assert pages == [
        "entrepreneurs/47840796800054-CLARA.html",
        "entrepreneurs/51858054300107-ALICE.html",
        "entrepreneurs/51858054300107-BRUNO.html",
        "index.html",
    ]
    index = (written / "index.html").read_text(encoding="utf-8")
    for code in dataset.ENTREPRENEURS:
        assert f'"{entrepreneur_page(written, code).relative_to(written).as_posix()}"' in index


def test_an_entrepreneur_page_holds_their_invoices_and_nobody_else_s(written: Path) -> None:
    for code, (_, name) in dataset.ENTREPRENEURS.items():
        html = entrepreneur_page(written, code).read_text(encoding="utf-8")
        mine = numbers_of(code)
        shown = {row[0] for row in tables(html)["factures"]}
        assert shown == mine
        for other in ALL_NUMBERS - mine:
            assert other not in html, f"{other} on {code}'s page"
        for other_code, (_, other_name) in dataset.ENTREPRENEURS.items():
            if other_code != code:
                assert other_name not in html and other_code not in html
        assert name in html
        assert "href=" not in html, "an entrepreneur's page links nowhere"


def test_the_cooperative_page_shows_everyone_and_the_view_figures(written: Path) -> None:
    html = (written / "index.html").read_text(encoding="utf-8")
    data = tables(html)
    assert {row[0] for row in data["factures"]} == ALL_NUMBERS
    assert {row[0] for row in data["retards"]} == {dataset.number("A1"), dataset.number("B4")}
    assert {row[1] for row in data["rejets"]} == {
        dataset.number(n) for n in ("A4", "B1", "B2", "C2", "C5")
    }
    assert len(data["executions"]) == 2
    text = re.sub(r"\s", " ", html)
    assert "7 400,00 €" in text  # outstanding: 6,500 € at Antigone + 900 € at Artenréel
    assert "1 900,00 €" in text  # overdue: A1 1,200 € + B4 700 €
    assert "182,94 €" in text  # interest 501 + 667 + 834 + 292 cents + 4 × 40 € indemnities
    assert "10,15 %" in text


def test_pages_need_no_network(written: Path) -> None:
    for page in written.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "http://" not in html and "https://" not in html, page
        assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\(", html), page
        assert "default-src 'none'" in html, page
        assert page.stat().st_size < 200_000


def test_table_data_cannot_close_its_script_element() -> None:
    hostile = "</script><script>alert(1)</script>"
    for body in ([[hostile]], [[hostile]] * 4):  # as it is, and through a string pool
        payload = Table("t", "T", [Column("Acheteur")], body).payload()
        assert "<" not in payload and ">" not in payload
        document = json.loads(payload)
        pool = document["pools"].get("0")
        assert [pool[v] if pool else v for (v,) in document["rows"]] == [hostile] * len(body)


def test_stale_entrepreneur_pages_are_removed(loaded: Engine, tmp_path: Path) -> None:
    stale = tmp_path / "entrepreneurs" / "51858054300107-GONE.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("old figures", encoding="utf-8")
    result = write_report(loaded, tmp_path, ecb_rate_percent=2.15, buyer_kinds={})
    assert not stale.exists()
    assert result.entrepreneur_pages == 3


def test_a_changed_setting_is_applied_before_reading(any_warehouse: Engine, tmp_path: Path) -> None:
    dataset.load(any_warehouse)
    result = write_report(any_warehouse, tmp_path, ecb_rate_percent=3.15, buyer_kinds={})
    assert result.settings_rewritten
    assert "11,15 %" in (tmp_path / "index.html").read_text(encoding="utf-8")


def _cli() -> typer.Typer:
    """The command as the lead registers it (`app.command("report")(report.report)`)."""
    app = typer.Typer()
    app.command("report")(report)
    app.command("noop")(lambda: None)
    return app


def test_cli_writes_the_pages_and_reports_them(
    warehouse: Engine, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset.load(warehouse)
    monkeypatch.setenv("CHORUS_ETL_DATABASE_URL", sqlite_url)
    out = tmp_path / "dashboard"
    result = CliRunner().invoke(_cli(), ["report", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["index"] == str(out / "index.html")
    assert len(summary["pages"]) == 4 and summary["entrepreneur_pages"] == 3
    human = CliRunner().invoke(_cli(), ["report", str(out)])
    assert human.exit_code == 0, human.output
    assert str(out / "index.html") in human.output and "4 pages written" in human.output


def test_cli_says_to_migrate_an_unmigrated_warehouse(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.upgrade(sqlite_url, "0001")
    monkeypatch.setenv("CHORUS_ETL_DATABASE_URL", sqlite_url)
    result = CliRunner().invoke(_cli(), ["report", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "chorus-etl db upgrade" in result.output


def test_the_report_reads_the_views_figures(loaded: Engine) -> None:
    """The report's one-evaluation shortcut (a lifecycle snapshot, the summaries' own SQL over
    it) gives exactly the views' rows."""
    data = load_report_data(loaded)
    for got, view in (
        (data.entrepreneurs, ENTREPRENEUR_SUMMARY),
        (data.structures, STRUCTURE_SUMMARY),
        (data.invoices, INVOICE_LIFECYCLE),
        (data.rejections, REJECTION),
    ):
        read = [i for i, name in enumerate(view.column_names) if name in got[0]]
        expected = {tuple(_plain(row[i]) for i in read) for row in rows(loaded, view)}
        names = [view.column_names[i] for i in read]
        assert {tuple(r[c] for c in names) for r in got} == expected, view.name


def _plain(value: object) -> object:
    """A typed view value as the report holds it (ISO dates, UTC minutes)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    return value.isoformat() if isinstance(value, date) else value


def test_long_tables_are_capped_and_say_so(
    loaded: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What keeps a 100,000-invoice page small: the latest rows only, and a note."""
    monkeypatch.setattr("tasks.report.tables.MAX_INVOICE_ROWS", 3)
    write_report(loaded, tmp_path, ecb_rate_percent=2.15, buyer_kinds={})
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    shown = {row[0] for row in tables(html)["factures"]}
    # The latest by deposit date, or issue date before the deposit: the three not deposited.
    assert shown == {dataset.number(n) for n in ("B5", "C3", "C4")}
    assert "3 factures affichées sur 16 : les plus récentes." in html
