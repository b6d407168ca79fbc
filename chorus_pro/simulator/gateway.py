"""The path every API request takes, in the order PISTE and Chorus apply it.

count → fixed latency → gateway (token, quota of its application, subscription) → technical
account → content type → JSON body → fault draw → [429 / 5xx / token expiry answered at once] →
handler under the store lock, as the request's technical account → [commit-then-fail: the change
is kept, the answer is lost] → [slow: answer held back].

A slow answer is applied first and held afterwards, so a client that times out has an invoice on
Chorus it did not hear about: the ambiguous case the pipeline's lookup-before-resend handles.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from chorus_pro.simulator import auth, codes
from chorus_pro.simulator.codes import BusinessError
from chorus_pro.simulator.faults import FaultDecision, FaultKind
from chorus_pro.simulator.store import Store

__all__ = [
    "HEALTH_CHECK_PATH",
    "TOKEN_PATH",
    "TRANSPORT_KEY",
    "ChorusJSONResponse",
    "Handler",
    "HttpRefusal",
    "Operation",
    "api_route",
    "health_check_route",
    "token_route",
    "undeclared_route",
]

TOKEN_PATH = "/api/oauth/token"  # noqa: S105 - a path
HEALTH_CHECK_PATH = "/cpro/transverses/v1/health-check"
#: Scope key under which the outer ASGI wrapper leaves the connection's transport.
TRANSPORT_KEY = "chorus_sim.transport"
SUCCESS_LIBELLE = "TRA_MSG_00.000"

Handler = Callable[[Store, dict[str, Any]], dict[str, Any]]


class HttpRefusal(Exception):
    """A request refused with an HTTP status rather than an envelope (413 for a download too
    large): nothing was applied."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class ChorusJSONResponse(Response):
    """UTF-8 JSON with the exact content type Chorus answers with."""

    media_type = "application/json;charset=utf-8"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class DroppedConnection(Response):
    """Closes the TCP connection without a byte of answer (needs uvicorn's transport)."""

    def __init__(self) -> None:
        super().__init__(status_code=599)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = scope.get(TRANSPORT_KEY)
        if transport is None:
            raise RuntimeError("commit-then-drop needs the uvicorn transport; none was captured")
        transport.abort()
        # Let uvicorn see the connection as lost before the app returns, so it does not try to
        # write a 500 on it.
        await asyncio.sleep(0)
        await asyncio.sleep(0)


@dataclass(frozen=True)
class Operation:
    path: str
    handler: Handler
    write: bool = False

    @property
    def api(self) -> str:
        """`factures` for `/cpro/factures/v1/...`: the unit of PISTE subscription."""
        return self.path.split("/")[2]


async def _latency(store: Store) -> None:
    delay = store.config.latency_ms
    if delay > 0:
        await asyncio.sleep(delay / 1000)


def _fault_response(decision: FaultDecision) -> Response | None:
    """The answer of a fault that replaces the request, or None."""
    retry_after = {"Retry-After": str(decision.retry_after_seconds)}
    if decision.kind is FaultKind.TOO_MANY_REQUESTS:
        return auth.too_many_requests(decision.retry_after_seconds)
    if decision.kind is FaultKind.INTERNAL_ERROR:
        return Response("Internal Server Error", status_code=500, media_type="text/plain")
    if decision.kind is FaultKind.BAD_GATEWAY:
        return _bad_gateway()
    if decision.kind is FaultKind.UNAVAILABLE:
        return Response(
            "<html><body><h1>503 Service Unavailable</h1></body></html>",
            status_code=503,
            media_type="text/html",
            headers=retry_after,
        )
    if decision.kind is FaultKind.TOKEN_EXPIRY:
        return auth.invalid_token_response()
    return None


def _bad_gateway() -> Response:
    return Response(
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        status_code=502,
        media_type="text/html",
    )


def _is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("application/json")


async def _read_body(request: Request) -> dict[str, Any] | None:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


async def _run_operation(store: Store, operation: Operation, request: Request) -> Response:
    await _latency(store)
    refusal = auth.gateway_refusal(store, request, operation.api)
    if refusal is not None:
        return refusal
    account = auth.request_account(store, request)
    if account is None:
        return auth.account_refused_response()
    with store.acting_as(account):
        return await _run_as_account(store, operation, request)


