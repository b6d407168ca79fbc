"""The warehouse side of answering returned invoices: claims, transitions, and what is told.

Each transition is one short transaction. A claim (`requested` → `pending`, held by this run
with a lease, as deposit attempts are: `chorus_etl.leases`) is committed before any call to
Chorus Pro, and only while no other action of the same invoice is open, so two runs never send
two answers for one invoice at once. Chorus Pro's own answer (or what its status history shows)
is a fact whoever holds the action; every other change needs the holder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from chorus_etl.leases import ClaimLost, Owner, is_gone
from schemas.warehouse import (
    BuyerStructure,
    Invoice,
    ReturnAction,
    ReturnKind,
    ReturnState,
    utcnow,
)
from tasks.alerts import messages, outbox

#: Actions whose call may be under way or whose outcome is not known yet.
OPEN_STATES = (ReturnState.PENDING.value, ReturnState.AMBIGUOUS.value)

_ACTION = SQLModel.metadata.tables[str(ReturnAction.__tablename__)]
_INVOICE = SQLModel.metadata.tables[str(Invoice.__tablename__)]
_BY_ID = sa.update(_ACTION).where(_ACTION.c.id == sa.bindparam("row_id"))
#: Changes only while the one who asks still holds the open action.
_HELD = _BY_ID.where(_ACTION.c.owner == sa.bindparam("holder"), _ACTION.c.state.in_(OPEN_STATES))


@dataclass
class Action:
    """One return action with what answering it needs of its invoice, detached from any session."""

    id: int
    invoice_id: int
    kind: ReturnKind
    origin: str
    state: str
    comment: str | None
    files: list[dict[str, Any]]
    uploads: dict[str, int]
    before: dict[str, str | None]
    after: dict[str, str | None]
    content_hash: str | None
    source_hash: str | None
    results_seen: int | None
    owner: str | None
    lease_until: datetime | None
    attempts: int
    supplier_siret: str
    invoice_number: str
    invoice_state: str
    chorus_invoice_id: int | None
    cooperative: str
    detail: str | None = None


def _action(row: Any) -> Action:
    routing = json.loads(row.routing_json or "{}") or {}
    return Action(
        id=int(row.id),
        invoice_id=int(row.invoice_id),
        kind=ReturnKind(row.kind),
        origin=row.origin,
        state=row.state,
        comment=row.comment,
        files=json.loads(row.files_json or "[]"),
        uploads={str(k): int(v) for k, v in (json.loads(row.upload_ids_json or "{}")).items()},
        before=routing.get("before") or {},
        after=routing.get("after") or {},
        content_hash=row.content_hash,
        source_hash=row.source_hash,
        results_seen=row.results_seen,
        owner=row.owner,
        lease_until=row.lease_until,
        attempts=int(row.attempts),
        supplier_siret=row.supplier_siret,
        invoice_number=row.invoice_number,
        invoice_state=row.invoice_state,
        chorus_invoice_id=row.chorus_invoice_id,
        cooperative=row.cooperative,
        detail=row.detail,
    )


def _joined() -> sa.Select[Any]:
    return sa.select(
        _ACTION,
        _INVOICE.c.supplier_siret,
        _INVOICE.c.invoice_number,
        _INVOICE.c.state.label("invoice_state"),
        _INVOICE.c.chorus_invoice_id,
        _INVOICE.c.cooperative,
    ).join(_INVOICE, _INVOICE.c.id == _ACTION.c.invoice_id)


class ReturnStore:
    """Reads and transitions of return actions; thread-safe (each call its own connection)."""

    def __init__(self, engine: Engine, owner: Owner) -> None:
        self.engine = engine
        self.owner = owner

    # --- reads ---------------------------------------------------------------------------------

    def load(self, action_id: int) -> Action:
        with self.engine.connect() as conn:
            row = conn.execute(_joined().where(_ACTION.c.id == action_id)).one()
        return _action(row)

    def to_answer(
        self, *, invoice_ids: list[int] | None = None, sirets: list[str] | None = None
    ) -> list[int]:
        """Actions to work on, oldest first: those `requested`, and open ones nobody holds any
        more (a crash, a lost answer whose lookup failed); one another run holds is left out."""
        query = _joined().where(_ACTION.c.state.in_([ReturnState.REQUESTED.value, *OPEN_STATES]))
        if invoice_ids is not None:
            query = query.where(_ACTION.c.invoice_id.in_(invoice_ids))
        if sirets:
            query = query.where(_INVOICE.c.supplier_siret.in_(sirets))
        now = utcnow()
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(_ACTION.c.id)).all()
        return [
            int(row.id)
            for row in rows
            if row.state == ReturnState.REQUESTED.value or is_gone(row.owner, row.lease_until, now)
        ]

    # --- transitions ---------------------------------------------------------------------------

    def claim(self, action: Action, results_seen: int) -> bool:
        """`requested` → `pending`, held by this run, unless another action of the same invoice
        is open (the invoice row is locked meanwhile, so two runs cannot both pass the check)."""
        now = utcnow()
        with self.engine.connect() as conn:
            conn.execute(
                sa.select(_INVOICE.c.id).where(_INVOICE.c.id == action.invoice_id).with_for_update()
            ).first()
            busy = conn.execute(
                sa.select(sa.func.count())
                .select_from(_ACTION)
                .where(
                    _ACTION.c.invoice_id == action.invoice_id,
                    _ACTION.c.id != action.id,
                    _ACTION.c.state.in_(OPEN_STATES),
                )
            ).scalar()
            if busy:
                conn.rollback()
                return False
            claimed = conn.execute(
                _BY_ID.where(_ACTION.c.state == ReturnState.REQUESTED.value),
                {
                    "row_id": action.id,
                    "state": ReturnState.PENDING.value,
                    "owner": self.owner.name,
                    "lease_until": self.owner.until(now),
                    "attempts": action.attempts + 1,
                    "results_seen": results_seen,
                    "started_at": now,
                },
            )
            if claimed.rowcount != 1:
                conn.rollback()
                return False
            conn.commit()
        action.state, action.owner, action.results_seen = (
            ReturnState.PENDING.value,
            self.owner.name,
            results_seen,
        )
        action.attempts += 1
        return True

    def take_over(self, action: Action) -> bool:
        """An open action whose holder is gone (or that nobody holds) becomes this run's."""
        with self.engine.connect() as conn:
            taken = conn.execute(
                _BY_ID.where(
                    _ACTION.c.owner.is_not_distinct_from(sa.bindparam("seen_owner")),
                    _ACTION.c.lease_until.is_not_distinct_from(sa.bindparam("seen_lease_until")),
                    _ACTION.c.state.in_(OPEN_STATES),
                ),
                {
                    "row_id": action.id,
                    "seen_owner": action.owner,
                    "seen_lease_until": action.lease_until,
                    "owner": self.owner.name,
                    "lease_until": self.owner.until(utcnow()),
                },
            )
            conn.commit()
        if taken.rowcount == 1:
            action.owner = self.owner.name
        return taken.rowcount == 1

    def _held(self, action_id: int, **values: Any) -> None:
        with self.engine.connect() as conn:
            changed = conn.execute(
                _HELD, {"row_id": action_id, "holder": self.owner.name, **values}
            )
            conn.commit()
        if changed.rowcount != 1:
            raise ClaimLost(f"return action {action_id} was taken over by another run")

    def renew(self, action_id: int) -> None:
        """Before every call that could reach Chorus Pro: still ours, for another lease."""
        self._held(action_id, lease_until=self.owner.until(utcnow()))

    def save_uploads(self, action_id: int, uploads: dict[str, int]) -> None:
        """Committed after each upload: a crash must not upload the same file again."""
        self._held(action_id, upload_ids_json=json.dumps(uploads))

    def sent_without_answer(self, action_id: int, error: str) -> None:
        """The call may have reached Chorus Pro: only its status history can tell."""
        self._held(action_id, state=ReturnState.AMBIGUOUS.value, detail=error[:2000])

    def send_again(self, action_id: int) -> None:
        """Not on Chorus Pro, and the invoice still waits for it: held, to be sent again."""
        self._held(action_id, state=ReturnState.PENDING.value)

    def let_go(self, action_id: int, detail: str) -> None:
        """Left open on purpose (the status history could not be read): any later run may take
        it over at once."""
        self._held(action_id, owner=None, detail=detail[:2000])

    def back_to_requested(self, action_id: int, detail: str) -> None:
        """Nothing can have reached Chorus Pro (an error before the call): tried again later."""
        self._held(action_id, state=ReturnState.REQUESTED.value, owner=None, detail=detail[:2000])

    def refuse(self, action: Action, code: str, label: str, *, accounting_email: str) -> bool:
        """`refused` with why, and the people told; from `requested` (refused before any call)
        or from an open state held by this run (Chorus Pro's refusal). False if it was not
        ours to refuse any more."""
        ours = sa.or_(
            _ACTION.c.state == ReturnState.REQUESTED.value,
            sa.and_(_ACTION.c.state.in_(OPEN_STATES), _ACTION.c.owner == self.owner.name),
        )
        return self._finish(
            action,
            ours,
            {
                "state": ReturnState.REFUSED.value,
                "error_code": code[:50],
                "error_label": label[:2000],
            },
            "return_refused",
            lambda facts: messages.return_refused(
                facts, action.kind.value, code, label, answered=action.attempts > 0
            ),
            accounting_email,
        )

    def done(
        self,
        action: Action,
        *,
        status: str | None,
        held: dict[str, str | None] | None,
        detail: str | None,
        accounting_email: str,
    ) -> bool:
        """Chorus Pro took the answer (its reply, or its status history says so): `done`, a
        recycled invoice's routing as Chorus Pro now holds it (`held`, else as asked), and the
        people told, in one commit. False when another run recorded it first."""
        routing = held or action.after

        def told(facts: messages.InvoiceFacts) -> tuple[str, str]:
            if action.kind is ReturnKind.COMPLETE:
                return messages.invoice_completed(
                    facts, [str(f["name"]) for f in action.files], action.comment
                )
            return messages.invoice_recycled(facts, action.before, routing, detail)

        return self._finish(
            action,
            _ACTION.c.state.in_(OPEN_STATES),
            {
                "state": ReturnState.DONE.value,
                "chorus_status": (status or None) and status[:60],
                "detail": (detail or None) and detail[:2000],
            },
            "completed" if action.kind is ReturnKind.COMPLETE else "recycled",
            told,
            accounting_email,
            reroute=routing if action.kind is ReturnKind.RECYCLE else None,
        )

    def _finish(
        self,
        action: Action,
        allowed: sa.ColumnElement[bool],
        values: dict[str, Any],
        kind: str,
        message: Callable[[messages.InvoiceFacts], tuple[str, str]],
        accounting_email: str,
        reroute: dict[str, str | None] | None = None,
    ) -> bool:
        """The action's end (if `allowed` still holds), a recycled invoice's new routing and
        the alert to its entrepreneur and accounting, in one commit."""
        with Session(self.engine) as session:
            finished = session.connection().execute(
                _BY_ID.where(allowed),
                {"row_id": action.id, "owner": None, "finished_at": utcnow(), **values},
            )
            if finished.rowcount != 1:
                session.rollback()
                return False
            invoice = session.exec(
                select(Invoice).where(Invoice.id == action.invoice_id).with_for_update()
            ).one()
            if reroute is not None:
                self._reroute(session, invoice, reroute, action)
            facts, entrepreneur = outbox.facts_of(session, invoice)
            subject, body = message(facts)
            outbox.queue(
                session,
                kind=kind,
                event_key=f"{invoice.supplier_siret}:{invoice.invoice_number}:{action.id}",
                invoice=invoice,
                subject=subject,
                body=body,
                entrepreneur=entrepreneur,
                accounting_email=accounting_email,
            )
            session.commit()
        action.state = str(values["state"])
        return True

    @staticmethod
    def _reroute(
        session: Session, invoice: Invoice, routing: dict[str, str | None], action: Action
    ) -> None:
        """The invoice now goes where Chorus Pro routes it; an export's hashes are kept, so the
        export that asked reads as unchanged from now on."""
        siret = routing.get("buyer_siret") or invoice.buyer_siret
        if siret != invoice.buyer_siret:
            known = session.exec(
                select(BuyerStructure.designation).where(col(BuyerStructure.siret) == siret)
            ).first()
            invoice.buyer_name = known or invoice.buyer_name
        invoice.buyer_siret = siret
        invoice.buyer_service_code = routing.get("buyer_service_code")
        invoice.engagement_number = routing.get("engagement_number")
        if action.content_hash:
            invoice.content_hash = action.content_hash
            invoice.source_hash = action.source_hash
        invoice.updated_at = utcnow()
        session.add(invoice)
