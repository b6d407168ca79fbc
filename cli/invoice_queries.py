"""The read-only warehouse queries behind `chorus-etl invoices` and `chorus-etl invoice NUMBER`.

A handful of queries whatever the number of invoices: the page (and its count), then the last
event of every invoice of the page in one query; one invoice's life in one query per section.
SQLAlchemy Core over the sqlmodel tables, the same SQL on SQLite and PostgreSQL. Nothing here
writes, and nothing reads the settings: the command passes what the overdue rule needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from schemas.warehouse import (
    Alert,
    BuyerStructure,
    DepositAttempt,
    Entrepreneur,
    Invoice,
    InvoiceState,
    InvoiceVatLine,
    ReturnAction,
    StatusEvent,
    ValidationIssue,
)

AnySelect: TypeAlias = sa.Select[*tuple[Any, ...]]

#: Ids per `IN (...)` list: far below SQLite's and PostgreSQL's parameter limits.
CHUNK = 500

#: Newest first: by issue date (invoices without one last), then the latest staged.
NEWEST = (
    col(Invoice.invoice_date).desc().nulls_last(),
    col(Invoice.id).desc(),
)


class UnknownState(ValueError):
    """A `--state` that is not one of `InvoiceState`."""

    def __init__(self, given: str) -> None:
        self.given = given
        self.valid = [state.value for state in InvoiceState]
        super().__init__(f"unknown state {given!r}; valid states: {', '.join(self.valid)}")


def parse_state(given: str) -> str:
    value = given.strip().lower()
    if value not in {state.value for state in InvoiceState}:
        raise UnknownState(given)
    return value


@dataclass(frozen=True)
class Filters:
    """What `chorus-etl invoices` narrows on; every filter given must hold (AND)."""

    cooperative: str | None = None
    structure: str | None = None
    entrepreneur: str | None = None
    status: str | None = None
    state: str | None = None
    number: str | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if self.cooperative:
            where.append(col(Invoice.cooperative) == self.cooperative.strip())
        if self.structure:
            where.append(col(Invoice.supplier_siret) == self.structure.strip())
        if self.entrepreneur:
            where.append(
                sa.func.lower(col(Invoice.entrepreneur_code)) == self.entrepreneur.strip().lower()
            )
        if self.status:
            where.append(sa.func.upper(col(Invoice.current_status)) == self.status.strip().upper())
        if self.state:
            where.append(col(Invoice.state) == parse_state(self.state))
        if self.number:
            # An exact number is its own prefix: one case-insensitive LIKE covers both.
            where.append(number_matches(self.number, prefix=True))
        return where


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def number_matches(number: str, *, prefix: bool) -> sa.ColumnElement[bool]:
    """Case-insensitive on both engines (`lower()` on each side, not ILIKE, for SQLite)."""
    pattern = _escape_like(number.strip().lower()) + ("%" if prefix else "")
    return sa.func.lower(col(Invoice.invoice_number)).like(pattern, escape="\\")


@dataclass(frozen=True)
class LastEvent:
    """The latest status event; with none, the latest deposit attempt or validation issue."""

    kind: str  # "status", "deposit" or "ingest"
    what: str  # the status, the attempt's outcome, the issue's severity
    detail: str | None  # the status comment, the error code and label, the rule
    at: datetime | None
    count: int = 1  # rows of that kind (an invalid invoice has several reasons)


@dataclass(frozen=True)
class ListedInvoice:
    id: int
    cooperative: str
    supplier_siret: str
    invoice_number: str
    invoice_type: str
    invoice_date: date | None
    entrepreneur_code: str | None
    entrepreneur_name: str | None
    buyer_siret: str | None
    buyer_name: str | None
    total_ttc_cents: int
    state: str
    chorus_status: str | None
    chorus_status_at: datetime | None
    deposit_date: date | None
    last_event: LastEvent | None = None


@dataclass(frozen=True)
class Page:
    invoices: list[ListedInvoice]
    matched: int


def _buyer_name() -> sa.ColumnElement[Any]:
    return sa.func.coalesce(col(Invoice.buyer_name), col(BuyerStructure.designation))


def _listing() -> AnySelect:
    return sa.select(
        col(Invoice.id),
        col(Invoice.cooperative),
        col(Invoice.supplier_siret),
        col(Invoice.invoice_number),
        col(Invoice.invoice_type),
        col(Invoice.invoice_date),
        col(Invoice.entrepreneur_code),
        col(Entrepreneur.name).label("entrepreneur_name"),
        col(Invoice.buyer_siret),
        _buyer_name().label("buyer_name"),
        col(Invoice.total_ttc_cents),
        col(Invoice.state),
        col(Invoice.current_status).label("chorus_status"),
        col(Invoice.current_status_at).label("chorus_status_at"),
        col(Invoice.deposit_date),
    ).select_from(_joined())


def _joined() -> sa.FromClause:
    invoice = Invoice.__table__  # type: ignore[attr-defined]
    return invoice.outerjoin(  # type: ignore[no-any-return]
        Entrepreneur.__table__,  # type: ignore[attr-defined]
        sa.and_(
            col(Entrepreneur.supplier_siret) == col(Invoice.supplier_siret),
            col(Entrepreneur.code) == col(Invoice.entrepreneur_code),
        ),
    ).outerjoin(
        BuyerStructure.__table__,  # type: ignore[attr-defined]
        col(BuyerStructure.siret) == col(Invoice.buyer_siret),
    )


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def list_invoices(
    engine: Engine, filters: Filters, limit: int, only: Mapping[int, Any] | None = None
) -> Page:
    """The newest `limit` invoices matching `filters` (and among `only`'s ids, when given: the
    overdue ones), how many matched in all, and each one's last event."""
    where = filters.conditions()
    with engine.connect() as conn:
        if only is None:
            matched = conn.execute(
                sa.select(sa.func.count()).select_from(Invoice).where(*where)
            ).scalar_one()
            rows = list(conn.execute(_listing().where(*where).order_by(*NEWEST).limit(limit)))
        else:
            ids: list[int] = [
                i
                for i in conn.execute(sa.select(col(Invoice.id)).where(*where).order_by(*NEWEST))
                .scalars()
                .all()
                if i is not None and i in only
            ]
            matched = len(ids)
            page_ids = ids[:limit]
            by_id = {
                row.id: row
                for chunk in _chunks(page_ids)
                for row in conn.execute(_listing().where(col(Invoice.id).in_(chunk)))
            }
            rows = [by_id[i] for i in page_ids]
        last = last_events(conn, [row.id for row in rows])
    invoices = [ListedInvoice(**row._asdict(), last_event=last.get(row.id)) for row in rows]
    return Page(invoices, int(matched))


