"""The `/_sim` control plane: stats, configuration, clock, store, and the documented code table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.codes import CATALOGUE
from chorus_pro.simulator.config import SimulatorConfig
from chorus_pro.simulator.server import SimulatorControlError
from chorus_pro.simulator.store import Store
from tests.simulator.helpers import RECHERCHER, SOUMETTRE, Api, invoice_body

DOCS = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def test_stats_count_api_calls_per_path(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.reset_stats()
    api.token()
    api.submit("F-1")
    api.search()
    api.search()
    api.post(SOUMETTRE, invoice_body("F-1"))

    stats = simulator.control.stats()

    assert stats["requests"] == {"/api/oauth/token": 1, SOUMETTRE: 2, RECHERCHER: 2}
    assert stats["total"] == 5
    assert stats["responses"][SOUMETTRE] == {"200": 1, "400": 1}
    simulator.control.store()
    assert simulator.control.stats()["total"] == 5, "control calls are not counted"
    simulator.control.reset_stats()
    assert simulator.control.stats()["total"] == 0


@pytest.mark.parametrize("reset", ["reset", "reset_stats"])
def test_an_answer_outliving_a_reset_is_not_counted_after_it(reset: str) -> None:
    # A slow fault holds its answer back after the test that caused it is over; the next
    # test's stats must not show an answer to a request it did not make.
    store = Store(SimulatorConfig())
    epoch = store.count_request(RECHERCHER)
    getattr(store, reset)()
    store.count_response(RECHERCHER, 200, epoch)
    store.count_response(RECHERCHER, 503, store.count_request(RECHERCHER))

    assert store.requests == {RECHERCHER: 1}
    assert store.responses == {RECHERCHER: {"503": 1}}


def test_requests_in_flight_outlive_a_reset_until_their_handler_ends() -> None:
    store = Store(SimulatorConfig())
    store.count_request(RECHERCHER)
    store.count_request(RECHERCHER)
    store.reset()
    assert store.in_flight == 2, "a killed client's request is still being handled"
    store.request_finished()
    store.request_finished()
    assert store.in_flight == 0


def test_stats_say_nothing_is_in_flight_once_calls_return(
    simulator: SimulatorHandle, api: Api
) -> None:
    api.post(RECHERCHER, {})
    assert simulator.control.stats()["in_flight"] == 0


def test_config_is_merged_and_validated(simulator: SimulatorHandle) -> None:
    simulator.control.set_config(latency_ms=3)
    config = simulator.control.set_config(seed=7)

    assert (config["latency_ms"], config["seed"]) == (3, 7)
    with pytest.raises(SimulatorControlError, match="unknown_setting"):
        simulator.control.set_config(unknown_setting=True)
    with pytest.raises(SimulatorControlError):
        simulator.control.set_config(business_errors_http=500)
    with pytest.raises(SimulatorControlError):
        simulator.control.set_config(unsubscribed_apis=["engagements"])


def test_reset_restores_the_start_up_configuration(simulator: SimulatorHandle) -> None:
    simulator.control.set_config(business_errors_http=200, seed=5)

    simulator.control.reset()

    config = simulator.control.config()
    assert (config["business_errors_http"], config["seed"]) == (400, 0)


def test_clock_moves_forward_only(simulator: SimulatorHandle) -> None:
    start = simulator.control.clock()["now"]

    moved = simulator.control.advance(days=1, hours=2, minutes=3)

    assert moved["now"] > start
    with pytest.raises(SimulatorControlError):
        simulator.control.set_clock(start)
    with pytest.raises(SimulatorControlError):
        simulator.control.advance(days=-1)
    later = simulator.control.set_clock("2099-01-01T10:00:00+01:00")
    assert later["now"] == "2099-01-01T10:00:00+01:00"


def test_clock_start_cannot_change_under_existing_invoices(
    api: Api, simulator: SimulatorHandle
) -> None:
    api.submit("F-1")

    with pytest.raises(SimulatorControlError, match="clock_start"):
        simulator.control.set_config(clock_start="2020-01-01")


def test_store_snapshot_shape(api: Api, simulator: SimulatorHandle) -> None:
    api.submit("F-1")

    store = simulator.control.store()

    (invoice,) = store["invoices"]
    assert {
        "identifiantFactureCPP",
        "numeroFacture",
        "supplier_siret",
        "idFournisseur",
        "statut",
        "history",
        "outcome",
        "planned",
    } <= invoice.keys()
    assert store["uploads"]["count"] == 0
    assert store["flux"] == []
    assert store["tokens"]["valid"] == 1


def test_manual_invoice_validation(simulator: SimulatorHandle) -> None:
    with pytest.raises(SimulatorControlError, match="supplier"):
        simulator.control.manual_invoice(numeroFacture="X", codeDestinataire="21670447800017")
    with pytest.raises(SimulatorControlError, match="codeDestinataire"):
        simulator.control.manual_invoice(supplier_siret="51858054300107", numeroFacture="X")


def test_every_error_code_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = re.findall(r"^\|\s*(\d{5})\s*\|", text, flags=re.MULTILINE)

    assert {str(code.code) for code in CATALOGUE} <= set(rows)
