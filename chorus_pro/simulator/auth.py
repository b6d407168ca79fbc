"""The two credential layers: PISTE OAuth (token endpoint, Bearer check) and the cpro-account header.

Answers copy what peers measured on PISTE: a missing Bearer is a 400 from the gateway's default
realm, a bad technical account a 401 with an empty body whose only explanation is the
`WWW-Authenticate` header, a missing API subscription a 403 with an empty body. Checks run in the
gateway's order: token, subscription, then the technical account (checked by Chorus behind it).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from chorus_pro.simulator.store import Store

__all__ = [
    "ACCOUNT_CHALLENGE",
    "INVALID_BEARER_CHALLENGE",
    "MISSING_BEARER_CHALLENGE",
    "account_refusal",
    "bearer_token",
    "gateway_refusal",
    "invalid_token_response",
    "issue_token",
]

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


def gateway_refusal(store: Store, request: Request, api: str | None) -> Response | None:
    """None if the gateway lets the request through; `api` None means an undeclared route."""
    token = bearer_token(request)
    if token is None:
        return Response(status_code=400, headers={"WWW-Authenticate": MISSING_BEARER_CHALLENGE})
    if store.token_state(token) != "valid":
        return invalid_token_response()
    if api is None or api in store.config.unsubscribed_apis:
        return Response(status_code=403)
    return None


def account_refusal(store: Store, request: Request) -> Response | None:
    """None if `cpro-account` carries the technical account and its password has not expired."""
    header = request.headers.get("cpro-account")
    with store.lock:
        config = store.config
        expired = store.clock.today() > store.password_expires_on()
    if header is not None and not expired:
        try:
            decoded = base64.b64decode(header.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            decoded = ""
        login, separator, password = decoded.partition(":")
        if separator and login == config.login and password == config.password:
            return None
    return Response(status_code=401, headers={"WWW-Authenticate": ACCOUNT_CHALLENGE})


def _client_from_basic(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return client_id, secret


def issue_token(store: Store, request: Request, body: bytes) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) of `POST /api/oauth/token` (client credentials grant)."""
    form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
    if form.get("grant_type") != "client_credentials":
        return 400, {
            "error": "unsupported_grant_type",
            "error_description": "Only the client_credentials grant is supported",
        }
    basic = _client_from_basic(request)
    client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
    config = store.config
    if client_id != config.client_id or secret != config.client_secret:
        # Unknown client and wrong secret answer the same, as on PISTE.
        return 400, {"error": "invalid_client", "error_description": "Client authentication failed"}
    return 200, {
        "access_token": store.issue_token(),
        "token_type": "Bearer",
        "expires_in": config.token_lifetime_seconds,
        "scope": form.get("scope", "openid"),
    }
