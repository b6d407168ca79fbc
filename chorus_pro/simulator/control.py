"""`/_sim/...`: what tests, demos and benchmarks use to drive and inspect the simulator.

No authentication and no faults here: these endpoints are the test's own hands, not part of the
API under test. Every answer is JSON; a bad request is a 400 with `{"error": ...}`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chorus_pro.simulator import flux
from chorus_pro.simulator.clock import format_iso, parse_request_datetime
from chorus_pro.simulator.config import FaultConfig, SimulatorConfig
from chorus_pro.simulator.quota import ClientStats
from chorus_pro.simulator.render import invoice_snapshot
from chorus_pro.simulator.seed import (
    buyer_by_siret,
    supplier_by_id,
    supplier_by_siret,
)
from chorus_pro.simulator.store import InvoiceData, Store

__all__ = ["control_routes"]

_KNOWN_OUTCOMES = ("paid", "rejected", "suspended", "to_recycle", "never_paid")


class ControlError(Exception):
    """A control request that cannot be honoured; becomes a 400."""


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ControlError(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ControlError("body must be a JSON object")
    return body


Endpoint = Callable[[Store, Request], Awaitable[dict[str, Any]]]


def _endpoint(store: Store, run: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(await run(store, request))
        except ValidationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except (ControlError, ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return endpoint


# --- reset, config, faults --------------------------------------------------------------------


async def reset(store: Store, request: Request) -> dict[str, Any]:
    store.reset()
    return {"reset": True, "now": format_iso(store.clock.now())}


def _config_json(store: Store) -> dict[str, Any]:
    return store.config.model_dump(mode="json")


async def get_config(store: Store, request: Request) -> dict[str, Any]:
    with store.lock:
        return _config_json(store)


async def post_config(store: Store, request: Request) -> dict[str, Any]:
    """Merges the given keys into the running configuration (`faults`, if given, is replaced)."""
    body = await _json_body(request)
    with store.lock:
        merged = {**store.config.model_dump(), **body}
        store.apply_config(SimulatorConfig.model_validate(merged))
        return _config_json(store)


async def get_faults(store: Store, request: Request) -> dict[str, Any]:
    return store.faults.snapshot()


async def post_faults(store: Store, request: Request) -> dict[str, Any]:
    """Replaces the fault configuration; `expire_tokens_now: true` also invalidates every token.

    A body with only `expire_tokens_now` leaves the configured faults as they are.
    """
    body = await _json_body(request)
    expire = bool(body.pop("expire_tokens_now", False))
    with store.lock:
        if body or not expire:
            faults = FaultConfig.model_validate(body)
            store.apply_config(store.config.model_copy(update={"faults": faults}))
            # Posting the same faults again replays the same sequence from the start.
            store.faults.configure(faults, store.config.seed)
        expired = store.expire_all_tokens() if expire else 0
        return {**store.faults.snapshot(), "tokens_expired": expired}


# --- clock -----------------------------------------------------------------------------------


def _clock_json(store: Store) -> dict[str, Any]:
    return {
        "now": format_iso(store.clock.now()),
        "today": store.clock.today().isoformat(),
        "start": format_iso(store.start_time(store.config)),
        "password_expires_on": store.password_expires_on().isoformat(),
    }


async def get_clock(store: Store, request: Request) -> dict[str, Any]:
    with store.lock:
        return _clock_json(store)


def _number(body: dict[str, Any], key: str) -> float:
    value = body.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ControlError(f"{key} must be a non-negative number")
    return float(value)


async def post_clock(store: Store, request: Request) -> dict[str, Any]:
    """Moves time forward, then settles pending flux and applies every status change now due."""
    body = await _json_body(request)
    unknown = set(body) - {"advance_days", "advance_hours", "advance_minutes", "set"}
    if unknown:
        raise ControlError(f"unknown keys {sorted(unknown)}")
    delta = timedelta(
        days=_number(body, "advance_days"),
        hours=_number(body, "advance_hours"),
        minutes=_number(body, "advance_minutes"),
    )
    with store.lock:
        before = store.clock.now()
        if "set" in body:
            if not isinstance(body["set"], str):
                raise ControlError("set must be a date or date-time string")
            store.clock.set(parse_request_datetime(body["set"]))
        store.clock.advance(delta)
        settled = flux.settle_pending(store) if store.clock.now() > before else 0
        changes = sum(
            store.apply_due(inv) for inv in sorted(store.invoices.values(), key=lambda i: i.id)
        )
        return {**_clock_json(store), "status_changes": changes, "flux_settled": settled}


# --- invoices --------------------------------------------------------------------------------


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ControlError(f"{key} must be a string")
    return value


async def manual_invoice(store: Store, request: Request) -> dict[str, Any]:
    """An invoice "deposited by hand on the portal": no API validation, but the supplier's
    numbering still has to be unique, and it then lives its lifecycle like any other."""
    body = await _json_body(request)
    supplier = None
    if isinstance(body.get("idFournisseur"), int):
        supplier = supplier_by_id(body["idFournisseur"])
    elif isinstance(body.get("supplier_siret"), str):
        supplier = supplier_by_siret(body["supplier_siret"])
    if supplier is None:
        raise ControlError("give a known supplier_siret or idFournisseur")
    numero = _optional_str(body, "numeroFacture")
    if numero is None:
        raise ControlError("numeroFacture is required")
    buyer = buyer_by_siret(_optional_str(body, "codeDestinataire") or "")
    if buyer is None:
        raise ControlError("codeDestinataire must be a known buyer SIRET")
    service_code = _optional_str(body, "codeServiceExecutant")
    service = buyer.service_by_code(service_code) if service_code else None
    if service_code and service is None:
        raise ControlError(f"buyer {buyer.siret} has no service {service_code}")
    supplier_service = None
    if isinstance(body.get("idServiceFournisseur"), int):
        supplier_service = supplier.service_by_id(body["idServiceFournisseur"])
    elif _optional_str(body, "codeServiceFournisseur"):
        supplier_service = supplier.service_by_code(body["codeServiceFournisseur"])
    outcome = body.get("outcome")
    if outcome is not None and outcome not in _KNOWN_OUTCOMES:
        raise ControlError(f"outcome must be one of {_KNOWN_OUTCOMES}")
    ht = float(body.get("montantHtTotal", 0.0))
    tva = float(body.get("montantTVA", 0.0))
    ttc = float(body.get("montantTtcTotal", ht + tva))
    date_text = _optional_str(body, "dateFacture")
    data = InvoiceData(
        numero=numero,
        supplier=supplier,
        supplier_service=supplier_service,
        bank_account=supplier.bank_accounts[0] if supplier.bank_accounts else None,
        buyer=buyer,
        service=service,
        engagement=_optional_str(body, "numeroBonCommande"),
        mode_depot=_optional_str(body, "modeDepot") or "DEPOT_PDF_PORTAIL",
        date_facture=date.fromisoformat(date_text) if date_text else None,
        montant_ht=ht,
        montant_tva=tva,
        montant_ttc=ttc,
        montant_a_payer=float(body.get("montantAPayer", ttc)),
    )
    with store.lock:
        if store.find_duplicate(supplier, numero):
            raise ControlError(f"{supplier.siret} already has an invoice {numero}")
        invoice = store.add_invoice(data, "portal", outcome=outcome)
        return invoice_snapshot(invoice)


async def set_status(store: Store, request: Request) -> dict[str, Any]:
    """Forces a status now (e.g. REJETEE with a comment) and drops the rest of the plan."""
    body = await _json_body(request)
    statut = _optional_str(body, "statut")
    if statut is None:
        raise ControlError("statut is required")
    invoice_id = int(request.path_params["invoice_id"])
    with store.lock:
        invoice = store.invoices.get(invoice_id)
        if invoice is None:
            raise ControlError(f"no invoice {invoice_id}")
        store.set_status(invoice, statut, _optional_str(body, "commentaire") or "")
        return invoice_snapshot(invoice)


# --- inspection ------------------------------------------------------------------------------


def _counts(counter: Any) -> list[dict[str, Any]]:
    return [
        {"supplier_siret": siret, "numeroFacture": numero, "count": count}
        for (siret, numero), count in sorted(counter.items())
    ]


async def get_store(store: Store, request: Request) -> dict[str, Any]:
    with store.lock:
        now_valid = sum(1 for t in store.tokens if store.token_state(t) == "valid")
        return {
            "now": format_iso(store.clock.now()),
            "invoices": [invoice_snapshot(store.invoices[i]) for i in sorted(store.invoices)],
            "submissions": _counts(store.submissions),
            "attempts": _counts(store.attempts),
            "uploads": {
                "count": len(store.uploads),
                "items": [
                    {
                        "pieceJointeId": u.id,
                        "pieceJointeNom": u.name,
                        "size": u.size,
                        "sha256": u.sha256,
                    }
                    for u in store.uploads.values()
                ],
            },
            "flux": [
                {
                    "numeroFluxDepot": f.numero,
                    "nomFichier": f.nom_fichier,
                    "syntaxeFlux": f.syntaxe,
                    "etat": f.state,
                    "dateDepot": format_iso(f.deposited_at),
                    "polls": f.polls,
                    "invoice_ids": list(f.invoice_ids),
                    "listeErreurDP": list(f.errors_dp),
                    "listeErreurTechnique": list(f.errors_technical),
                }
                for f in store.flux.values()
            ],
            "tokens": {"issued": len(store.tokens), "valid": now_valid},
        }


def _by_client(store: Store) -> dict[str, dict[str, int]]:
    """Every configured application (zeros if idle) and any other client id seen since the reset."""
    client_ids = [app.client_id for app in store.config.applications()]
    client_ids += sorted(set(store.clients) - set(client_ids))
    return {
        client_id: (store.clients.get(client_id) or ClientStats()).as_json()
        for client_id in client_ids
    }


async def get_stats(store: Store, request: Request) -> dict[str, Any]:
    with store.lock:
        return {
            "total": sum(store.requests.values()),
            "requests": dict(sorted(store.requests.items())),
            "responses": {path: dict(c) for path, c in sorted(store.responses.items())},
            "faults": dict(store.faults.injected),
            "in_flight": store.in_flight,
            "by_client": _by_client(store),
        }


async def reset_stats(store: Store, request: Request) -> dict[str, Any]:
    store.reset_stats()
    return {"reset": True}


async def get_gate(store: Store, request: Request) -> dict[str, Any]:
    return store.gate.as_json()


async def post_gate(store: Store, request: Request) -> dict[str, Any]:
    """`{"close": [path prefixes]}` holds matching API requests; `{"open": true}` lets them go."""
    body = await _json_body(request)
    if body.get("open"):
        store.gate.open()
    elif isinstance(body.get("close"), list) and body["close"]:
        store.gate.close([str(p) for p in body["close"]])
    else:
        raise ControlError('give {"close": [path prefixes]} or {"open": true}')
    return store.gate.as_json()


async def wait_gate(store: Store, request: Request) -> dict[str, Any]:
    """Answers once `caught` requests were held since the gate closed (400 after `timeout`)."""
    body = await _json_body(request)
    caught = int(body.get("caught", 1))
    timeout = float(body.get("timeout", 60))
    if not await store.gate.wait_caught(caught, timeout):
        raise ControlError(f"{store.gate.caught} requests caught, not {caught}, in {timeout} s")
    return store.gate.as_json()


def control_routes(store: Store) -> list[Route]:
    def route(path: str, run: Endpoint, method: str) -> Route:
        return Route(path, _endpoint(store, run), methods=[method])

    return [
        route("/_sim/reset", reset, "POST"),
        route("/_sim/store", get_store, "GET"),
        route("/_sim/config", get_config, "GET"),
        route("/_sim/config", post_config, "POST"),
        route("/_sim/faults", get_faults, "GET"),
        route("/_sim/faults", post_faults, "POST"),
        route("/_sim/clock", get_clock, "GET"),
        route("/_sim/clock", post_clock, "POST"),
        route("/_sim/invoices/manual", manual_invoice, "POST"),
        route("/_sim/invoices/{invoice_id:int}/status", set_status, "POST"),
        route("/_sim/stats", get_stats, "GET"),
        route("/_sim/stats/reset", reset_stats, "POST"),
        route("/_sim/gate", get_gate, "GET"),
        route("/_sim/gate", post_gate, "POST"),
        route("/_sim/gate/wait", wait_gate, "POST"),
    ]
