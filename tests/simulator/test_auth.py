"""The two credential layers and the gateway's answers, status code by status code."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import httpx

from chorus_pro.simulator import SimulatorHandle
from tests.simulator.helpers import JSON_TYPE, RECHERCHER, Api, account_header

STRUCTURES = "/cpro/structures/v1/rechercher"
ACTIVES = "/cpro/transverses/v1/recuperer/structures/actives/fournisseur"
MISSING_BEARER = (
    'Bearer realm="DefaultRealm", error="invalid_request", '
    'error_description="Unable to find token in the message"'
)
ACCOUNT_REFUSED = (
    'Bearer realm="PISTE",error="Unauthorized",error_description="login or password incorrects"'
)


def test_token_grant_answers_like_piste(api: Api) -> None:
    response = api.request_token()

    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "openid"
    assert len(body["access_token"]) >= 20


def test_token_accepts_http_basic_client_authentication(api: Api) -> None:
    basic = base64.b64encode(b"simulator-client:simulator-secret").decode()
    response = api.http.post(
        "/api/oauth/token",
        data={"grant_type": "client_credentials", "scope": "openid"},
        headers={"Authorization": f"Basic {basic}"},
    )

    assert response.status_code == 200
    assert response.json()["access_token"]


def test_unknown_client_and_wrong_secret_are_indistinguishable(api: Api) -> None:
    unknown = api.request_token(client_id="nobody")
    wrong_secret = api.request_token(client_secret="wrong")

    assert unknown.status_code == wrong_secret.status_code == 400
    assert unknown.json()["error"] == "invalid_client"
    assert unknown.json()["error_description"]
    assert unknown.content == wrong_secret.content


def test_other_grants_are_refused(api: Api) -> None:
    response = api.request_token(grant_type="password")

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_missing_bearer_is_a_400_from_the_default_realm(api: Api) -> None:
    headers = api.headers()
    del headers["Authorization"]

    response = api.post(STRUCTURES, {}, headers=headers)

    assert response.status_code == 400
    assert response.headers["www-authenticate"] == MISSING_BEARER
    assert response.content == b""


def test_non_bearer_authorization_counts_as_missing(api: Api) -> None:
    headers = {**api.headers(), "Authorization": "Basic abc"}

    assert api.post(STRUCTURES, {}, headers=headers).status_code == 400


def test_unknown_token_is_a_401_invalid_token(api: Api) -> None:
    response = api.post(STRUCTURES, {}, headers=api.headers(token="not-a-token"))

    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="PISTE"')
    assert 'error="invalid_token"' in challenge


def test_expiring_all_tokens_invalidates_issued_ones_only(
    api: Api, simulator: SimulatorHandle
) -> None:
    old = api.token()
    assert api.post(ACTIVES, {}).status_code == 200

    assert simulator.control.expire_tokens()["tokens_expired"] >= 1

    assert api.post(ACTIVES, {}, headers=api.headers(token=old)).status_code == 401
    assert (
        api.post(ACTIVES, {}, headers=api.headers(token=api.token(fresh=True))).status_code == 200
    )


def test_token_lifetime_is_configurable(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(token_lifetime_seconds=0)

    response = api.request_token()
    assert response.json()["expires_in"] == 0
    token = response.json()["access_token"]

    assert api.post(ACTIVES, {}, headers=api.headers(token=token)).status_code == 401


def test_bad_technical_account_is_a_401_with_an_empty_body(api: Api) -> None:
    for account in (
        account_header("TECH_1_cooproduction@cpro.fr", "wrong"),
        account_header("TECH_9_other@cpro.fr", "simulator-password"),
        "%%% not base64 %%%",
        base64.b64encode(b"no-colon").decode(),
    ):
        response = api.post(STRUCTURES, {}, headers=api.headers(account=account))

        assert response.status_code == 401, account
        assert response.headers["www-authenticate"] == ACCOUNT_REFUSED
        assert response.content == b""


def test_missing_technical_account_is_a_401(api: Api) -> None:
    headers = api.headers()
    del headers["cpro-account"]

    response = api.post(STRUCTURES, {}, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == ACCOUNT_REFUSED


def test_unsubscribed_api_is_a_403_with_an_empty_body(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(unsubscribed_apis=["structures"])

    refused = api.post(STRUCTURES, {})
    allowed = api.post(RECHERCHER, {})

    assert refused.status_code == 403
    assert refused.content == b""
    assert allowed.status_code == 200


def test_undeclared_routes_are_403_after_the_token_check(api: Api) -> None:
    headers = api.headers()

    assert api.post("/cpro/factures/v1/consulter/cr", {}, headers=headers).status_code == 403
    no_token = {k: v for k, v in headers.items() if k != "Authorization"}
    assert api.post("/cpro/factures/v1/consulter/cr", {}, headers=no_token).status_code == 400


def test_health_check_needs_no_credentials(api: Api) -> None:
    response = api.http.get("/cpro/transverses/v1/health-check")

    assert response.status_code == 200
    assert response.json() == {"body": "OK", "statusCodeValue": 200, "statusCode": "OK"}


def test_answers_are_utf8_json_with_the_chorus_content_type(api: Api) -> None:
    response = api.post(STRUCTURES, {"structure": {"identifiantStructure": "21670447800017"}})

    assert response.headers["content-type"] == JSON_TYPE
    assert response.json()["codeRetour"] == 0


def test_a_body_that_is_not_json_is_refused(api: Api) -> None:
    headers = {**api.headers(), "Content-Type": "text/plain"}

    assert api.http.post(STRUCTURES, content=b"{}", headers=headers).status_code == 415


def test_malformed_json_is_always_an_http_400(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(business_errors_http=200)

    response = api.http.post(STRUCTURES, content=b"{not json", headers=api.headers())

    assert response.status_code == 400
    assert response.json()["codeRetour"] == 20900


def test_get_on_a_post_operation_is_not_allowed(api: Api) -> None:
    assert api.http.get(STRUCTURES, headers=api.headers()).status_code == 405


def test_expired_technical_password_is_refused_like_a_wrong_one(
    api: Api, simulator: SimulatorHandle
) -> None:
    today = date.fromisoformat(simulator.control.clock()["today"])
    simulator.control.set_config(tech_password_expires_on=today.isoformat())
    assert api.post(ACTIVES, {}).status_code == 200

    simulator.control.advance(days=1)

    response = api.post(ACTIVES, {}, headers=api.headers(token=api.token(fresh=True)))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == ACCOUNT_REFUSED


def test_password_expiry_defaults_to_a_year_after_the_clock_start(
    simulator: SimulatorHandle,
) -> None:
    clock = simulator.control.clock()
    start = date.fromisoformat(clock["start"][:10])

    assert date.fromisoformat(clock["password_expires_on"]) == start + timedelta(days=365)


def test_credentials_of_a_custom_configuration(simulator: SimulatorHandle) -> None:
    simulator.control.set_config(client_id="other", client_secret="s3", login="L", password="P")
    with httpx.Client(base_url=simulator.base_url, trust_env=False) as http:
        token = http.post(
            "/api/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "other", "client_secret": "s3"},
        ).json()["access_token"]
        response = http.post(
            ACTIVES,
            json={},
            headers={"Authorization": f"Bearer {token}", "cpro-account": account_header("L", "P")},
        )

    assert response.status_code == 200
