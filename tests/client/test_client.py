"""The client against a scripted fake PISTE (`httpx.MockTransport`): headers, auth, retries, paging."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from structlog.testing import capture_logs

from chorus_etl.chorus_client import chorus_pro_client
from chorus_etl.settings import Settings
from chorus_pro.api import ChorusProApi
from chorus_pro.errors import (
    AmbiguousOutcomeError,
    AuthenticationError,
    BusinessError,
    TransientError,
)
from schemas.payloads import (
    CompleteInvoiceRequest,
    InvoiceSearchCriteria,
    RecycleInvoiceRequest,
    SubmitInvoiceRequest,
)
from tests.client.conftest import (
    CLIENT_SECRET,
    LOGIN,
    PASSWORD,
    Harness,
    envelope,
)
from tests.client.examples import SUBMIT_EXAMPLE

Build = Callable[..., Harness]


def ok(**fields: Any) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, json=envelope(**fields))


def scripted(*answers: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    """Answers in order, then repeats the last one."""
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler


def submit_request() -> SubmitInvoiceRequest:
    return SubmitInvoiceRequest.model_validate(SUBMIT_EXAMPLE)


# --- wire format -------------------------------------------------------------------------------


def test_headers_and_token_request(harness_factory: Build) -> None:
    h = harness_factory(ok(listeStructures=[]))
    h.client.supplier_structures()

    (token_request,) = h.piste.token_requests
    assert token_request.method == "POST"
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(token_request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["client-id"],
        "client_secret": [CLIENT_SECRET],
        "scope": ["openid"],
    }
    assert "Authorization" not in token_request.headers

    (request,) = h.piste.api_requests
    assert (
        request.url
        == "https://api.test/cpro/transverses/v1/recuperer/structures/actives/fournisseur"
    )
    assert request.headers["Authorization"] == "Bearer token-1"
    expected_account = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    assert request.headers["cpro-account"] == expected_account
    assert request.headers["Content-Type"] == "application/json;charset=utf-8"
    assert request.headers["Accept"] == "application/json;charset=utf-8"
    assert json.loads(request.content) == {}


def test_health_check_is_a_get_without_body(harness_factory: Build) -> None:
    h = harness_factory(
        lambda r: httpx.Response(200, json={"statusCode": "OK", "statusCodeValue": 200})
    )
    assert h.client.health_check().statusCodeValue == 200
    (request,) = h.piste.api_requests
    assert request.method == "GET"
    assert request.url.path == "/cpro/transverses/v1/health-check"
    assert "Content-Type" not in request.headers


def test_upload_sends_plain_base64_and_returns_the_id(harness_factory: Build) -> None:
    h = harness_factory(ok(pieceJointeId=10321512))
    content = bytes(range(256)) * 3
    assert h.client.upload_file("F-2025-0042.pdf", content, "application/pdf") == 10321512
    (body,) = h.piste.bodies()
    assert base64.b64decode(body["pieceJointeFichier"], validate=True) == content
    assert body["pieceJointeNom"] == "F-2025-0042.pdf"
    assert body["pieceJointeTypeMime"] == "application/pdf"
    assert body["pieceJointeExtension"] == "PDF"


def test_submit_sends_numbers_and_parses_the_answer(harness_factory: Build) -> None:
    h = harness_factory(
        ok(
            identifiantFactureCPP=8316848,
            numeroFacture="F-2025-0042",
            dateDepot="2025-11-05",
            statutFacture="DEPOSEE",
        )
    )
    response = h.client.submit_invoice(submit_request())
    assert response.identifiantFactureCPP == 8316848
    assert response.statutFacture == "DEPOSEE"
    (body,) = h.piste.bodies()
    assert body["montantTotal"]["montantTtcTotal"] == 600
    assert body["lignePoste"][0]["lignePosteMontantUnitaireHT"] == 50
    assert h.piste.api_requests[0].url.path == "/cpro/factures/v1/soumettre"


def test_deposit_flux_body(harness_factory: Build) -> None:
    h = harness_factory(ok(numeroFluxDepot="CPP0011117000000000425903", dateDepot="2026-09-14"))
    result = h.client.deposit_flux("f.pdf", b"%PDF-1.7", "IN_DP_E2_CII_FACTURX")
    assert result.numeroFluxDepot == "CPP0011117000000000425903"
    (body,) = h.piste.bodies()
    assert body == {
        "fichierFlux": base64.b64encode(b"%PDF-1.7").decode(),
        "nomFichier": "f.pdf",
        "syntaxeFlux": "IN_DP_E2_CII_FACTURX",
        "avecSignature": False,
    }


def test_deposit_flux_refuses_an_unknown_syntax_before_sending(harness_factory: Build) -> None:
    h = harness_factory(ok())
    with pytest.raises(ValueError):
        h.client.deposit_flux("f.xml", b"<x/>", "IN_DP_E3_FACTUR_X_10")
    assert h.piste.api_requests == []


def test_follow_up_operations_use_their_paths(harness_factory: Build) -> None:
    h = harness_factory(ok(identifiantFactureCPP=7))
    h.client.complete_invoice(
        CompleteInvoiceRequest(identifiantFactureCPP=7, commentaire="BL joint")
    )
    h.client.recycle_invoice(RecycleInvoiceRequest(identifiantFactureCPP=7))
    h.client.handle_rejection([7, 8], motif="vu")
    h.client.flux_report("CPP1")
    h.client.bank_accounts(26300989)
    paths = [r.url.path for r in h.piste.api_requests]
    assert paths == [
        "/cpro/factures/v1/completer",
        "/cpro/factures/v1/recycler",
        "/cpro/factures/v1/traiterRejet",
        "/cpro/transverses/v1/consulterCRDetaille",
        "/cpro/transverses/v1/recuperer/coordbanc/valides",
    ]
    bodies = h.piste.bodies()
    assert bodies[2] == {
        "listeDemandePaiement": [{"idDemandePaiement": 7}, {"idDemandePaiement": 8}],
        "motifRejet": "vu",
    }
    assert bodies[3] == {"numeroFluxDepot": "CPP1"}
    assert bodies[4] == {"idStructure": 26300989}


# --- authentication ----------------------------------------------------------------------------


def test_token_is_reused_and_renewed_a_minute_before_expiry(harness_factory: Build) -> None:
    h = harness_factory(ok(listeStructures=[]))
    h.client.supplier_structures()
    h.clock.now += 3500
    h.client.supplier_structures()
    assert h.client.token_fetch_count == 1
    h.clock.now += 41
    h.client.supplier_structures()
    assert h.client.token_fetch_count == 2
    assert [r.headers["Authorization"] for r in h.piste.api_requests] == [
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-2",
    ]


def test_401_refreshes_once_and_replays(harness_factory: Build) -> None:
    h = harness_factory(
        scripted(httpx.Response(401), httpx.Response(200, json=envelope(listeStructures=[])))
    )
    assert h.client.supplier_structures() == []
    assert h.client.token_fetch_count == 2
    assert [r.headers["Authorization"] for r in h.piste.api_requests] == [
        "Bearer token-1",
        "Bearer token-2",
    ]
    assert h.sleeps.calls == []


def test_401_on_a_write_is_replayed_too(harness_factory: Build) -> None:
    h = harness_factory(
        scripted(httpx.Response(401), httpx.Response(200, json=envelope(identifiantFactureCPP=1)))
    )
    assert h.client.submit_invoice(submit_request()).identifiantFactureCPP == 1
    assert len(h.piste.api_requests) == 2


def test_second_401_is_an_authentication_error_with_the_header(harness_factory: Build) -> None:
    header = (
        'Bearer realm="PISTE",error="Unauthorized",error_description="login or password incorrects"'
    )
    h = harness_factory(lambda r: httpx.Response(401, headers={"WWW-Authenticate": header}))
    with pytest.raises(AuthenticationError) as caught:
        h.client.supplier_structures()
    assert caught.value.www_authenticate == header
    assert caught.value.technical_account_refused
    assert len(h.piste.api_requests) == 2
    assert h.client.token_fetch_count == 2
    assert h.sleeps.calls == []


def test_invalid_client_is_not_retried(harness_factory: Build) -> None:
    h = harness_factory(ok())
    h.piste.token_status = 400
    h.piste.token_body = {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
    }
    with pytest.raises(AuthenticationError, match="invalid_client") as caught:
        h.client.supplier_structures()
    assert "client-id" in str(caught.value)
    assert len(h.piste.token_requests) == 1
    assert h.piste.api_requests == []


def test_oauth_outage_is_retried(harness_factory: Build) -> None:
    h = harness_factory(ok(listeStructures=[]))
    h.piste.token_failures = [httpx.ConnectError("refused"), httpx.ReadTimeout("timed out")]
    assert h.client.supplier_structures() == []
    assert len(h.sleeps.calls) == 2
    assert len(h.piste.token_requests) == 3


# --- retries -----------------------------------------------------------------------------------


def test_reads_are_retried_on_5xx_and_logged(harness_factory: Build) -> None:
    h = harness_factory(
        scripted(
            httpx.Response(503, text="unavailable"),
            httpx.ReadTimeout("timed out"),
            httpx.Response(200, json=envelope(listeStructures=[])),
        )
    )
    with capture_logs() as logs:
        assert h.client.supplier_structures() == []
    retries = [e for e in logs if e["event"] == "chorus_pro.retry"]
    assert [(e["attempt"], e["reason"]) for e in retries] == [(1, "HTTP 503"), (2, "ReadTimeout")]
    assert all(
        e["operation"] == "transverses/recuperer/structures/actives/fournisseur" for e in retries
    )
    assert all(e["log_level"] == "warning" for e in retries)
    assert [e["wait_seconds"] for e in retries] == [round(s, 3) for s in h.sleeps.calls]
    assert 0 <= h.sleeps.calls[0] <= 0.5
    assert 0 <= h.sleeps.calls[1] <= 1.0


def test_retries_stop_after_max_retries(harness_factory: Build) -> None:
    h = harness_factory(lambda r: httpx.Response(502), max_retries=3)
    with pytest.raises(TransientError) as caught:
        h.client.supplier_structures()
    assert caught.value.status_code == 502
    assert len(h.piste.api_requests) == 4
    assert len(h.sleeps.calls) == 3


def test_429_waits_at_least_retry_after(harness_factory: Build) -> None:
    h = harness_factory(
        scripted(
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(200, json=envelope(listeStructures=[])),
        )
    )
    h.client.supplier_structures()
    assert h.sleeps.calls == [7.0]


def test_429_on_a_write_is_retried(harness_factory: Build) -> None:
    h = harness_factory(
        scripted(
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(200, json=envelope(identifiantFactureCPP=5)),
        )
    )
    assert h.client.submit_invoice(submit_request()).identifiantFactureCPP == 5
    assert h.sleeps.calls == [2.0]


def test_retry_after_beyond_the_cap_gives_up_with_it(harness_factory: Build) -> None:
    h = harness_factory(lambda r: httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(TransientError) as caught:
        h.client.supplier_structures()
    assert caught.value.retry_after == 3600.0
    assert h.sleeps.calls == []


def test_connect_error_on_a_write_is_retried(harness_factory: Build) -> None:
    h = harness_factory(
        scripted(
            httpx.ConnectError("refused"),
            httpx.Response(200, json=envelope(identifiantFactureCPP=9)),
        )
    )
    assert h.client.submit_invoice(submit_request()).identifiantFactureCPP == 9
    assert len(h.sleeps.calls) == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, text="boom"),
        httpx.Response(503, headers={"Retry-After": "1"}),
        httpx.Response(504),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_ambiguous_write_failures_are_never_retried(
    harness_factory: Build, failure: httpx.Response | Exception
) -> None:
    h = harness_factory(
        scripted(failure, httpx.Response(200, json=envelope(identifiantFactureCPP=1)))
    )
    with capture_logs() as logs, pytest.raises(AmbiguousOutcomeError) as caught:
        h.client.submit_invoice(submit_request())
    assert caught.value.operation == "factures/soumettre"
    assert len(h.piste.api_requests) == 1
    assert h.sleeps.calls == []
    assert not [e for e in logs if e["event"] == "chorus_pro.retry"]


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("deposit_flux", ("f.xml", b"<x/>", "IN_DP_E1_UBL_INVOICE")),
        ("complete_invoice", (CompleteInvoiceRequest(identifiantFactureCPP=1),)),
        ("recycle_invoice", (RecycleInvoiceRequest(identifiantFactureCPP=1),)),
        ("handle_rejection", ([1],)),
    ],
)
def test_every_write_is_ambiguous_on_5xx(
    harness_factory: Build, method: str, args: tuple[Any, ...]
) -> None:
    h = harness_factory(lambda r: httpx.Response(500))
    with pytest.raises(AmbiguousOutcomeError):
        getattr(h.client, method)(*args)
    assert len(h.piste.api_requests) == 1


def test_uploads_are_retried_on_ambiguous_failures(harness_factory: Build) -> None:
    h = harness_factory(
        scripted(
            httpx.ReadTimeout("timed out"), httpx.Response(200, json=envelope(pieceJointeId=3))
        )
    )
    assert h.client.upload_file("a.pdf", b"%PDF") == 3
    assert len(h.piste.api_requests) == 2


def test_unreadable_success_of_a_write_is_ambiguous(harness_factory: Build) -> None:
    h = harness_factory(ok(numeroFacture="F1"))  # no identifiantFactureCPP
    with pytest.raises(AmbiguousOutcomeError, match="identifiantFactureCPP"):
        h.client.submit_invoice(submit_request())


def test_business_errors_are_not_retried(harness_factory: Build) -> None:
    h = harness_factory(
        lambda r: httpx.Response(400, json={"codeRetour": 20004, "libelle": "nom invalide"})
    )
    with pytest.raises(BusinessError) as caught:
        h.client.upload_file("a.pdf", b"%PDF")
    assert caught.value.code_retour == 20004
    assert caught.value.operation == "transverses/ajouter/fichier"
    assert len(h.piste.api_requests) == 1


# --- pagination --------------------------------------------------------------------------------


def paged_invoices(
    total: int, page_size_seen: list[int]
) -> Callable[[httpx.Request], httpx.Response]:
    invoices = [
        {"identifiantFactureCPP": 1000 + i, "numeroFacture": f"F-{i:04d}", "statut": "DEPOSEE"}
        for i in range(total)
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        paging = body["rechercheFactureParFournisseur"]
        page, size = paging["pageResultatDemandee"], paging["nbResultatsParPage"]
        page_size_seen.append(size)
        chunk = invoices[(page - 1) * size : page * size]
        pages = max(1, -(-total // size))
        return httpx.Response(
            200,
            json=envelope(
                listeFactures=chunk,
                parametresRetour={
                    "pageCourante": page,
                    "pages": pages,
                    "nbResultatsParPage": size,
                    "total": total,
                },
            ),
        )

    return handler


def test_iter_invoices_reads_every_page(harness_factory: Build) -> None:
    sizes: list[int] = []
    h = harness_factory(paged_invoices(25, sizes))
    numbers = [
        i.numeroFacture
        for i in h.client.iter_invoices(InvoiceSearchCriteria(idFournisseur=1), page_size=10)
    ]
    assert numbers == [f"F-{i:04d}" for i in range(25)]
    assert sizes == [10, 10, 10]
    pages = [
        json.loads(r.content)["rechercheFactureParFournisseur"]["pageResultatDemandee"]
        for r in h.piste.api_requests
    ]
    assert pages == [1, 2, 3]
    assert json.loads(h.piste.api_requests[0].content)["idFournisseur"] == 1


def test_iter_invoices_stops_on_an_empty_page_whatever_pages_says(harness_factory: Build) -> None:
    h = harness_factory(ok(listeFactures=[], parametresRetour={"pageCourante": 1, "pages": 99}))
    assert list(h.client.iter_invoices()) == []
    assert len(h.piste.api_requests) == 1


def test_find_invoice_by_number_compares_exactly_and_prefers_the_latest(
    harness_factory: Build,
) -> None:
    h = harness_factory(
        ok(
            listeFactures=[
                {"identifiantFactureCPP": 1, "numeroFacture": "F-1", "statut": "REJETEE"},
                {"identifiantFactureCPP": 3, "numeroFacture": "F-10", "statut": "DEPOSEE"},
                {"identifiantFactureCPP": 2, "numeroFacture": "F-1", "statut": "DEPOSEE"},
            ],
            parametresRetour={"pageCourante": 1, "pages": 1},
        )
    )
    found = h.client.find_invoice_by_number(26300989, "F-1")
    assert found is not None
    assert found.identifiantFactureCPP == 2
    (body,) = h.piste.bodies()
    assert body["numeroFacture"] == "F-1"
    assert body["idFournisseur"] == 26300989
    assert h.client.find_invoice_by_number(26300989, "F-2") is None


def test_get_history_merges_pages(harness_factory: Build) -> None:
    statuses = ["DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION", "SUSPENDUE", "COMPLETEE"]

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        paging = body["paramRechercheHistoStatuts"]
        page, size = (
            paging["pageResultatDemandeeListeHistoStatut"],
            paging["nbResultatsParPageListeHistoStatut"],
        )
        chunk = statuses[(page - 1) * size : page * size]
        return httpx.Response(
            200,
            json=envelope(
                idFacture=body["idFacture"],
                statutCourantCode="COMPLETEE",
                historiquesDesStatuts={
                    "histoStatut": [
                        {
                            "histoStatutId": (page - 1) * size + n,
                            "histoStatutCode": code,
                            "histoStatutDatePassage": "2025-11-05 10:01",
                        }
                        for n, code in enumerate(chunk)
                    ],
                    "pageCouranteHistoStatut": page,
                    "pagesHistoStatut": 3,
                    "totalHistoStatut": 5,
                },
            ),
        )

    h = harness_factory(handler)
    history = h.client.get_history(8316848, page_size=2)
    assert [s.histoStatutCode for s in history.historiquesDesStatuts.histoStatut] == statuses
    assert history.statutCourantCode == "COMPLETEE"
    assert history.historiquesDesStatuts.pagesHistoStatut == 1
    assert len(h.piste.api_requests) == 3


def test_list_services_and_structures_page(harness_factory: Build) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path.endswith("/rechercher/services"):
            page = body["parametresRechercherServicesStructure"]["pageResultatDemandee"]
            return httpx.Response(
                200,
                json=envelope(
                    listeServices=[
                        {"idService": page, "codeService": f"S{page}", "estActif": page != 2}
                    ],
                    parametresRetour={"pageCourante": page, "pages": 2},
                ),
            )
        assert body["structure"] == {
            "identifiantStructure": "12345678200028",
            "typeIdentifiantStructure": "SIRET",
        }
        return httpx.Response(
            200,
            json=envelope(
                listeStructures=[
                    {
                        "idStructureCPP": 26311042,
                        "identifiantStructure": "12345678200028",
                        "statut": "ACTIVE",
                    }
                ],
                parametresRetour={"pageCourante": 1, "pages": 1},
            ),
        )

    h = harness_factory(handler)
    services = h.client.list_services(26311042, page_size=1)
    assert [(s.codeService, s.estActif) for s in services] == [("S1", True), ("S2", False)]
    (structure,) = h.client.search_structures("12345678200028")
    assert structure.idStructureCPP == 26311042


def test_get_structure_service_and_invoice(harness_factory: Build) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/structures/v1/consulter"):
            return httpx.Response(
                200, json=envelope(parametres={"codeServiceDoitEtreRenseigne": True})
            )
        if path.endswith("/consulter/service"):
            return httpx.Response(200, json=envelope(parametres={"numeroEngagement": True}))
        return httpx.Response(
            200,
            json=envelope(
                facture={
                    "identifiantFactureCPP": 5,
                    "statutFacture": "DEPOSEE",
                    "montantTotal": {"montantAPayer": 1},
                }
            ),
        )

    h = harness_factory(handler)
    assert h.client.get_structure(1).parametres.codeServiceDoitEtreRenseigne
    assert h.client.get_service(1, 2).requires_engagement
    assert h.client.get_invoice(5).statutFacture == "DEPOSEE"
    bodies = h.piste.bodies()
    assert bodies == [
        {"idStructureCPP": 1, "codeLangue": "fr"},
        {"idStructure": 1, "idService": 2, "codeLangue": "fr"},
        {"identifiantFactureCPP": 5},
    ]


# --- construction ------------------------------------------------------------------------------


def test_settings_build_the_client_of_the_selected_environment_the_selected_environment() -> None:
    settings = Settings(
        http_max_retries=2, http_timeout_seconds=5.0, http_backoff_base_seconds=0.25
    )
    with chorus_pro_client(settings) as client:
        assert client.config.api_url == "http://127.0.0.1:8765"
        assert client.config.oauth_url == "http://127.0.0.1:8765/api/oauth/token"
        assert client.config.client_id == "simulator-client"
        assert client.config.client_secret.get_secret_value() == "simulator-secret"
        assert client.config.login == "TECH_1_cooproduction@cpro.fr"
        assert client.config.max_retries == 2
        assert client.config.timeout == 5.0
        assert client.config.connect_timeout == 5.0
        assert client.config.backoff_base == 0.25
        assert client._http.timeout.read == 5.0


def test_settings_without_production_credentials_are_refused_missing_production_credentials() -> (
    None
):
    with pytest.raises(ValueError, match="CHORUS_ETL_PISTE_CLIENT_SECRET"):
        chorus_pro_client(Settings(chorus_env="production", piste_client_id="x"))


def test_context_manager_closes_the_pool(harness_factory: Build) -> None:
    h = harness_factory(ok())
    with h.client as client:
        assert client is h.client
    assert h.client._http.is_closed


def test_client_satisfies_the_protocol(harness_factory: Build) -> None:
    api: ChorusProApi = harness_factory(ok()).client
    assert isinstance(api, ChorusProApi)


def test_amounts_survive_as_decimal_in_answers(harness_factory: Build) -> None:
    h = harness_factory(
        ok(
            listeFactures=[{"identifiantFactureCPP": 1, "montantTTC": 1481.47}],
            parametresRetour={"pages": 1},
        )
    )
    (invoice,) = h.client.iter_invoices()
    assert invoice.montantTTC == Decimal("1481.47")
