"""The two credential layers: PISTE OAuth (token endpoint, Bearer check) and the cpro-account header.

Answers copy what peers measured on PISTE: a missing Bearer is a 400 from the gateway's default
realm, a bad technical account a 401 with an empty body whose only explanation is the
`WWW-Authenticate` header, a missing API subscription a 403 with an empty body. Checks run in the
gateway's order: token, the quota of the token's application, its subscriptions, then the
technical account (checked by Chorus behind it).

Several applications and technical accounts may be configured: a token carries the application
it was issued to (whose subscriptions and quota apply), and `cpro-account` names the account
whose attached structures the request sees.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from chorus_pro.simulator.config import TechnicalAccount
from chorus_pro.simulator.store import Store

__all__ = [
    "ACCOUNT_CHALLENGE",
    "INVALID_BEARER_CHALLENGE",
    "MISSING_BEARER_CHALLENGE",
    "STATS_EPOCH_KEY",
    "account_refusal",
    "account_refused_response",
    "bearer_token",
    "gateway_refusal",
    "invalid_token_response",
    "issue_token",
    "request_account",
    "too_many_requests",
]

#: Scope key under which the gateway leaves the stats epoch the request was counted in.
STATS_EPOCH_KEY = "chorus_sim.stats_epoch"

MISSING_BEARER_CHALLENGE = (
    'Bearer realm="DefaultRealm", error="invalid_request", '
    'error_description="Unable to find token in the message"'
)
INVALID_BEARER_CHALLENGE = (
    'Bearer realm="PISTE", error="invalid_token", '
    'error_description="The access token provided is expired, revoked, malformed, or invalid"'
)
ACCOUNT_CHALLENGE = (
    'Bearer realm="PISTE",error="Unauthorized",error_description="login or password incorrects"'
)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def invalid_token_response() -> Response:
    return Response(status_code=401, headers={"WWW-Authenticate": INVALID_BEARER_CHALLENGE})


def too_many_requests(retry_after_seconds: int) -> Response:
    """PISTE's quota answer: JSON, with `Retry-After`; nothing was applied."""
    return Response(
        json.dumps(
            {"message": "Rate limit exceeded ! Retry later.", "http_status_code": 429},
            separators=(",", ":"),
        ),
        status_code=429,
        media_type="application/json;charset=utf-8",
        headers={"Retry-After": str(retry_after_seconds)},
    )


def gateway_refusal(store: Store, request: Request, api: str | None) -> Response | None:
    """None if the gateway lets the request through; `api` None means an undeclared route.

    A token of an application no longer configured is refused like an unknown one: removing an
    application revokes its tokens.
    """
    token = bearer_token(request)
    if token is None:
        return Response(status_code=400, headers={"WWW-Authenticate": MISSING_BEARER_CHALLENGE})
    client_id = store.token_client(token)
    application = store.config.application(client_id) if client_id is not None else None
    if client_id is None or application is None:
        return invalid_token_response()
    retry_after = store.admit_request(
        client_id, application.rate_limit_per_second, request.scope.get(STATS_EPOCH_KEY)
    )
    if retry_after is not None:
        return too_many_requests(retry_after)
    if api is None or api in application.unsubscribed_apis:
        return Response(status_code=403)
    return None


def account_refused_response() -> Response:
    return Response(status_code=401, headers={"WWW-Authenticate": ACCOUNT_CHALLENGE})


def request_account(store: Store, request: Request) -> TechnicalAccount | None:
    """The technical account `cpro-account` names, if its password is right and not expired."""
    header = request.headers.get("cpro-account")
    if header is None:
        return None
    try:
        decoded = base64.b64decode(header.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    login, separator, password = decoded.partition(":")
    if not separator:
        return None
    with store.lock:
        account = store.config.account(login)
        if account is None or password != account.password:
            return None
        if store.clock.today() > store.password_expires_on(account):
            return None
        return account


def account_refusal(store: Store, request: Request) -> Response | None:
    """None if `cpro-account` carries a known technical account whose password has not expired."""
    return None if request_account(store, request) is not None else account_refused_response()


def _client_from_basic(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return client_id, secret


def token_form(body: bytes) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}


def token_client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """(client id, secret) of a token request: HTTP Basic first, else the form fields."""
    basic = _client_from_basic(request)
    return basic or (form.get("client_id", ""), form.get("client_secret", ""))


def issue_token(store: Store, request: Request, body: bytes) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) of `POST /api/oauth/token` (client credentials grant)."""
    form = token_form(body)
    if form.get("grant_type") != "client_credentials":
        return 400, {
            "error": "unsupported_grant_type",
            "error_description": "Only the client_credentials grant is supported",
        }
    client_id, secret = token_client_credentials(request, form)
    application = store.config.application(client_id)
    if application is None or secret != application.client_secret:
        # Unknown client and wrong secret answer the same, as on PISTE.
        return 400, {"error": "invalid_client", "error_description": "Client authentication failed"}
    return 200, {
        "access_token": store.issue_token(client_id),
        "token_type": "Bearer",
        "expires_in": store.config.token_lifetime_seconds,
        "scope": form.get("scope", "openid"),
    }