async def _run_as_account(store: Store, operation: Operation, request: Request) -> Response:
    if not _is_json(request):
        return Response(status_code=415)
    body = await _read_body(request)
    if body is None:
        return ChorusJSONResponse(codes.MALFORMED_BODY().envelope(), status_code=400)

    decision = store.faults.draw(request.url.path, write=operation.write)
    early = _fault_response(decision)
    if early is not None:
        if decision.kind is FaultKind.TOKEN_EXPIRY:
            token = auth.bearer_token(request)
            if token is not None:
                store.revoke_token(token)
        return early

    try:
        with store.lock:
            payload = operation.handler(store, body)
        response: Response = ChorusJSONResponse(
            {"codeRetour": 0, "libelle": SUCCESS_LIBELLE, **payload}
        )
    except BusinessError as error:
        response = ChorusJSONResponse(
            error.envelope(), status_code=store.config.business_errors_http
        )
    except HttpRefusal as refusal:
        response = ChorusJSONResponse(
            {"message": refusal.message, "http_status_code": refusal.status_code},
            status_code=refusal.status_code,
        )

    if decision.kind is FaultKind.COMMIT_THEN_FAIL:
        return DroppedConnection() if decision.commit_then_fail_mode == "drop" else _bad_gateway()
    if decision.kind is FaultKind.SLOW:
        await asyncio.sleep(decision.slow_seconds)
    return response


def _counted(
    store: Store, run: Callable[[Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        path = request.url.path
        epoch = store.count_request(path)
        request.scope[auth.STATS_EPOCH_KEY] = epoch
        try:
            if store.gate.closed:
                # Read before waiting: a client that gives up meanwhile leaves its body behind,
                # and a held request is handled as if it had just arrived, like Chorus Pro would.
                await request.body()
                await store.gate.pass_through(path)
            response = await run(request)
        finally:
            store.request_finished()
        status = "dropped" if isinstance(response, DroppedConnection) else response.status_code
        store.count_response(path, status, epoch)
        return response

    return endpoint


def api_route(store: Store, operation: Operation) -> Route:
    async def run(request: Request) -> Response:
        return await _run_operation(store, operation, request)

    return Route(operation.path, _counted(store, run), methods=["POST"])


def token_route(store: Store) -> Route:
    async def run(request: Request) -> Response:
        await _latency(store)
        body = await request.body()
        client_id, _ = auth.token_client_credentials(request, auth.token_form(body))
        if store.config.application(client_id) is not None:
            store.count_token_request(client_id, request.scope.get(auth.STATS_EPOCH_KEY))
        decision = store.faults.draw(request.url.path, write=False, token_route=True)
        early = _fault_response(decision)
        if early is not None:
            return early
        status, payload = auth.issue_token(store, request, body)
        if decision.kind is FaultKind.SLOW:
            await asyncio.sleep(decision.slow_seconds)
        return ChorusJSONResponse(
            payload, status_code=status, headers={"Cache-Control": "no-store"}
        )

    return Route(TOKEN_PATH, _counted(store, run), methods=["POST"])


def health_check_route(store: Store) -> Route:
    """No credential and no fault: it is also the readiness probe of the run helpers."""

    async def run(request: Request) -> Response:
        await _latency(store)
        return ChorusJSONResponse({"body": "OK", "statusCodeValue": 200, "statusCode": "OK"})

    return Route(HEALTH_CHECK_PATH, _counted(store, run), methods=["GET"])


def undeclared_route(store: Store, declared: frozenset[str]) -> Route:
    """Any other `/cpro/...` path: the gateway checks the token, then refuses with 403.

    A declared operation called with the wrong method gets 405, as from the routes themselves.
    """

    async def run(request: Request) -> Response:
        await _latency(store)
        if request.url.path in declared:
            return Response(status_code=405, headers={"Allow": "POST"})
        refusal = auth.gateway_refusal(store, request, None)
        return refusal if refusal is not None else Response(status_code=403)

    return Route(
        "/cpro/{rest:path}", _counted(store, run), methods=["GET", "POST", "PUT", "DELETE", "PATCH"]
    )
