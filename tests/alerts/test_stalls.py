"""Bounded waits: after the bound exactly one accounting alert, none before, none repeated.

The mechanism every "retried next run" place uses (`tasks/alerts/stalls.py`), on both engines,
with the clock given rather than waited for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from chorus_etl.settings import Settings
from schemas.warehouse import Alert
from tasks.alerts import stalls
from tests.alerts.helpers import ACCOUNTING, COOPERATIVE, SUPPLIER, alerts

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BOUNDS = stalls.WaitBounds(after=timedelta(days=3), runs=6)
SETTINGS = Settings()


def _wait(number: str, error: str = "TransientError: HTTP 503") -> stalls.Wait:
    return stalls.Wait(
        subject=f"{SUPPLIER}:{number}",
        cooperative=COOPERATIVE,
        label=stalls.invoice_label(SUPPLIER, number),
        error=error,
    )


def _run(
    engine: Engine,
    at: datetime,
    *waits: stalls.Wait,
    run: str | None = None,
    settled: tuple[str, ...] = (),
    bounds: stalls.WaitBounds = BOUNDS,
) -> stalls.StallReport:
    return stalls.record_waits(
        engine,
        stalls.DIRECTORY,
        list(waits),
        settled=settled,
        bounds=bounds,
        run=run or at.isoformat(),
        now=at,
        settings=SETTINGS,
    )


def _stalled(engine: Engine) -> list[Alert]:
    return [a for a in alerts(engine) if a.kind == "stalled_directory"]


def test_past_the_age_bound_one_alert_names_the_invoice_and_its_last_error(
    any_warehouse: Engine,
) -> None:
    before = [_run(any_warehouse, T0 + timedelta(days=d), _wait("F-1")) for d in (0, 1, 3)]
    assert _stalled(any_warehouse) == [], "3 days exactly is not more than 3 days"

    crossing = _run(
        any_warehouse, T0 + timedelta(days=3, minutes=1), _wait("F-1", "TransientError: 502")
    )
    again = [_run(any_warehouse, T0 + timedelta(days=d), _wait("F-1")) for d in (4, 5)]

    assert [r.alerts for r in before] == [[], [], []]
    (alert,) = _stalled(any_warehouse)
    assert crossing.alerts == [alert.id] and crossing.over_bound == 1
    assert [(r.alerts, r.over_bound) for r in again] == [([], 1), ([], 1)]
    assert (alert.audience, alert.recipient, alert.cooperative, alert.invoice_id) == (
        "accounting",
        ACCOUNTING,
        COOPERATIVE,
        None,
    )
    assert "annuaire Chorus Pro" in alert.subject
    assert f"Facture F-1 (structure {SUPPLIER})" in alert.body
    assert "en attente depuis le 01/12/2026 à 09:00, 4 passage(s)" in alert.body
    assert "dernière erreur : TransientError: 502" in alert.body
    assert "chorus-etl doctor" in alert.body


def test_past_the_run_bound_one_alert_and_a_run_counts_once(any_warehouse: Engine) -> None:
    bounds = stalls.WaitBounds(after=timedelta(days=30), runs=2)
    for run in ("a", "a", "b", "b"):
        _run(any_warehouse, T0, _wait("F-1"), run=run, bounds=bounds)
    assert _stalled(any_warehouse) == [], "two runs, however many calls, are not more than two"

    third = _run(any_warehouse, T0, _wait("F-1"), run="c", bounds=bounds)
    fourth = _run(any_warehouse, T0, _wait("F-1"), run="d", bounds=bounds)

    assert len(third.alerts) == 1 and fourth.alerts == []
    assert len(_stalled(any_warehouse)) == 1
    (row,) = stalls.list_waits(any_warehouse)
    assert (row.runs, row.alerted_at) == (4, T0)


def test_a_new_situation_alerts_again_an_unchanged_one_never(any_warehouse: Engine) -> None:
    day = timedelta(days=1)
    for n in range(5):
        _run(any_warehouse, T0 + n * day, _wait("F-1"), *([_wait("F-2")] if n >= 2 else []))
    # F-1 crossed on day 4; F-2, seen since day 2, crosses on day 6 with F-1 still waiting.
    _run(any_warehouse, T0 + 6 * day, _wait("F-1"), _wait("F-2"))
    # F-1 settles, then waits again: a new wait, alerted only once past the bound again.
    _run(any_warehouse, T0 + 7 * day, _wait("F-2"), settled=(f"{SUPPLIER}:F-1",))
    _run(any_warehouse, T0 + 8 * day, _wait("F-1"), _wait("F-2"))
    quiet = _stalled(any_warehouse)
    _run(any_warehouse, T0 + 12 * day, _wait("F-1"), _wait("F-2"))

    first, second, third = _stalled(any_warehouse)
    assert len(quiet) == 2
    assert "F-1" in first.body and "F-2" not in first.body
    assert "Facture F-2" in second.body and "Facture F-1" not in second.body
    assert "Déjà signalé(s) et toujours en attente : 1." in second.body
    assert "Facture F-1" in third.body and "Facture F-2" not in third.body
    assert len({first.dedupe_key, second.dedupe_key, third.dedupe_key}) == 3


def test_a_wait_nobody_sees_any_more_does_not_alert(any_warehouse: Engine) -> None:
    _run(any_warehouse, T0, _wait("F-1"), _wait("F-2"))
    report = _run(any_warehouse, T0 + timedelta(days=10), _wait("F-2"))

    (alert,) = _stalled(any_warehouse)
    assert report.over_bound == 1
    assert "Facture F-2" in alert.body and "Facture F-1" not in alert.body
    assert [row.subject for row in stalls.list_waits(any_warehouse, stalls.DIRECTORY)] == [
        f"{SUPPLIER}:F-1",
        f"{SUPPLIER}:F-2",
    ]


def test_each_cooperative_hears_of_its_own_waits_only(warehouse: Engine) -> None:
    other = stalls.Wait(
        subject="33186091600013:L-1",
        cooperative="loire-ocean",
        label=stalls.invoice_label("33186091600013", "L-1"),
    )
    _run(warehouse, T0, _wait("F-1"), other)
    _run(warehouse, T0 + timedelta(days=4), _wait("F-1"), other)

    by_cooperative = {a.cooperative: a for a in _stalled(warehouse)}
    assert set(by_cooperative) == {COOPERATIVE, "loire-ocean"}
    assert "L-1" in by_cooperative["loire-ocean"].body
    assert "L-1" not in by_cooperative[COOPERATIVE].body


def test_a_whole_export_waiting_gives_one_alert_that_lists_fifty_and_counts_the_rest(
    warehouse: Engine,
) -> None:
    many = [_wait(f"F-{n:04d}") for n in range(2 * stalls.CHUNK + 1)]
    _run(warehouse, T0, *many)
    report = _run(warehouse, T0 + timedelta(days=4), *many)

    (alert,) = _stalled(warehouse)
    assert report.over_bound == len(many) and report.alerts == [alert.id]
    assert alert.subject.startswith(f"Chorus Pro : {len(many)} facture(s)")
    assert alert.body.count("- Facture F-") == stalls.LISTED_MAX
    assert f"… et {len(many) - stalls.LISTED_MAX} autre(s)" in alert.body
    assert all(row.alerted_at is not None for row in stalls.list_waits(warehouse))
