"""Fault injection: what each fault answers, what it applies, and that it is seeded."""

from __future__ import annotations

import httpx
import pytest

from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.server import SimulatorControlError
from tests.simulator.helpers import RECHERCHER, SOUMETTRE, TOKEN_PATH, Api, invoice_body

HEALTH = "/cpro/transverses/v1/health-check"


def test_429_carries_retry_after_then_recovers(api: Api, simulator: SimulatorHandle) -> None:
    api.token()
    simulator.control.set_faults(rate_429=1.0, retry_after_seconds=7, max_faults=1)

    limited = api.post(RECHERCHER, {})
    after = api.post(RECHERCHER, {})

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert after.status_code == 200
    assert simulator.control.stats()["faults"] == {"429": 1}


@pytest.mark.parametrize(
    ("rate", "status"), [("rate_500", 500), ("rate_502", 502), ("rate_503", 503)]
)
def test_server_errors(api: Api, simulator: SimulatorHandle, rate: str, status: int) -> None:
    api.token()
    simulator.control.set_faults(**{rate: 1.0, "max_faults": 2})

    statuses = [api.post(RECHERCHER, {}).status_code for _ in range(3)]

    assert statuses == [status, status, 200]


def test_503_also_says_when_to_retry(api: Api, simulator: SimulatorHandle) -> None:
    api.token()
    simulator.control.set_faults(rate_503=1.0, retry_after_seconds=2)

    response = api.post(RECHERCHER, {})

    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert "json" not in response.headers["content-type"]


def test_failed_requests_are_not_applied(api: Api, simulator: SimulatorHandle) -> None:
    api.token()
    simulator.control.set_faults(rate_500=1.0, max_faults=1)

    assert api.post(SOUMETTRE, invoice_body("F-1")).status_code == 500

    assert simulator.control.store()["invoices"] == []


def test_faults_can_be_restricted_to_paths(api: Api, simulator: SimulatorHandle) -> None:
    api.token()
    simulator.control.set_faults(rate_503=1.0, paths=[SOUMETTRE])

    assert api.post(RECHERCHER, {}).status_code == 200
    assert api.post(SOUMETTRE, invoice_body("F-1")).status_code == 503


def test_token_endpoint_can_fail_too(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_faults(rate_503=1.0, paths=[TOKEN_PATH], max_faults=1)

    assert api.request_token().status_code == 503
    assert api.request_token().status_code == 200


def test_health_check_never_faults(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_faults(rate_500=1.0)

    assert api.http.get(HEALTH).status_code == 200


def test_commit_then_drop_applies_the_submission(api: Api, simulator: SimulatorHandle) -> None:
    api.token()
    simulator.control.set_faults(rate_commit_then_fail=1.0, commit_then_fail_mode="drop")

    with pytest.raises(httpx.TransportError):
        api.post(SOUMETTRE, invoice_body("F-DROP"))

    store = simulator.control.store()
    assert [i["numeroFacture"] for i in store["invoices"]] == ["F-DROP"]
    assert store["submissions"][0]["count"] == 1
    assert simulator.control.stats()["responses"][SOUMETTRE] == {"dropped": 1}
    simulator.control.set_faults()
    assert [i["numeroFacture"] for i in api.search_all(numeroFacture="F-DROP")] == ["F-DROP"]


def test_commit_then_502_applies_the_submission(api: Api, simulator: SimulatorHandle) -> None:
    api.token()
    simulator.control.set_faults(rate_commit_then_fail=1.0, commit_then_fail_mode="502")

    response = api.post(SOUMETTRE, invoice_body("F-502"))

    assert response.status_code == 502
    assert [i["numeroFacture"] for i in simulator.control.store()["invoices"]] == ["F-502"]
    again = api.post(SOUMETTRE, invoice_body("F-502"))
    assert again.status_code == 502
    assert again.content != b""
    assert len(simulator.control.store()["invoices"]) == 1


def test_commit_then_fail_spares_reads(api: Api, simulator: SimulatorHandle) -> None:
    api.token()
    simulator.control.set_faults(rate_commit_then_fail=1.0)

    assert api.post(RECHERCHER, {}).status_code == 200
    assert simulator.control.faults()["injected"] == {}


def test_slow_answer_is_applied_before_the_client_gives_up(
    api: Api, simulator: SimulatorHandle
) -> None:
    api.token()
    simulator.control.set_faults(rate_slow=1.0, slow_seconds=6.0, paths=[SOUMETTRE])

    with pytest.raises(httpx.ReadTimeout):
        api.post(SOUMETTRE, invoice_body("F-SLOW"), timeout=2.0)

    assert [i["numeroFacture"] for i in simulator.control.store()["invoices"]] == ["F-SLOW"]


def test_random_token_expiry_revokes_the_token(api: Api, simulator: SimulatorHandle) -> None:
    token = api.token()
    simulator.control.set_faults(rate_token_expiry=1.0, max_faults=1)

    first = api.post(RECHERCHER, {})
    again = api.post(RECHERCHER, {}, headers=api.headers(token=token))
    renewed = api.post(RECHERCHER, {}, headers=api.headers(token=api.token(fresh=True)))

    assert first.status_code == 401
    assert 'error="invalid_token"' in first.headers["www-authenticate"]
    assert again.status_code == 401
    assert renewed.status_code == 200


def test_faults_are_seeded(api: Api, simulator: SimulatorHandle) -> None:
    api.token()

    def pattern() -> list[int]:
        simulator.control.set_faults(rate_503=0.5, paths=[RECHERCHER])
        return [api.post(RECHERCHER, {}).status_code for _ in range(24)]

    first = pattern()
    second = pattern()
    simulator.control.set_config(seed=99)
    other_seed = pattern()

    assert first == second
    assert {200, 503} == set(first)
    assert first != other_seed


def test_fixed_latency_still_answers(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(latency_ms=5)

    assert api.post(RECHERCHER, {}).status_code == 200


def test_invalid_fault_configurations_are_refused(simulator: SimulatorHandle) -> None:
    with pytest.raises(SimulatorControlError, match="must not exceed 1"):
        simulator.control.set_faults(rate_429=0.6, rate_503=0.6)
    with pytest.raises(SimulatorControlError, match="rate_42"):
        simulator.control.set_faults(rate_42=0.1)
    with pytest.raises(SimulatorControlError):
        simulator.control.set_faults(commit_then_fail_mode="explode")


def test_faults_from_the_configuration(api: Api, simulator: SimulatorHandle) -> None:
    api.token()
    simulator.control.set_config(faults={"rate_500": 1.0, "max_faults": 1})

    assert api.post(RECHERCHER, {}).status_code == 500
    assert simulator.control.config()["faults"]["rate_500"] == 1.0


def test_reset_clears_faults(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_faults(rate_500=1.0)

    simulator.control.reset()

    assert (
        api.post(RECHERCHER, {}, headers=api.headers(token=api.token(fresh=True))).status_code
        == 200
    )