def last_events(conn: Connection, invoice_ids: Sequence[int]) -> dict[int, LastEvent]:
    """One query (per 500 invoices): every event of the invoices, ranked, the first kept."""
    found: dict[int, LastEvent] = {}
    for chunk in _chunks(invoice_ids):
        events: AnySelect = sa.select(
            col(StatusEvent.invoice_id).label("invoice_id"),
            sa.literal_column("0").label("tier"),
            sa.literal_column("'status'").label("kind"),
            col(StatusEvent.status).label("what"),
            col(StatusEvent.comment).label("detail"),
            col(StatusEvent.status_at).label("at"),
            col(StatusEvent.id).label("row_id"),
        ).where(col(StatusEvent.invoice_id).in_(chunk))
        attempts: AnySelect = sa.select(
            col(DepositAttempt.invoice_id),
            sa.literal_column("1"),
            sa.literal_column("'deposit'"),
            col(DepositAttempt.outcome),
            sa.func.coalesce(
                col(DepositAttempt.error_code) + " " + col(DepositAttempt.error_label),
                col(DepositAttempt.error_code),
                col(DepositAttempt.error_label),
            ),
            sa.func.coalesce(col(DepositAttempt.finished_at), col(DepositAttempt.started_at)),
            col(DepositAttempt.id),
        ).where(col(DepositAttempt.invoice_id).in_(chunk))
        issues: AnySelect = sa.select(
            col(ValidationIssue.invoice_id),
            sa.literal_column("1"),
            sa.literal_column("'ingest'"),
            col(ValidationIssue.severity),
            col(ValidationIssue.rule),
            col(ValidationIssue.created_at),
            col(ValidationIssue.id),
        ).where(col(ValidationIssue.invoice_id).in_(chunk))
        every = sa.union_all(events, attempts, issues).subquery("every_event")
        ranked = sa.select(
            every,
            sa.func.row_number()
            .over(
                partition_by=every.c.invoice_id,
                order_by=(every.c.tier, every.c.at.desc(), every.c.row_id.desc()),
            )
            .label("position"),
            sa.func.count()
            .over(partition_by=(every.c.invoice_id, every.c.kind, every.c.what))
            .label("same"),
        ).subquery("ranked")
        for row in conn.execute(sa.select(ranked).where(ranked.c.position == 1)):
            found[row.invoice_id] = LastEvent(
                kind=row.kind,
                what=row.what,
                detail=row.detail,
                at=_utc(row.at),
                count=int(row.same),
            )
    return found


