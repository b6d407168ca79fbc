"""Every error class over real HTTP, and what is retried, what is not, and what it costs."""

from __future__ import annotations

import socket
from collections.abc import Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
from structlog.testing import capture_logs

from chorus_pro.client import ChorusProClient
from chorus_pro.config import ChorusProConfig
from chorus_pro.errors import (
    AmbiguousOutcomeError,
    AuthenticationError,
    BusinessError,
    ForbiddenError,
    TooLargeError,
    TransientError,
)
from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import ANTIGONE, SCHILTIGHEIM
from schemas.payloads import CompleteInvoiceRequest, SyntaxeFlux
from tests.contract.conftest import MakeClient, RecordedSleeps, pdf_bytes, pdf_invoice

TOKEN = "/api/oauth/token"
SOUMETTRE = "/cpro/factures/v1/soumettre"
SUPPLIERS = "/cpro/transverses/v1/recuperer/structures/actives/fournisseur"


def stats(simulator: SimulatorHandle) -> dict[str, Any]:
    return simulator.control.stats()


def requests(simulator: SimulatorHandle, path: str) -> int:
    count: int = stats(simulator)["requests"].get(path, 0)
    return count


def retry_events(logs: Sequence[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [event for event in logs if event["event"] == "chorus_pro.retry"]


def invoices_in_store(simulator: SimulatorHandle) -> list[dict[str, Any]]:
    invoices: list[dict[str, Any]] = simulator.control.store()["invoices"]
    return invoices


# --- authentication ----------------------------------------------------------------------------


def test_invalid_client_is_refused_without_retry(
    make_client: MakeClient, simulator: SimulatorHandle
) -> None:
    client = make_client(client_secret="not-the-secret")
    with pytest.raises(AuthenticationError, match="invalid_client") as caught:
        client.supplier_structures()
    assert caught.value.status_code == 400
    assert "not-the-secret" not in str(caught.value)
    assert stats(simulator)["requests"] == {TOKEN: 1}


def test_bad_technical_account_costs_one_refresh_then_fails(
    make_client: MakeClient, simulator: SimulatorHandle
) -> None:
    client = make_client(password="wrong-password")
    with pytest.raises(AuthenticationError) as caught:
        client.supplier_structures()
    error = caught.value
    assert error.status_code == 401
    assert error.technical_account_refused
    assert error.www_authenticate is not None
    assert "login or password incorrects" in error.www_authenticate
    assert requests(simulator, SUPPLIERS) == 2
    assert requests(simulator, TOKEN) == 2
    assert client.token_fetch_count == 2


def test_expired_technical_account_password_is_an_authentication_error(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    simulator.control.set_config(tech_password_expires_on=date(2020, 1, 1).isoformat())
    with pytest.raises(AuthenticationError) as caught:
        client.bank_accounts(ANTIGONE.id)
    assert caught.value.technical_account_refused


def test_token_expiry_costs_exactly_one_refresh_even_under_concurrency(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    client.supplier_structures()
    assert client.token_fetch_count == 1
    simulator.control.expire_tokens()
    simulator.control.reset_stats()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.supplier_structures(), range(32)))

    assert all(len(structures) == 2 for structures in results)
    assert requests(simulator, TOKEN) == 1
    assert client.token_fetch_count == 2
    refused = stats(simulator)["responses"][SUPPLIERS].get("401", 0)
    assert 1 <= refused <= 8


def test_token_revoked_mid_call_is_replayed_once(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    client.supplier_structures()
    simulator.control.set_faults(rate_token_expiry=1.0, max_faults=1)
    response = client.submit_invoice(pdf_invoice(client, "T-001"))
    assert response.statutFacture == "DEPOSEE"
    assert client.token_fetch_count == 2
    assert len(invoices_in_store(simulator)) == 1


# --- gateway and business refusals -------------------------------------------------------------


def test_unsubscribed_api_is_forbidden_with_a_hint(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    simulator.control.set_config(unsubscribed_apis=["structures"])
    with pytest.raises(ForbiddenError) as caught:
        client.search_structures(SCHILTIGHEIM.siret)
    assert "Structures API" in caught.value.hint
    assert requests(simulator, "/cpro/structures/v1/rechercher") == 1
    assert len(client.supplier_structures()) == 2


@pytest.mark.parametrize("http_status", [200, 400])
def test_business_refusal_with_200_or_400(
    client: ChorusProClient, simulator: SimulatorHandle, http_status: int
) -> None:
    simulator.control.set_config(business_errors_http=http_status)
    request = pdf_invoice(client, "B-001", siret="11111111111111")
    with pytest.raises(BusinessError) as caught:
        client.submit_invoice(request)
    error = caught.value
    assert (error.code_retour, error.status_code, error.operation) == (
        20101,
        http_status,
        "factures/soumettre",
    )
    assert "11111111111111" in error.libelle
    assert requests(simulator, SOUMETTRE) == 1


def test_routing_refusals_carry_chorus_codes(client: ChorusProClient) -> None:
    with pytest.raises(BusinessError) as caught:
        client.submit_invoice(pdf_invoice(client, "B-002", siret=SCHILTIGHEIM.siret))
    assert caught.value.code_retour == 20103


def test_duplicate_number_is_refused(client: ChorusProClient) -> None:
    client.submit_invoice(pdf_invoice(client, "D-001"))
    with pytest.raises(BusinessError) as caught:
        client.submit_invoice(pdf_invoice(client, "D-001"))
    assert caught.value.code_retour == 20113


def test_too_large_files(client: ChorusProClient, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(max_upload_bytes=1024)
    with pytest.raises(TooLargeError) as upload:
        client.upload_file("big.pdf", pdf_bytes("big") + b"x" * 2048)
    assert upload.value.code_retour == 20003
    with pytest.raises(TooLargeError) as flux:
        client.deposit_flux(
            "big.xml", b"<Invoice>" + b"x" * 2048 + b"</Invoice>", SyntaxeFlux.IN_DP_E1_UBL_INVOICE
        )
    assert flux.value.code_retour == 20001
    assert requests(simulator, "/cpro/transverses/v1/ajouter/fichier") == 1
    assert requests(simulator, "/cpro/factures/v1/deposer/flux") == 1


# --- transient faults: reads -------------------------------------------------------------------


def test_429_waits_at_least_retry_after(
    make_client: MakeClient, simulator: SimulatorHandle
) -> None:
    sleeps = RecordedSleeps()
    client = make_client(sleep=sleeps)
    simulator.control.set_faults(
        rate_429=1.0, retry_after_seconds=2, max_faults=2, paths=["/cpro/"]
    )
    with capture_logs() as logs:
        assert len(client.supplier_structures()) == 2
    assert len(sleeps.calls) == 2
    assert all(wait >= 2.0 for wait in sleeps.calls)
    events = retry_events(logs)
    assert [(e["attempt"], e["reason"], e["retry_after"]) for e in events] == [
        (1, "HTTP 429", 2.0),
        (2, "HTTP 429", 2.0),
    ]
    assert [e["wait_seconds"] for e in events] == [round(w, 3) for w in sleeps.calls]


def test_429_beyond_the_longest_acceptable_wait_is_handed_to_the_caller(
    make_client: MakeClient, simulator: SimulatorHandle
) -> None:
    sleeps = RecordedSleeps()
    client = make_client(sleep=sleeps, retry_after_max=60.0)
    client.supplier_structures()
    simulator.control.set_faults(rate_429=1.0, retry_after_seconds=600)
    with pytest.raises(TransientError) as caught:
        client.supplier_structures()
    assert caught.value.retry_after == 600.0
    assert sleeps.calls == []


@pytest.mark.parametrize(
    ("rate", "status"), [("rate_500", "500"), ("rate_502", "502"), ("rate_503", "503")]
)
def test_5xx_on_reads_are_retried(
    client: ChorusProClient, simulator: SimulatorHandle, rate: str, status: str
) -> None:
    simulator.control.set_faults(
        **{rate: 1.0}, retry_after_seconds=0, max_faults=2, paths=["/cpro/"]
    )
    with capture_logs() as logs:
        assert [a.idCoordonneeBancaire for a in client.bank_accounts(ANTIGONE.id)] == [144050]
    assert [e["reason"] for e in retry_events(logs)] == [f"HTTP {status}"] * 2
    path = "/cpro/transverses/v1/recuperer/coordbanc/valides"
    assert stats(simulator)["responses"][path] == {status: 2, "200": 1}


def test_token_endpoint_outage_is_retried(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    simulator.control.set_faults(rate_503=1.0, retry_after_seconds=0, max_faults=2, paths=[TOKEN])
    assert len(client.supplier_structures()) == 2
    assert requests(simulator, TOKEN) == 3


def test_slow_read_times_out_and_is_retried(
    make_client: MakeClient, simulator: SimulatorHandle
) -> None:
    # A timeout a loaded machine's normal answer never reaches, a slow fault three times longer.
    client = make_client(timeout=2.0)
    client.supplier_structures()
    simulator.control.set_faults(rate_slow=1.0, slow_seconds=6.0, max_faults=1, paths=["/cpro/"])
    with capture_logs() as logs:
        assert len(client.supplier_structures()) == 2
    assert [e["reason"] for e in retry_events(logs)] == ["ReadTimeout"]


def test_retries_give_up_after_max_retries(
    make_client: MakeClient, simulator: SimulatorHandle
) -> None:
    client = make_client(max_retries=2)
    client.supplier_structures()
    simulator.control.set_faults(rate_502=1.0, paths=["/cpro/"])
    with pytest.raises(TransientError) as caught:
        client.supplier_structures()
    assert caught.value.status_code == 502
    assert not isinstance(caught.value, AmbiguousOutcomeError)
    assert stats(simulator)["responses"][SUPPLIERS]["502"] == 3


def test_unreachable_server_is_transient_even_for_writes() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = RecordedSleeps()
    config = ChorusProConfig(
        api_url=f"http://127.0.0.1:{port}",
        oauth_url=f"http://127.0.0.1:{port}/api/oauth/token",
        client_id="c",
        client_secret="s-secret",
        login="l",
        password="p-secret",
        max_retries=2,
    )
    with ChorusProClient(config, sleep=sleeps) as client, pytest.raises(TransientError) as caught:
        client.deposit_flux("f.xml", b"<Invoice/>", SyntaxeFlux.IN_DP_E1_UBL_INVOICE)
    assert not isinstance(caught.value, AmbiguousOutcomeError)
    assert "ConnectError" in str(caught.value)
    assert len(sleeps.calls) == 2


# --- transient faults: writes ------------------------------------------------------------------


def test_429_on_soumettre_is_retried_and_deposits_once(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    request = pdf_invoice(client, "W-429")
    simulator.control.set_faults(
        rate_429=1.0, retry_after_seconds=0, max_faults=1, paths=[SOUMETTRE]
    )
    assert client.submit_invoice(request).statutFacture == "DEPOSEE"
    assert requests(simulator, SOUMETTRE) == 2
    assert len(invoices_in_store(simulator)) == 1


def test_5xx_on_soumettre_is_ambiguous_and_resolved_by_lookup(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    request = pdf_invoice(client, "W-500")
    simulator.control.set_faults(rate_500=1.0, max_faults=1, paths=[SOUMETTRE])
    with capture_logs() as logs, pytest.raises(AmbiguousOutcomeError) as caught:
        client.submit_invoice(request)
    assert caught.value.status_code == 500
    assert retry_events(logs) == []
    assert requests(simulator, SOUMETTRE) == 1

    # The deposit layer's move: look the number up, resend only if Chorus does not have it.
    assert client.find_invoice_by_number(ANTIGONE.id, "W-500") is None
    assert client.submit_invoice(request).statutFacture == "DEPOSEE"
    assert len(invoices_in_store(simulator)) == 1


@pytest.mark.parametrize("mode", ["drop", "502"])
def test_commit_then_fail_on_soumettre_is_ambiguous_and_found_by_lookup(
    client: ChorusProClient, simulator: SimulatorHandle, mode: str
) -> None:
    request = pdf_invoice(client, "W-CTF")
    simulator.control.set_faults(
        rate_commit_then_fail=1.0, commit_then_fail_mode=mode, max_faults=1, paths=[SOUMETTRE]
    )
    with capture_logs() as logs, pytest.raises(AmbiguousOutcomeError) as caught:
        client.submit_invoice(request)
    assert "may have been applied" in str(caught.value)
    assert retry_events(logs) == []
    assert requests(simulator, SOUMETTRE) == 1

    found = client.find_invoice_by_number(ANTIGONE.id, "W-CTF")
    assert found is not None
    assert found.statut == "DEPOSEE"
    assert [i["identifiantFactureCPP"] for i in invoices_in_store(simulator)] == [
        found.identifiantFactureCPP
    ]
    # Resending blindly would have been refused as a duplicate (or, on Chorus, worse).
    with pytest.raises(BusinessError) as duplicate:
        client.submit_invoice(request)
    assert duplicate.value.code_retour == 20113


def test_read_timeout_on_soumettre_is_ambiguous(
    make_client: MakeClient, simulator: SimulatorHandle
) -> None:
    # A timeout a loaded machine's normal answer never reaches, a slow fault three times longer.
    client = make_client(timeout=2.0)
    request = pdf_invoice(client, "W-SLOW")
    simulator.control.set_faults(rate_slow=1.0, slow_seconds=6.0, max_faults=1, paths=[SOUMETTRE])
    with pytest.raises(AmbiguousOutcomeError, match="ReadTimeout"):
        client.submit_invoice(request)
    assert requests(simulator, SOUMETTRE) == 1
    assert client.find_invoice_by_number(ANTIGONE.id, "W-SLOW") is not None


@pytest.mark.parametrize(
    "path",
    [
        "/cpro/factures/v1/deposer/flux",
        "/cpro/factures/v1/completer",
        "/cpro/factures/v1/traiterRejet",
    ],
)
def test_other_writes_are_not_retried_on_5xx(
    client: ChorusProClient, simulator: SimulatorHandle, path: str
) -> None:
    simulator.control.set_faults(rate_503=1.0, max_faults=1, paths=[path])
    calls: dict[str, Callable[[], object]] = {
        "/cpro/factures/v1/deposer/flux": lambda: client.deposit_flux(
            "f.xml", b"<Invoice/>", SyntaxeFlux.IN_DP_E1_UBL_INVOICE
        ),
        "/cpro/factures/v1/completer": lambda: client.complete_invoice(
            CompleteInvoiceRequest(identifiantFactureCPP=1)
        ),
        "/cpro/factures/v1/traiterRejet": lambda: client.handle_rejection([1]),
    }
    with pytest.raises(AmbiguousOutcomeError):
        calls[path]()
    assert requests(simulator, path) == 1


def test_uploads_are_retried_even_when_the_answer_is_lost(
    client: ChorusProClient, simulator: SimulatorHandle
) -> None:
    simulator.control.set_faults(
        rate_commit_then_fail=1.0, max_faults=1, paths=["/cpro/transverses/v1/ajouter/fichier"]
    )
    attachment = client.upload_file("F.pdf", pdf_bytes("lost answer"))
    uploads = simulator.control.store()["uploads"]
    assert uploads["count"] == 2
    assert attachment == uploads["items"][-1]["pieceJointeId"]
