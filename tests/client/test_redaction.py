"""No secret (client secret, password, cpro-account header, token) in reprs, messages or logs."""

from __future__ import annotations

import base64
import pickle
from collections.abc import Callable

import httpx
import pytest
from structlog.testing import capture_logs

from chorus_pro.auth import TokenCache
from chorus_pro.errors import AuthenticationError, BusinessError, ChorusProError
from tests.client.conftest import CLIENT_SECRET, LOGIN, PASSWORD, Harness, envelope, make_config

Build = Callable[..., Harness]

ACCOUNT_HEADER = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
SECRETS = [CLIENT_SECRET, PASSWORD, ACCOUNT_HEADER, "token-1", "token-2"]


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"secret {secret[:4]}… leaked"


def test_config_repr_str_and_json_hide_secrets() -> None:
    config = make_config()
    assert_clean(repr(config))
    assert_clean(str(config))
    assert_clean(config.model_dump_json())
    assert_clean(repr(config.model_dump()))


def test_client_and_token_cache_reprs_hide_secrets(harness_factory: Build) -> None:
    h = harness_factory(lambda r: httpx.Response(200, json=envelope(listeStructures=[])))
    h.client.supplier_structures()
    assert_clean(repr(h.client))
    assert_clean(repr(h.client._tokens))
    assert_clean(repr(h.client._tokens.peek()))
    assert isinstance(h.client._tokens, TokenCache)


def test_server_echo_of_secrets_is_masked_in_business_errors(harness_factory: Build) -> None:
    echo = f"compte {ACCOUNT_HEADER} / {PASSWORD} / Bearer token-1 invalide"
    h = harness_factory(lambda r: httpx.Response(400, json={"codeRetour": 1, "libelle": echo}))
    with pytest.raises(BusinessError) as caught:
        h.client.supplier_structures()
    error = caught.value
    for text in (str(error), repr(error), error.libelle, repr(pickle.loads(pickle.dumps(error)))):
        assert_clean(text)
    assert "***" in error.libelle


def test_oauth_error_echoing_the_secret_is_masked(harness_factory: Build) -> None:
    h = harness_factory(lambda r: httpx.Response(200, json=envelope()))
    h.piste.token_status = 400
    h.piste.token_body = {
        "error": "invalid_client",
        "error_description": f"bad secret {CLIENT_SECRET}",
    }
    with pytest.raises(AuthenticationError) as caught:
        h.client.supplier_structures()
    assert_clean(str(caught.value))
    assert_clean(repr(caught.value))


def test_401_header_echoing_the_token_is_masked(harness_factory: Build) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        return httpx.Response(
            401, headers={"WWW-Authenticate": f'Bearer error="invalid_token {token}"'}
        )

    h = harness_factory(handler)
    with pytest.raises(AuthenticationError) as caught:
        h.client.supplier_structures()
    assert_clean(str(caught.value))
    assert_clean(caught.value.www_authenticate or "")


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503, text="down"),
        httpx.ReadTimeout("timed out"),
        httpx.Response(401),
    ],
)
def test_logs_and_errors_of_failing_calls_hold_no_secret(
    harness_factory: Build, failure: httpx.Response | Exception
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(failure, Exception):
            raise failure
        return failure

    h = harness_factory(handler, max_retries=2)
    with capture_logs() as logs, pytest.raises(ChorusProError) as caught:
        h.client.supplier_structures()
    assert logs, "the failure should have been logged"
    assert_clean(repr(logs))
    assert_clean(str(caught.value))
    assert_clean(repr(caught.value))
    cause = caught.value.__cause__
    if cause is not None:
        assert_clean(str(cause))
        assert_clean(repr(cause))
