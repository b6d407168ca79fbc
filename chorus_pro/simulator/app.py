"""The ASGI application: one host for OAuth, the Chorus Pro API and the `/_sim` control plane.

`SimulatorApp` wraps Starlette so that it is the outermost ASGI callable uvicorn talks to: only
there is the `send` callable uvicorn's own, through which the connection's transport can be
reached to drop a connection without an answer (commit-then-drop).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from chorus_pro.simulator import api_factures, api_structures, api_transverses, downloads
from chorus_pro.simulator.config import SimulatorConfig
from chorus_pro.simulator.control import control_routes
from chorus_pro.simulator.gateway import (
    TRANSPORT_KEY,
    api_route,
    health_check_route,
    token_route,
    undeclared_route,
)
from chorus_pro.simulator.store import Store

__all__ = ["SimulatorApp", "create_app"]


class SimulatorApp:
    def __init__(self, store: Store) -> None:
        self.store = store
        operations = (
            *api_transverses.OPERATIONS,
            *api_factures.OPERATIONS,
            *downloads.OPERATIONS,
            *api_structures.OPERATIONS,
        )
        self.starlette = Starlette(
            routes=[
                token_route(store),
                health_check_route(store),
                *(api_route(store, operation) for operation in operations),
                undeclared_route(store, frozenset(op.path for op in operations)),
                *control_routes(store),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            owner = getattr(send, "__self__", None)
            scope[TRANSPORT_KEY] = getattr(owner, "transport", None)
        await self.starlette(scope, receive, send)


def create_app(config: SimulatorConfig | None = None) -> SimulatorApp:
    return SimulatorApp(Store(config or SimulatorConfig()))
