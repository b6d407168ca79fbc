"""The dashboard in headless Chromium: it renders, raises no error, fetches nothing, and an
entrepreneur's page shows only their invoices once its script has drawn the tables.

Skipped when Chromium is not installed, except under CI=true, where that is a failure (the CI
image installs Debian's `chromium`). Screenshots are left in the test's temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tasks.report.writer import write_report
from tests.dashboard import dataset
from tests.dashboard.browser import NO_CHROMIUM, Browser, chromium_path
from tests.dashboard.pages import entrepreneur_page, numbers_of

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {NO_CHROMIUM}")
        pytest.skip(NO_CHROMIUM)
    with Browser(path) as running:
        yield running


@pytest.fixture(scope="module")
def dashboard(loaded_sqlite: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dashboard")
    write_report(loaded_sqlite, out, ecb_rate_percent=2.15, buyer_kinds={})
    return out


def test_every_page_renders_without_errors_and_offline(
    browser: Browser, dashboard: Path, tmp_path: Path
) -> None:
    pages = [dashboard / "index.html", *sorted((dashboard / "entrepreneurs").glob("*.html"))]
    assert len(pages) == 4
    for page in pages:
        shot = tmp_path / f"{page.stem}.png"
        visit = browser.visit(page, screenshot=shot)
        assert visit.errors == [], f"{page.name}: {visit.errors}"
        assert visit.requests == [page.resolve().as_uri()], "a page fetched something"
        assert visit.table_rows > 0, f"{page.name}: the script drew no table"
        assert shot.read_bytes().startswith(PNG) and shot.stat().st_size > 20_000


def test_an_entrepreneur_sees_only_their_invoices(browser: Browser, dashboard: Path) -> None:
    everyone = numbers_of("ALICE") | numbers_of("BRUNO") | numbers_of("CLARA") | numbers_of(None)
    for code in dataset.ENTREPRENEURS:
        text = browser.visit(entrepreneur_page(dashboard, code)).text
        mine = numbers_of(code)
        assert all(number in text for number in mine), code
        assert not [number for number in everyone - mine if number in text], code


FILTER_AND_SORT = """(() => {
  const box = document.querySelector('#factures .table');
  const rows = () => box.querySelectorAll('tbody tr').length;
  const input = box.querySelector('input[type=search]');
  const select = box.querySelector('select');
  input.value = 'fc-test-b';
  input.dispatchEvent(new Event('input'));
  const filtered = rows();
  select.value = 'Payée';
  select.dispatchEvent(new Event('change'));
  const paid = rows();
  input.value = '';
  input.dispatchEvent(new Event('input'));
  select.value = '';
  select.dispatchEvent(new Event('change'));
  const headers = [...box.querySelectorAll('th button')];
  const amount = headers.findIndex(b => b.textContent === 'Montant TTC');
  headers[amount].click();
  const first = box.querySelector('tbody tr').children[amount].textContent;
  return {filtered, paid, all: rows(), first: first.replace(/\\s/g, ' ')};
})()"""


def test_tables_filter_and_sort(browser: Browser, dashboard: Path) -> None:
    visit = browser.visit(dashboard / "index.html", script=FILTER_AND_SORT)
    assert visit.errors == []
    # Bruno's five invoices; two of them paid; all sixteen back; the largest amount first.
    assert visit.result == {"filtered": 5, "paid": 2, "all": 16, "first": "5 000,00 €"}


def test_the_probe_sees_errors_and_requests(browser: Browser, tmp_path: Path) -> None:
    """A page that fails and fetches: proves the checks above can fail."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!doctype html><img src="http://127.0.0.1:9/x.png">'
        '<script>console.error("bad"); throw new Error("boom");</script>',
        encoding="utf-8",
    )
    visit = browser.visit(page)
    assert any("boom" in error for error in visit.errors)
    assert any("bad" in error for error in visit.errors)
    assert "http://127.0.0.1:9/x.png" in visit.requests
