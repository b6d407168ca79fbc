"""How each HTTP answer and network failure maps onto the error taxonomy (reference §5)."""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest

from chorus_pro.errors import (
    AmbiguousOutcomeError,
    AuthenticationError,
    BusinessError,
    ForbiddenError,
    TooLargeError,
    TransientError,
    UnexpectedResponseError,
)
from chorus_pro.transport import OPERATIONS, classify_response, classify_transport_error

READ = OPERATIONS["factures/rechercher/fournisseur"]
WRITE = OPERATIONS["factures/soumettre"]
UPLOAD = OPERATIONS["transverses/ajouter/fichier"]
REQUEST = httpx.Request("POST", "https://api.test/cpro/factures/v1/soumettre")


def respond(status: int, body: Any = None, **headers: str) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers, request=REQUEST)
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers, request=REQUEST)
    return httpx.Response(status, json=body, headers=headers, request=REQUEST)


def classify(response: httpx.Response, operation: Any = READ) -> Any:
    return classify_response(response, operation, scrub=lambda text: text)


def test_write_operations_are_exactly_the_five_that_change_chorus_state() -> None:
    writes = {name for name, op in OPERATIONS.items() if op.write}
    assert writes == {
        "factures/soumettre",
        "factures/deposer/flux",
        "factures/completer",
        "factures/recycler",
        "factures/traiterRejet",
    }
    assert not UPLOAD.write


def test_success_returns_the_body() -> None:
    assert classify(respond(200, {"codeRetour": 0, "libelle": "TRA_MSG_00.000", "x": 1}))["x"] == 1


def test_success_with_warning_label_is_success() -> None:
    assert classify(respond(200, {"codeRetour": 0, "libelle": "GCU_MSG_01_000"}), WRITE)


@pytest.mark.parametrize("status", [200, 400])
def test_business_refusal_with_200_or_400(status: int) -> None:
    body = {"codeRetour": 20002, "libelle": "GDP_MSG_11.033 statut pas SUSPENDUE"}
    with pytest.raises(BusinessError) as caught:
        classify(respond(status, body), OPERATIONS["factures/completer"])
    error = caught.value
    assert (error.code_retour, error.libelle, error.operation) == (
        20002,
        "GDP_MSG_11.033 statut pas SUSPENDUE",
        "factures/completer",
    )
    assert error.status_code == status
    assert not isinstance(error, TransientError)


def test_code_retour_as_string_is_understood() -> None:
    with pytest.raises(BusinessError) as caught:
        classify(respond(200, {"codeRetour": "20001", "libelle": "Flux introuvable"}))
    assert caught.value.code_retour == 20001


def test_400_without_envelope_is_unexpected_and_keeps_www_authenticate() -> None:
    header = 'Bearer realm="DefaultRealm", error="invalid_request"'
    with pytest.raises(UnexpectedResponseError, match="invalid_request") as caught:
        classify(respond(400, None, **{"WWW-Authenticate": header}))
    assert caught.value.status_code == 400


def test_401_keeps_the_header_and_tells_a_bad_technical_account() -> None:
    header = (
        'Bearer realm="PISTE",error="Unauthorized",error_description="login or password incorrects"'
    )
    with pytest.raises(AuthenticationError) as caught:
        classify(respond(401, None, **{"WWW-Authenticate": header}))
    assert caught.value.www_authenticate == header
    assert caught.value.technical_account_refused
    assert "technical account" in str(caught.value)


def test_401_bad_token_is_not_blamed_on_the_technical_account() -> None:
    header = 'Bearer realm="PISTE", error="invalid_token"'
    with pytest.raises(AuthenticationError) as caught:
        classify(respond(401, None, **{"WWW-Authenticate": header}))
    assert not caught.value.technical_account_refused


def test_403_names_the_api_and_explains() -> None:
    with pytest.raises(ForbiddenError) as caught:
        classify(respond(403, None), OPERATIONS["structures/rechercher"])
    assert "Structures API" in caught.value.hint
    assert "subscribed" in caught.value.hint
    assert "sandbox" in caught.value.hint


def test_413_is_too_large() -> None:
    with pytest.raises(TooLargeError) as caught:
        classify(respond(413, "Request Entity Too Large"), UPLOAD)
    assert caught.value.code_retour is None