def _utc(value: Any) -> datetime | None:
    """The union's column is typed as its first branch's (`UTCDateTime`); a guard all the same."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- one invoice's life -----------------------------------------------------------------------


@dataclass
class InvoiceLife:
    """An invoice's header row and, each in time order, its sections."""

    header: dict[str, Any]
    vat_lines: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    #: Completions and recyclings asked of Chorus Pro once the buyer sent it back.
    returns: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def deposit_mode(self) -> str | None:
        """The mode of the latest attempt (`pdf` or `facturx`); None before any attempt."""
        return self.attempts[-1]["mode"] if self.attempts else None


def invoice_lives(
    engine: Engine, number: str, structure: str | None = None, cooperative: str | None = None
) -> list[InvoiceLife]:
    """Every invoice numbered `number` (exactly, case-insensitive), of one structure or
    cooperative, or of all."""
    query: AnySelect = (
        sa.select(
            col(Invoice.id),
            col(Invoice.cooperative),
            col(Invoice.supplier_siret),
            col(Invoice.invoice_number),
            col(Invoice.invoice_type),
            col(Invoice.original_invoice_number),
            col(Invoice.invoice_date),
            col(Invoice.due_date),
            col(Invoice.entrepreneur_code),
            col(Entrepreneur.name).label("entrepreneur_name"),
            col(Invoice.buyer_siret),
            _buyer_name().label("buyer_name"),
            col(Invoice.buyer_service_code),
            col(Invoice.engagement_number),
            col(Invoice.market_number),
            col(Invoice.currency),
            col(Invoice.payment_mode),
            col(Invoice.amount_ht_cents),
            col(Invoice.amount_vat_cents),
            col(Invoice.total_ttc_cents),
            col(Invoice.state),
            col(Invoice.chorus_invoice_id),
            col(Invoice.current_status).label("chorus_status"),
            col(Invoice.current_status_at).label("chorus_status_at"),
            col(Invoice.current_status_comment).label("chorus_status_comment"),
            col(Invoice.deposit_date),
            col(Invoice.deposit_origin),
            col(Invoice.deposit_error_code),
            col(Invoice.deposit_error_label),
            col(Invoice.pdf_path),
            col(Invoice.created_at),
            col(Invoice.updated_at),
        )
        .select_from(_joined())
        .where(number_matches(number, prefix=False))
        .order_by(col(Invoice.cooperative), col(Invoice.supplier_siret), col(Invoice.id))
    )
    if structure:
        query = query.where(col(Invoice.supplier_siret) == structure.strip())
    if cooperative:
        query = query.where(col(Invoice.cooperative) == cooperative.strip())
    with engine.connect() as conn:
        lives = {row.id: InvoiceLife(dict(row._mapping)) for row in conn.execute(query)}
        if not lives:
            return []
        ids = list(lives)
        sections: list[tuple[str, AnySelect]] = [
            (
                "vat_lines",
                sa.select(
                    col(InvoiceVatLine.invoice_id),
                    col(InvoiceVatLine.rate_bp),
                    col(InvoiceVatLine.base_cents),
                    col(InvoiceVatLine.vat_cents),
                    col(InvoiceVatLine.exemption_reason),
                )
                .where(col(InvoiceVatLine.invoice_id).in_(ids))
                .order_by(col(InvoiceVatLine.rate_bp).desc()),
            ),
            (
                "issues",
                sa.select(
                    col(ValidationIssue.invoice_id),
                    col(ValidationIssue.created_at),
                    col(ValidationIssue.severity),
                    col(ValidationIssue.rule),
                    col(ValidationIssue.column),
                    col(ValidationIssue.value),
                    col(ValidationIssue.message_fr),
                    col(ValidationIssue.message_en),
                )
                .where(col(ValidationIssue.invoice_id).in_(ids))
                .order_by(col(ValidationIssue.created_at), col(ValidationIssue.id)),
            ),
            (
                "attempts",
                sa.select(
                    col(DepositAttempt.invoice_id),
                    col(DepositAttempt.started_at),
                    col(DepositAttempt.finished_at),
                    col(DepositAttempt.mode),
                    col(DepositAttempt.outcome),
                    col(DepositAttempt.flux_number),
                    col(DepositAttempt.chorus_invoice_id),
                    col(DepositAttempt.error_code),
                    col(DepositAttempt.error_label),
                )
                .where(col(DepositAttempt.invoice_id).in_(ids))
                .order_by(col(DepositAttempt.started_at), col(DepositAttempt.id)),
            ),
            (
                "events",
                sa.select(
                    col(StatusEvent.invoice_id),
                    col(StatusEvent.status_at),
                    col(StatusEvent.status),
                    col(StatusEvent.comment),
                    col(StatusEvent.source),
                    col(StatusEvent.recorded_at),
                )
                .where(col(StatusEvent.invoice_id).in_(ids))
                .order_by(col(StatusEvent.status_at), col(StatusEvent.id)),
            ),
            (
                "returns",
                sa.select(
                    col(ReturnAction.invoice_id),
                    col(ReturnAction.requested_at),
                    col(ReturnAction.kind),
                    col(ReturnAction.origin),
                    col(ReturnAction.state),
                    col(ReturnAction.attempts),
                    col(ReturnAction.comment),
                    col(ReturnAction.files_json),
                    col(ReturnAction.routing_json),
                    col(ReturnAction.chorus_status),
                    col(ReturnAction.error_code),
                    col(ReturnAction.error_label),
                    col(ReturnAction.detail),
                    col(ReturnAction.finished_at),
                )
                .where(col(ReturnAction.invoice_id).in_(ids))
                .order_by(col(ReturnAction.requested_at), col(ReturnAction.id)),
            ),
            (
                "alerts",
                sa.select(
                    col(Alert.invoice_id),
                    col(Alert.created_at),
                    col(Alert.kind),
                    col(Alert.audience),
                    col(Alert.recipient),
                    col(Alert.status),
                    col(Alert.sent_at),
                    col(Alert.subject),
                )
                .where(col(Alert.invoice_id).in_(ids))
                .order_by(col(Alert.created_at), col(Alert.id)),
            ),
        ]
        for name, section in sections:
            for row in conn.execute(section):
                values = dict(row._mapping)
                if name == "returns":
                    values = _return_action(values)
                getattr(lives[values.pop("invoice_id")], name).append(values)
    return list(lives.values())


def _return_action(values: dict[str, Any]) -> dict[str, Any]:
    """The files by name and the routing as a mapping, instead of their stored JSON."""
    files = json.loads(values.pop("files_json") or "[]")
    routing = json.loads(values.pop("routing_json") or "{}") or {}
    return values | {
        "files": [str(f.get("name")) for f in files],
        "routing_before": routing.get("before"),
        "routing_after": routing.get("after"),
    }
