"""Completing a suspended invoice over HTTP: once, whatever is lost on the way."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from chorus_etl.config import reset_settings_cache
from chorus_etl.leases import ClaimLost
from chorus_etl.settings import Settings
from chorus_pro.client import ChorusProClient
from chorus_pro.simulator import SimulatorHandle
from tasks.returns import ReturnOrder, ReturnOutcome, place_order
from tests.returns.conftest import (
    ACCOUNTING,
    COMPLETER,
    ENTREPRENEUR,
    UPLOAD,
    Returned,
    document,
    returned,
)


def _order(r: Returned, *files: Path, comment: str | None = "BL joint") -> int:
    placed = place_order(
        r.engine,
        Settings(),
        None,
        ReturnOrder(
            kind="complete", number=r.number, files=[str(f) for f in files], comment=comment
        ),
    )
    assert placed.problem is None, placed.reasons
    assert placed.action_id is not None
    return placed.action_id


def test_a_suspended_invoice_is_completed_once_and_people_are_told(
    any_warehouse: Engine,
    client: ChorusProClient,
    simulator: SimulatorHandle,
    tmp_path: Path,
) -> None:
    r = returned(any_warehouse, client, simulator, "C-001", "SUSPENDUE")
    delivery = document(tmp_path, "bon de livraison n°1.pdf")

    outcome = r.answer(_order(r, delivery))

    assert isinstance(outcome, ReturnOutcome)
    assert (outcome.result, outcome.chorus_status) == ("done", "COMPLETEE")
    assert r.actions_on_chorus() == ["COMPLETER"]
    assert r.chorus()["statut"] == "COMPLETEE"
    uploads = r.simulator.control.store()["uploads"]["items"]
    sent = hashlib.sha256(delivery.read_bytes()).hexdigest()
    assert [u["sha256"] for u in uploads if u["sha256"] == sent] == [sent]
    assert r.calls(COMPLETER) == 1
    assert r.action(outcome.action_id).state == "done"
    assert [(k, a) for k, a, _ in r.alerts()] == [
        ("completed", "entrepreneur"),
        ("completed", "accounting"),
    ]
    assert r.alerts()[0][2] == "Facture C-001 complétée sur Chorus Pro"
    assert r.recipients() == [ENTREPRENEUR, ACCOUNTING]


def test_the_same_command_again_sends_nothing(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle, tmp_path: Path
) -> None:
    r = returned(warehouse, client, simulator, "C-002", "SUSPENDUE")
    delivery = document(tmp_path, "bl.pdf")
    first = _order(r, delivery)
    r.answer(first)

    again = _order(r, delivery)
    outcome = r.answer(again)

    assert again == first
    assert isinstance(outcome, ReturnOutcome)
    assert outcome.result == "skipped"
    assert r.actions_on_chorus() == ["COMPLETER"]


def test_not_suspended_on_chorus_pro_is_refused_before_any_call(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    r = returned(warehouse, client, simulator, "C-003", "MISE_A_DISPOSITION")

    outcome = r.answer(_order(r, comment="Voici le BL"))

    assert isinstance(outcome, ReturnOutcome)
    assert outcome.result == "refused"
    assert "pas suspendue" in (outcome.detail or "")
    assert "MISE_A_DISPOSITION" in (outcome.detail or "")
    assert r.calls(COMPLETER) == 0
    assert r.actions_on_chorus() == []
    assert [k for k, _, _ in r.alerts()] == ["return_refused", "return_refused"]


def test_chorus_pro_answers_20002_when_the_status_moved_meanwhile(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    """The status was SUSPENDUE when read; the buyer moved the invoice on while the call was on
    its way (held by the simulator's gate): Chorus Pro's refusal is kept with its code."""
    r = returned(warehouse, client, simulator, "C-004", "SUSPENDUE")
    action_id = _order(r, comment="Voici le BL")
    found: list[object] = []
    simulator.control.close_gate(COMPLETER)
    try:
        worker = threading.Thread(target=lambda: found.append(r.answer(action_id)))
        worker.start()
        simulator.control.wait_gate(1)
        simulator.control.set_status(r.chorus_id, "MISE_EN_PAIEMENT")
    finally:
        simulator.control.open_gate()
    worker.join(timeout=60)

    (outcome,) = found
    assert isinstance(outcome, ReturnOutcome)
    assert outcome.result == "refused"
    stored = r.action(action_id)
    assert (stored.state, stored.error_code) == ("refused", "20002")
    assert (stored.error_label or "").startswith("GDP_MSG_11.033")
    assert r.calls(COMPLETER) == 1


def test_a_lost_answer_is_settled_from_the_status_history(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle, tmp_path: Path
) -> None:
    r = returned(warehouse, client, simulator, "C-005", "SUSPENDUE")
    action_id = _order(r, document(tmp_path, "bl.pdf"))
    simulator.control.set_faults(rate_commit_then_fail=1.0, paths=[COMPLETER], max_faults=1)

    outcome = r.answer(action_id)

    assert isinstance(outcome, ReturnOutcome)
    assert outcome.result == "done"
    assert r.calls(COMPLETER) == 1, "applied, answer lost: never sent again"
    assert r.actions_on_chorus() == ["COMPLETER"]
    assert r.calls(UPLOAD) == 1


def test_a_call_that_did_not_land_is_sent_again_once(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    """A 502 on the write: ambiguous for the client; the history shows nothing, the invoice
    still waits, so it is sent again, and lands once."""
    r = returned(warehouse, client, simulator, "C-006", "SUSPENDUE")
    action_id = _order(r, comment="Voici le BL")
    simulator.control.set_faults(rate_502=1.0, paths=[COMPLETER], max_faults=1)

    outcome = r.answer(action_id)

    assert isinstance(outcome, ReturnOutcome)
    assert outcome.result == "done"
    assert r.calls(COMPLETER) == 2
    assert r.actions_on_chorus() == ["COMPLETER"]
    assert r.action(action_id).attempts == 1


def test_files_are_checked_as_deposit_attachments(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle, tmp_path: Path
) -> None:
    r = returned(warehouse, client, simulator, "C-007", "SUSPENDUE")
    placed = place_order(
        warehouse,
        Settings(),
        None,
        ReturnOrder(
            kind="complete",
            number="C-007",
            files=[str(document(tmp_path, "macro.exe")), str(tmp_path / "absent.pdf")],
        ),
    )
    assert placed.problem == "refused"
    assert any("format que Chorus Pro refuse" in reason for reason in placed.reasons)
    assert any("introuvable" in reason for reason in placed.reasons)
    assert placed.action_id is None
    assert r.calls(UPLOAD) == 0


def test_the_invoice_command_shows_the_completion_in_the_life(
    warehouse: Engine,
    client: ChorusProClient,
    simulator: SimulatorHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = returned(warehouse, client, simulator, "C-008", "SUSPENDUE")
    r.answer(_order(r, document(tmp_path, "bl.pdf"), comment="BL signé"))
    monkeypatch.setenv("CHORUS_ETL_DATABASE_URL", str(warehouse.url))
    monkeypatch.setenv("COLUMNS", "250")
    reset_settings_cache()
    from cli import app

    shown = CliRunner().invoke(app, ["invoice", "C-008", "--json"])

    assert shown.exit_code == 0, shown.output
    (life,) = json.loads(shown.output)
    (action,) = life["returns"]
    assert {k: action[k] for k in ("kind", "origin", "state", "chorus_status", "files")} == {
        "kind": "complete",
        "origin": "command",
        "state": "done",
        "chorus_status": "COMPLETEE",
        "files": ["bl.pdf"],
    }
    human = CliRunner().invoke(app, ["invoice", "C-008"])
    assert "Returned invoice answered (complete, recycle) (1)" in human.output
    assert "bl.pdf · « BL signé »" in human.output


def test_an_action_a_live_run_holds_is_left_alone_and_taken_over_once_that_run_is_gone(
    warehouse: Engine, client: ChorusProClient, simulator: SimulatorHandle, tmp_path: Path
) -> None:
    """The first run claims the completion and stops before sending it: while it lives, a
    second run leaves it alone; once it is gone, the next run sends it, once, and the first run
    can no longer renew its claim."""
    r = returned(warehouse, client, simulator, "C-009", "SUSPENDUE")
    action_id = _order(r, document(tmp_path, "bl.pdf"))
    first = r.answerer()
    assert first.store.claim(first.store.load(action_id), results_seen=0)

    beside = r.answer(action_id)
    assert isinstance(beside, ReturnOutcome)
    assert (beside.result, beside.detail) == ("skipped", "another run is answering it")
    assert r.calls(COMPLETER) == 0

    first.close()
    after = r.answer(action_id)
    assert isinstance(after, ReturnOutcome)
    assert after.result == "done"
    assert r.calls(COMPLETER) == 1
    assert r.actions_on_chorus() == ["COMPLETER"]
    with pytest.raises(ClaimLost):
        first.store.renew(action_id)
