"""Recycling an invoice sent to the wrong place over HTTP: the new routing checked as at ingest,
sent once, and the warehouse routed as Chorus Pro now routes it."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chorus_etl.settings import Settings
from chorus_pro.client import ChorusProClient
from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import BUYER_ENGAGEMENT_REQUIRED
from schemas.warehouse import ReturnAction
from tasks.returns import ReturnOrder, ReturnOutcome, place_order
from tests.returns.conftest import RECYCLER, Returned, returned


def _order(r: Returned, **routing: str) -> ReturnOrder:
    return ReturnOrder(kind="recycle", number=r.number, comment="Service corrigé", **routing)


def test_an_invoice_to_recycle_goes_to_its_new_service_once(
    any_warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    r = returned(any_warehouse, client, simulator, "R-001", "A_RECYCLER", service="12C")

    placed = place_order(r.engine, Settings(), client, _order(r, service_code="28E"))
    assert placed.action_id is not None, placed.reasons
    outcome = r.answer(placed.action_id)

    assert isinstance(outcome, ReturnOutcome)
    assert (outcome.result, outcome.chorus_status, outcome.detail) == ("done", "DEPOSEE", None)
    assert r.actions_on_chorus() == ["RECYCLER"]
    on_chorus = r.chorus()
    assert (on_chorus["statut"], on_chorus["codeServiceExecutant"]) == ("DEPOSEE", "28E")
    assert r.invoice().buyer_service_code == "28E"
    assert [k for k, _, _ in r.alerts()] == ["recycled", "recycled"]
    assert r.calls(RECYCLER) == 1


def test_a_routing_the_directory_refuses_is_not_sent(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    r = returned(warehouse, client, simulator, "R-002", "A_RECYCLER")

    unknown = place_order(r.engine, Settings(), client, _order(r, service_code="99Z"))
    inactive = place_order(r.engine, Settings(), client, _order(r, service_code="07A"))
    needs_engagement = place_order(
        r.engine,
        Settings(),
        client,
        _order(r, buyer_siret=BUYER_ENGAGEMENT_REQUIRED.siret, service_code=""),
    )

    assert unknown.problem == "refused"
    assert unknown.reasons == [
        "Le code service 99Z n'existe pas chez ce client : vérifiez-le auprès de lui."
    ]
    assert inactive.problem == "refused" and "inactif" in inactive.reasons[0]
    assert needs_engagement.problem == "refused"
    assert "numéro d'engagement" in needs_engagement.reasons[0]
    with Session(warehouse) as session:
        assert session.exec(select(ReturnAction)).all() == []
    assert r.calls(RECYCLER) == 0
    assert r.invoice().buyer_service_code == "12C"


def test_not_to_recycle_is_refused_before_any_call(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    r = returned(warehouse, client, simulator, "R-003", "MISE_EN_PAIEMENT")

    placed = place_order(r.engine, Settings(), client, _order(r, service_code="28E"))
    assert placed.action_id is not None
    outcome = r.answer(placed.action_id)

    assert isinstance(outcome, ReturnOutcome)
    assert outcome.result == "refused"
    assert "pas à recycler" in (outcome.detail or "")
    assert r.calls(RECYCLER) == 0
    assert r.invoice().buyer_service_code == "12C"


def test_a_lost_answer_is_settled_from_the_status_history(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    r = returned(warehouse, client, simulator, "R-004", "A_RECYCLER")
    placed = place_order(r.engine, Settings(), client, _order(r, service_code="28E"))
    assert placed.action_id is not None
    simulator.control.set_faults(rate_commit_then_fail=1.0, paths=[RECYCLER], max_faults=1)

    outcome = r.answer(placed.action_id)

    assert isinstance(outcome, ReturnOutcome)
    assert outcome.result == "done"
    assert r.calls(RECYCLER) == 1
    assert r.actions_on_chorus() == ["RECYCLER"]
    assert r.invoice().buyer_service_code == "28E"


def test_an_engagement_chorus_pro_does_not_take_is_said_and_not_assumed(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    """Whether `recycler` changes the engagement is unproven: what Chorus Pro holds is read
    back, kept in the warehouse, and the people told."""
    simulator.control.set_config(recycle_engagement="ignored")
    r = returned(warehouse, client, simulator, "R-005", "A_RECYCLER", engagement="EJ-OLD")

    placed = place_order(
        r.engine, Settings(), client, _order(r, service_code="28E", engagement_number="EJ-NEW")
    )
    assert placed.action_id is not None
    outcome = r.answer(placed.action_id)

    assert isinstance(outcome, ReturnOutcome)
    assert outcome.result == "done"
    assert "numéro d'engagement reste EJ-OLD au lieu de EJ-NEW" in (outcome.detail or "")
    invoice = r.invoice()
    assert (invoice.buyer_service_code, invoice.engagement_number) == ("28E", "EJ-OLD")
    assert r.action(placed.action_id).detail == outcome.detail