@pytest.mark.parametrize(
    ("operation", "code"),
    [(UPLOAD, 20003), (OPERATIONS["factures/deposer/flux"], 20001)],
)
@pytest.mark.parametrize("status", [200, 400])
def test_size_refusals_in_the_envelope_are_too_large(
    operation: Any, code: int, status: int
) -> None:
    body = {"codeRetour": code, "libelle": "Le fichier dépasse la taille maximale"}
    with pytest.raises(TooLargeError) as caught:
        classify(respond(status, body), operation)
    assert (caught.value.code_retour, caught.value.status_code) == (code, status)
    assert caught.value.libelle == "Le fichier dépasse la taille maximale"


def test_the_same_code_elsewhere_is_a_plain_business_error() -> None:
    with pytest.raises(BusinessError):
        classify(respond(400, {"codeRetour": 20001, "libelle": "Flux introuvable"}))


@pytest.mark.parametrize("operation", [READ, WRITE])
def test_429_is_transient_for_reads_and_writes_with_retry_after(operation: Any) -> None:
    with pytest.raises(TransientError) as caught:
        classify(respond(429, {"error": "slow down"}, **{"Retry-After": "12"}), operation)
    assert type(caught.value) is TransientError
    assert caught.value.retry_after == 12.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_transient_for_reads(status: int) -> None:
    with pytest.raises(TransientError) as caught:
        classify(respond(status, "<html>gateway</html>"))
    assert type(caught.value) is TransientError
    assert caught.value.status_code == status


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_ambiguous_for_writes(status: int) -> None:
    with pytest.raises(AmbiguousOutcomeError, match="may have been applied"):
        classify(respond(status, None, **{"Retry-After": "1"}), WRITE)


def test_5xx_is_plain_transient_for_uploads() -> None:
    with pytest.raises(TransientError) as caught:
        classify(respond(500, None), UPLOAD)
    assert not isinstance(caught.value, AmbiguousOutcomeError)


def test_non_json_success_is_unexpected_for_reads_and_ambiguous_for_writes() -> None:
    with pytest.raises(UnexpectedResponseError):
        classify(respond(200, "<html>maintenance</html>"))
    with pytest.raises(AmbiguousOutcomeError):
        classify(respond(200, "<html>maintenance</html>"), WRITE)


def test_unknown_status_is_unexpected() -> None:
    with pytest.raises(UnexpectedResponseError, match="404"):
        classify(respond(404, "no route"))


def test_long_bodies_are_cut_in_messages() -> None:
    with pytest.raises(UnexpectedResponseError) as caught:
        classify(respond(404, "x" * 5000))
    assert len(str(caught.value)) < 500


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused", request=REQUEST),
        httpx.ConnectTimeout("connect timed out", request=REQUEST),
        httpx.PoolTimeout("pool exhausted", request=REQUEST),
    ],
)
def test_failures_before_sending_are_retryable_even_for_writes(exc: httpx.TransportError) -> None:
    error = classify_transport_error(exc, WRITE)
    assert type(error) is TransientError
    assert type(exc).__name__ in str(error)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("read timed out", request=REQUEST),
        httpx.WriteTimeout("write timed out", request=REQUEST),
        httpx.ReadError("connection reset", request=REQUEST),
        httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=REQUEST
        ),
    ],
)
def test_failures_after_sending_are_ambiguous_for_writes_only(exc: httpx.TransportError) -> None:
    assert isinstance(classify_transport_error(exc, WRITE), AmbiguousOutcomeError)
    assert type(classify_transport_error(exc, READ)) is TransientError
    assert type(classify_transport_error(exc, UPLOAD)) is TransientError


def test_ambiguous_is_a_transient_error() -> None:
    assert issubclass(AmbiguousOutcomeError, TransientError)


def test_errors_survive_pickling() -> None:
    business = pickle.loads(
        pickle.dumps(BusinessError(20001, "Flux introuvable", "x/y", status_code=400))
    )
    assert (business.code_retour, business.libelle, business.operation, business.status_code) == (
        20001,
        "Flux introuvable",
        "x/y",
        400,
    )
    transient = pickle.loads(pickle.dumps(TransientError("boom", operation="x", retry_after=3.0)))
    assert transient.retry_after == 3.0
    auth = pickle.loads(pickle.dumps(AuthenticationError("no", www_authenticate="Bearer x")))
    assert auth.www_authenticate == "Bearer x"


def test_repr_is_informative() -> None:
    error = BusinessError(1, "KO", "factures/soumettre", status_code=200)
    assert repr(error) == (
        "BusinessError('Chorus Pro refused factures/soumettre: codeRetour 1: KO', "
        "operation='factures/soumettre', status_code=200)"
    )
