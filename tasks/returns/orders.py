"""`chorus-etl complete` and `chorus-etl recycle`: an order checked, then recorded as a request.

The checks are the ones an export's request gets: a completion's files pass the attachment
preflight of the deposit; a recycling's new routing passes the directory checks of the ingest
(`tasks/ingest/directory.py`: the buyer known and active, the service it requires, existing and
active, the engagement it requires). A refused order is recorded nowhere and sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from chorus_etl.settings import Settings
from chorus_pro.api import ChorusProApi
from schemas.export import is_valid_siret
from schemas.warehouse import Invoice, InvoiceState, ReturnKind
from tasks.returns.requests import Request, Routing, plan_files, record_request

_INVOICE = SQLModel.metadata.tables[str(Invoice.__tablename__)]
MAX_ENGAGEMENT = 50
MAX_SERVICE = 100


class ReturnOrder(BaseModel):
    """What the command asks; options left out of a recycling keep the current routing."""

    kind: Literal["complete", "recycle"]
    number: str
    structure: str | None = None
    cooperative: str | None = None
    files: list[str] = Field(default_factory=list)
    comment: str | None = None
    buyer_siret: str | None = None
    service_code: str | None = None
    engagement_number: str | None = None


@dataclass
class Placed:
    """The order's fate: an action to answer, or why not (French), and how the command ends."""

    action_id: int | None = None
    invoice_id: int | None = None
    #: refused (the order is wrong), unknown, ambiguous (several invoices), waiting (retry).
    problem: str | None = None
    reasons: list[str] = field(default_factory=list)


def find_invoices(
    engine: Engine, number: str, structure: str | None, cooperative: str | None
) -> list[Invoice]:
    """The invoices numbered exactly `number` (case-insensitive), of a structure or a
    cooperative if given."""
    query = sa.select(_INVOICE).where(
        sa.func.lower(_INVOICE.c.invoice_number) == number.strip().lower()
    )
    if structure:
        query = query.where(_INVOICE.c.supplier_siret == structure.strip())
    if cooperative:
        query = query.where(_INVOICE.c.cooperative == cooperative.strip())
    with engine.connect() as conn:
        return [Invoice.model_validate(dict(r._mapping)) for r in conn.execute(query)]


def _refused(*reasons: str) -> Placed:
    return Placed(problem="refused", reasons=list(reasons))


def new_routing(invoice: Invoice, order: ReturnOrder) -> Routing:
    def given(value: str | None, current: str | None) -> str | None:
        return current if value is None else (value.strip() or None)

    return Routing(
        given(order.buyer_siret, invoice.buyer_siret),
        given(order.service_code, invoice.buyer_service_code),
        given(order.engagement_number, invoice.engagement_number),
    )


def routing_reasons(
    engine: Engine,
    api: ChorusProApi,
    invoice: Invoice,
    routing: Routing,
    settings: Settings,
) -> tuple[list[str], bool]:
    """Why Chorus Pro would refuse the new routing (French), as the ingest would tell; and
    whether its directory could not be asked (then nothing is decided: try again later)."""
    from tasks.ingest.directory import check_buyers
    from tasks.ingest.validate import InvoiceDraft

    siret = routing.buyer_siret or ""
    if not is_valid_siret(siret):
        return [f"Le SIRET du destinataire « {siret} » n'est pas un SIRET valide."], False
    problems = []
    if len(routing.engagement_number or "") > MAX_ENGAGEMENT:
        problems.append(f"Le numéro d'engagement dépasse {MAX_ENGAGEMENT} caractères.")
    if len(routing.buyer_service_code or "") > MAX_SERVICE:
        problems.append(f"Le code service dépasse {MAX_SERVICE} caractères.")
    if problems:
        return problems, False
    draft = InvoiceDraft(
        supplier_siret=invoice.supplier_siret,
        invoice_number=invoice.invoice_number,
        lines=[],
        header={
            "buyer_siret": siret,
            "buyer_service_code": routing.buyer_service_code or "",
            "engagement_number": routing.engagement_number or "",
        },
        vat_lines=[],
    )
    result = check_buyers(engine, api, [draft], ttl=timedelta(hours=settings.directory_cache_hours))
    key = (invoice.supplier_siret, invoice.invoice_number)
    if key in result.waiting:
        return [r.message_fr for r in result.waiting[key]], True
    return [r.message_fr for r in result.reasons.get(key, [])], False


def place_order(
    engine: Engine, settings: Settings, api: ChorusProApi | None, order: ReturnOrder
) -> Placed:
    """Checks the order and records its request; `api` asks the directory (recycling only)."""
    found = find_invoices(engine, order.number, order.structure, order.cooperative)
    if not found:
        return Placed(problem="unknown", reasons=[f"Aucune facture {order.number} connue."])
    if len(found) > 1:
        where = ", ".join(f"{i.supplier_siret} ({i.cooperative})" for i in found)
        return Placed(
            problem="ambiguous",
            reasons=[f"La facture {order.number} existe pour {where} : précisez --structure."],
        )
    invoice = found[0]
    assert invoice.id is not None
    if invoice.state != InvoiceState.DEPOSITED.value or invoice.chorus_invoice_id is None:
        return _refused(
            f"La facture {invoice.invoice_number} n'est pas déposée sur Chorus Pro (état "
            f"{invoice.state}) : il n'y a rien à compléter ni à recycler."
        )
    episode = invoice.current_status_at.isoformat() if invoice.current_status_at else None
    if order.kind == "complete":
        planned, reasons = plan_files([Path(f) for f in order.files])
        if reasons:
            return _refused(*(r.message_fr for r in reasons))
        comment = (order.comment or "").strip() or None
        if not planned and not comment:
            return _refused("Rien à envoyer : donnez au moins une pièce jointe ou un commentaire.")
        request = Request(
            invoice_id=invoice.id,
            kind=ReturnKind.COMPLETE,
            origin="command",
            comment=comment,
            files=planned,
            episode=episode,
        )
    else:
        before = Routing.of(invoice)
        after = new_routing(invoice, order)
        if after == before:
            return _refused(
                "Rien à changer : donnez un nouveau --buyer, --service ou --engagement."
            )
        assert api is not None
        problems, waiting = routing_reasons(engine, api, invoice, after, settings)
        if problems:
            return Placed(problem="waiting" if waiting else "refused", reasons=problems)
        request = Request(
            invoice_id=invoice.id,
            kind=ReturnKind.RECYCLE,
            origin="command",
            comment=(order.comment or "").strip() or None,
            before=before,
            after=after,
            episode=episode,
        )
    recorded = record_request(engine, request)
    return Placed(action_id=recorded.action_id, invoice_id=invoice.id)
