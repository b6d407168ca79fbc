"""The warehouse side of the exactly-once deposit protocol.

Every state transition is one short committed transaction of a few Core statements by primary key:
the deposit threads spend their time on Chorus Pro, not in the ORM's unit of work. A batch's
invoices, VAT lines, export folders and earlier uploads are read up front in a handful of queries
(`load`), so that depositing an invoice costs three commits (claim, uploads, deposited) and nothing
else on the warehouse.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, col, select

from chorus_etl.leases import ClaimLost, Owner
from chorus_pro.errors import BusinessError, ChorusProError
from schemas.alerts import AlertKind
from schemas.payloads import InvoiceSummary
from schemas.warehouse import (
    AttemptOutcome,
    DepositAttempt,
    DepositOrigin,
    ExportFile,
    Invoice,
    InvoiceState,
    InvoiceVatLine,
    ValidationIssue,
    utcnow,
)
from tasks.alerts import messages, outbox
from tasks.deposit.matching import Difference

LOAD_CHUNK = 500
_T = TypeVar("_T")
#: Attempts whose outcome is not known yet: the invoice is `submitting` because of them.
OPEN_OUTCOMES = (AttemptOutcome.PENDING.value, AttemptOutcome.AMBIGUOUS.value)

_INVOICE = SQLModel.metadata.tables[str(Invoice.__tablename__)]
_ATTEMPT = SQLModel.metadata.tables[str(DepositAttempt.__tablename__)]

# Built once: the SET columns come from each call's parameters, so SQLAlchemy compiles and caches
# each statement once instead of rebuilding it and its cache key for every invoice.
_INVOICE_BY_ID = sa.update(_INVOICE).where(_INVOICE.c.id == sa.bindparam("row_id"))
_ATTEMPT_BY_ID = sa.update(_ATTEMPT).where(_ATTEMPT.c.id == sa.bindparam("row_id"))
#: An attempt changes only while the one who asks still holds it (and it is still open).
_HELD_ATTEMPT = _ATTEMPT_BY_ID.where(
    _ATTEMPT.c.owner == sa.bindparam("holder"), _ATTEMPT.c.outcome.in_(OPEN_OUTCOMES)
)
#: Taking over an open attempt from the owner seen gone (or from nobody), as it was seen: one
#: taker wins, and an owner that renewed its lease meanwhile keeps it.
_TAKE_OVER = _ATTEMPT_BY_ID.where(
    _ATTEMPT.c.owner.is_not_distinct_from(sa.bindparam("seen_owner")),
    _ATTEMPT.c.lease_until.is_not_distinct_from(sa.bindparam("seen_lease_until")),
    _ATTEMPT.c.outcome.in_(OPEN_OUTCOMES),
)
_SUBMITTING_BY_ID = _INVOICE_BY_ID.where(_INVOICE.c.state == InvoiceState.SUBMITTING.value)
_CLAIM = sa.update(_INVOICE).where(
    _INVOICE.c.id == sa.bindparam("row_id"), _INVOICE.c.state == InvoiceState.READY.value
)
_NEW_ATTEMPT = sa.insert(_ATTEMPT)
_DEPOSITED = _SUBMITTING_BY_ID.values(
    current_status=sa.func.coalesce(_INVOICE.c.current_status, sa.bindparam("status_if_none"))
)


@dataclass
class Uploads:
    """Chorus Pro ids of an invoice's uploaded files, reused by every later attempt."""

    pdf_id: int | None = None
    attachments: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps(self.attachments, ensure_ascii=False)

    @classmethod
    def from_row(cls, pdf_id: int | None, attachments_json: str | None) -> Uploads:
        known = json.loads(attachments_json or "{}") or {}
        return cls(pdf_id, {str(k): int(v) for k, v in known.items()})


@dataclass
class LoadedInvoice:
    """What depositing one invoice needs from the warehouse, detached from any session."""

    invoice: Invoice
    vat_lines: list[InvoiceVatLine]
    folder: Path
    uploads: Uploads
    #: A credit note's preceding invoice date (BT-26), when the warehouse holds that invoice.
    original_invoice_date: date | None = None


@dataclass(frozen=True)
class OpenAttempt:
    """An attempt whose outcome is not known yet, and who holds it (None: nobody)."""

    attempt_id: int
    invoice_id: int
    owner: str | None
    lease_until: datetime | None
    mode: str


@dataclass(frozen=True)
class OpenFlux:
    """A Factur-X attempt whose outcome is not known yet."""

    attempt_id: int
    #: None when the deposit's answer was lost: then only a search by invoice number can tell.
    flux_number: str | None
    started_at: datetime


def _chunks(ids: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(ids), LOAD_CHUNK):
        yield ids[start : start + LOAD_CHUNK]


def _error_columns(error: ChorusProError | None) -> dict[str, Any]:
    if isinstance(error, BusinessError):
        return {"error_code": str(error.code_retour)[:50], "error_label": error.libelle[:2000]}
    if error is not None:
        return {"error_code": type(error).__name__[:50], "error_label": str(error)[:2000]}
    return {}


def original_invoice_dates(
    session: Session, references: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], date]:
    """(supplier SIRET, invoice number) -> issue date of that invoice, for the invoices among
    `references` the warehouse holds (credit notes excluded): a credit note's Factur-X must give
    the date of the invoice it corrects (BT-26), which the export does not carry."""
    wanted = set(references)
    found: dict[tuple[str, str], date] = {}
    numbers = sorted({number for _siret, number in wanted})
    for chunk in _chunks(numbers):
        rows = session.execute(
            sa.select(
                _INVOICE.c.supplier_siret, _INVOICE.c.invoice_number, _INVOICE.c.invoice_date
            ).where(
                _INVOICE.c.invoice_number.in_(chunk),
                _INVOICE.c.invoice_type != "AVOIR",
                _INVOICE.c.invoice_date.is_not(None),
            )
        )
        for siret, number, day in rows:
            if (siret, number) in wanted and day is not None:
                found[siret, number] = day
    return found


def load_invoices(engine: Engine, invoice_ids: Sequence[int]) -> dict[int, LoadedInvoice]:
    """Invoices with their VAT lines, folders and latest uploads, in four queries per chunk."""
    loaded: dict[int, LoadedInvoice] = {}
    with Session(engine, expire_on_commit=False) as session:
        for chunk in _chunks(list(invoice_ids)):
            invoices = session.exec(select(Invoice).where(col(Invoice.id).in_(chunk))).all()
            lines: dict[int, list[InvoiceVatLine]] = {}
            for line in session.exec(
                select(InvoiceVatLine)
                .where(col(InvoiceVatLine.invoice_id).in_(chunk))
                .order_by(col(InvoiceVatLine.id))
            ):
                lines.setdefault(line.invoice_id, []).append(line)
            export_ids = {i.export_file_id for i in invoices if i.export_file_id is not None}
            folders = {
                int(export_id): Path(path)
                for export_id, path in session.exec(
                    select(ExportFile.id, ExportFile.path).where(col(ExportFile.id).in_(export_ids))
                )
                if export_id is not None
            }
            uploads: dict[int, Uploads] = {}
            for invoice_id, pdf_id, attachments_json in session.exec(
                select(
                    DepositAttempt.invoice_id,
                    DepositAttempt.pdf_attachment_id,
                    DepositAttempt.attachment_ids_json,
                )
                .where(
                    col(DepositAttempt.invoice_id).in_(chunk),
                    col(DepositAttempt.pdf_attachment_id).is_not(None),
                )
                .order_by(col(DepositAttempt.id))
            ):
                uploads[invoice_id] = Uploads.from_row(pdf_id, attachments_json)
            originals = original_invoice_dates(
                session,
                (
                    (i.supplier_siret, i.original_invoice_number)
                    for i in invoices
                    if i.original_invoice_number
                ),
            )
            for invoice in invoices:
                assert invoice.id is not None
                loaded[invoice.id] = LoadedInvoice(
                    invoice,
                    lines.get(invoice.id, []),
                    folders.get(invoice.export_file_id or 0, Path(".")),
                    uploads.get(invoice.id, Uploads()),
                    originals.get((invoice.supplier_siret, invoice.original_invoice_number or "")),
                )
        session.expunge_all()
    return loaded


class DepositStore:
    """Reads and state transitions of deposits; thread-safe (each call uses its own connection)."""

    def __init__(self, engine: Engine, *, accounting_email: str, owner: Owner) -> None:
        self.engine = engine
        self.accounting_email = accounting_email
        self.owner = owner
        #: When this run last made sure of each attempt it holds (monotonic seconds).
        self._sure_at: dict[int, float] = {}

    # --- reads ---------------------------------------------------------------------------------

    def load(self, invoice_ids: Sequence[int]) -> dict[int, LoadedInvoice]:
        return load_invoices(self.engine, invoice_ids)

    def open_flux(self, invoice_id: int) -> OpenFlux | None:
        """The latest open Factur-X attempt of an invoice: its flux number if Chorus gave one."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(_ATTEMPT.c.id, _ATTEMPT.c.flux_number, _ATTEMPT.c.started_at)
                .where(
                    _ATTEMPT.c.invoice_id == invoice_id,
                    _ATTEMPT.c.mode == "facturx",
                    _ATTEMPT.c.outcome.in_(OPEN_OUTCOMES),
                )
                .order_by(_ATTEMPT.c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return OpenFlux(int(row.id), row.flux_number, row.started_at)

    def open_attempts(self, invoice_ids: Sequence[int]) -> dict[int, OpenAttempt]:
        """Each invoice's latest open attempt, with its holder."""
        found: dict[int, OpenAttempt] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(invoice_ids)):
                rows = conn.execute(
                    sa.select(
                        _ATTEMPT.c.id,
                        _ATTEMPT.c.invoice_id,
                        _ATTEMPT.c.owner,
                        _ATTEMPT.c.lease_until,
                        _ATTEMPT.c.mode,
                    )
                    .where(_ATTEMPT.c.invoice_id.in_(chunk), _ATTEMPT.c.outcome.in_(OPEN_OUTCOMES))
                    .order_by(_ATTEMPT.c.id)
                )
                for row in rows:
                    found[int(row.invoice_id)] = OpenAttempt(
                        int(row.id), int(row.invoice_id), row.owner, row.lease_until, row.mode
                    )
        return found

    def may_have_sent(self, invoice_id: int, *, besides: int | None = None) -> bool:
        """Whether an attempt of ours (other than `besides`) may have reached Chorus Pro."""
        with Session(self.engine) as session:
            return may_have_sent(session, invoice_id, besides=besides)

    # --- transitions (each one committed) ------------------------------------------------------

    def claim(self, invoice_id: int, uploads: Uploads, mode: str = "pdf") -> int | None:
        """`ready` → `submitting` plus a pending attempt held by this run, atomically; None if
        another run has it."""
        now = utcnow()
        with self.engine.connect() as conn:
            claimed = conn.execute(
                _CLAIM,
                {
                    "row_id": invoice_id,
                    "state": InvoiceState.SUBMITTING.value,
                    "updated_at": now,
                },
            )
            if claimed.rowcount != 1:
                conn.rollback()
                return None
            inserted = conn.execute(
                _NEW_ATTEMPT,
                {
                    "invoice_id": invoice_id,
                    "started_at": now,
                    "outcome": AttemptOutcome.PENDING.value,
                    "mode": mode,
                    "pdf_attachment_id": uploads.pdf_id,
                    "attachment_ids_json": uploads.as_json(),
                    "owner": self.owner.name,
                    "lease_until": self.owner.until(now),
                },
            )
            key = inserted.inserted_primary_key
            conn.commit()
        assert key is not None
        self._sure_at[int(key[0])] = time.monotonic()
        return int(key[0])

    def renew(self, attempt_id: int) -> None:
        """Before every call that could reach Chorus Pro: still ours, for another lease.

        Nobody can take an attempt over while its lease runs (from another host) or while this
        run lives (from this one): within half a lease of the last time this run made sure of
        it, it is still ours without asking the warehouse (two commits fewer per invoice)."""
        sure_at = self._sure_at.get(attempt_id)
        now = time.monotonic()
        if sure_at is not None and now - sure_at < self.owner.lease.total_seconds() / 2:
            return
        with self.engine.connect() as conn:
            renewed = conn.execute(
                _HELD_ATTEMPT,
                {
                    "row_id": attempt_id,
                    "holder": self.owner.name,
                    "lease_until": self.owner.until(utcnow()),
                },
            )
            conn.commit()
        if renewed.rowcount != 1:
            self._sure_at.pop(attempt_id, None)
            raise ClaimLost(f"attempt {attempt_id} was taken over by another run")
        self._sure_at[attempt_id] = now

    def take_over(self, attempt: OpenAttempt) -> bool:
        """An open attempt whose holder is gone (or that nobody holds) becomes this run's; of two
        runs trying at once, one wins."""
        with self.engine.connect() as conn:
            taken = conn.execute(
                _TAKE_OVER,
                {
                    "row_id": attempt.attempt_id,
                    "seen_owner": attempt.owner,
                    "seen_lease_until": attempt.lease_until,
                    "owner": self.owner.name,
                    "lease_until": self.owner.until(utcnow()),
                },
            )
            conn.commit()
        if taken.rowcount == 1:
            self._sure_at[attempt.attempt_id] = time.monotonic()
        return taken.rowcount == 1

    def let_go(self, attempt_id: int) -> None:
        """Left open on purpose (a flux awaiting its report, a lookup that failed): any later run
        may take it over at once, without waiting for this one to end."""
        self._sure_at.pop(attempt_id, None)
        with self.engine.connect() as conn:
            conn.execute(
                _HELD_ATTEMPT,
                {"row_id": attempt_id, "holder": self.owner.name, "owner": None},
            )
            conn.commit()

    def save_flux(self, attempt_id: int, flux_number: str) -> None:
        """Committed the moment Chorus answers: the flux is looked up by it before any resend;
        the attempt then waits for its report, held by nobody."""
        self._sure_at.pop(attempt_id, None)
        with self.engine.connect() as conn:
            conn.execute(_ATTEMPT_BY_ID, {"row_id": attempt_id, "flux_number": flux_number})
            conn.execute(
                _HELD_ATTEMPT,
                {"row_id": attempt_id, "holder": self.owner.name, "owner": None},
            )
            conn.commit()

    def save_uploads(
        self, attempt_id: int, uploads: Uploads, *, embedded_xml_removed: bool | None = None
    ) -> None:
        """Committed after every upload: a crash must not upload the same file again."""
        removed = (
            {} if embedded_xml_removed is None else {"embedded_xml_removed": embedded_xml_removed}
        )
        with self.engine.connect() as conn:
            conn.execute(
                _ATTEMPT_BY_ID,
                {
                    "row_id": attempt_id,
                    "pdf_attachment_id": uploads.pdf_id,
                    "attachment_ids_json": uploads.as_json(),
                    **removed,
                },
            )
            conn.commit()

    def mark_deposited(
        self,
        invoice_id: int,
        attempt_id: int | None,
        chorus_id: int,
        deposit_date: date | None,
        fingerprint: str | None,
        status: str | None,
        outcome: AttemptOutcome,
        origin: DepositOrigin = DepositOrigin.PIPELINE,
    ) -> None:
        """Chorus Pro's answer (or a matching search) is a fact, whoever holds the attempt."""
        now = utcnow()
        with self.engine.connect() as conn:
            conn.execute(
                _DEPOSITED,
                {
                    "row_id": invoice_id,
                    "state": InvoiceState.DEPOSITED.value,
                    "chorus_invoice_id": chorus_id,
                    "deposit_date": deposit_date or now.date(),
                    "certificate_fingerprint": fingerprint,
                    "deposit_origin": origin.value,
                    "status_if_none": status or "DEPOSEE",
                    "deposit_error_code": None,
                    "deposit_error_label": None,
                    "updated_at": now,
                },
            )
            if attempt_id is not None:
                self._finish_attempt(conn, attempt_id, outcome, chorus_id=chorus_id)
            conn.commit()

    def mark_refused(self, invoice_id: int, attempt_id: int, error: ChorusProError) -> None:
        """`deposit_failed` and the alert for the entrepreneur and accounting, in one commit."""
        code = str(getattr(error, "code_retour", None) or type(error).__name__)
        label = getattr(error, "libelle", None) or str(error)
        self.mark_failed(invoice_id, attempt_id, code, label)

    def _held_submitting(
        self, session: Session, invoice_id: int, attempt_id: int
    ) -> Invoice | None:
        """The invoice, if it is still `submitting` under this run's attempt (locked for update)."""
        held = (
            session.connection()
            .execute(
                sa.select(_ATTEMPT.c.id).where(
                    _ATTEMPT.c.id == attempt_id,
                    _ATTEMPT.c.owner == self.owner.name,
                    _ATTEMPT.c.outcome.in_(OPEN_OUTCOMES),
                )
            )
            .first()
        )
        invoice = session.exec(
            select(Invoice).where(Invoice.id == invoice_id).with_for_update()
        ).first()
        if held is None or invoice is None or invoice.state != InvoiceState.SUBMITTING.value:
            return None
        return invoice

    def mark_failed(self, invoice_id: int, attempt_id: int, code: str, label: str) -> None:
        """`deposit_failed` with Chorus Pro's (or the Factur-X builder's) code and label."""
        with Session(self.engine) as session:
            invoice = self._held_submitting(session, invoice_id, attempt_id)
            if invoice is None:
                raise ClaimLost(f"invoice {invoice_id} is no longer this run's to fail")
            invoice.state = InvoiceState.DEPOSIT_FAILED.value
            invoice.deposit_error_code = code[:50]
            invoice.deposit_error_label = label[:2000]
            invoice.updated_at = utcnow()
            session.add(invoice)
            self._finish_attempt(
                session.connection(),
                attempt_id,
                AttemptOutcome.REFUSED,
                columns={"error_code": code[:50], "error_label": label[:2000]},
            )
            facts, entrepreneur = outbox.facts_of(session, invoice)
            subject, body = messages.deposit_refused(facts, code, label)
            outbox.queue(
                session,
                kind=AlertKind.DEPOSIT_REFUSED,
                event_key=f"{invoice.supplier_siret}:{invoice.invoice_number}:{attempt_id}",
                invoice=invoice,
                subject=subject,
                body=body,
                entrepreneur=entrepreneur,
                accounting_email=self.accounting_email,
            )
            session.commit()

    def mark_conflict(
        self,
        invoice_id: int,
        attempt_id: int,
        other: InvoiceSummary,
        diffs: Sequence[Difference],
    ) -> None:
        """Chorus Pro holds another invoice under the number: `conflict`, both sides in the
        reasons, one alert for accounting; nothing of the other invoice is taken."""
        with Session(self.engine) as session:
            invoice = self._held_submitting(session, invoice_id, attempt_id)
            if invoice is None:
                raise ClaimLost(f"invoice {invoice_id} is no longer this run's")
            label = conflict_label(other, diffs)
            invoice.state = InvoiceState.CONFLICT.value
            invoice.deposit_error_code = CONFLICT_CODE
            invoice.deposit_error_label = label[:2000]
            invoice.updated_at = utcnow()
            session.add(invoice)
            self._finish_attempt(
                session.connection(),
                attempt_id,
                AttemptOutcome.CONFLICT,
                columns={"error_code": CONFLICT_CODE, "error_label": label[:2000]},
            )
            record_conflict(session, invoice, other, diffs, self.accounting_email)
            session.commit()

    def release(
        self, invoice_id: int, attempt_id: int, error: ChorusProError, *, sent: bool
    ) -> None:
        """Back to `ready` when nothing can have reached Chorus; else stay `submitting`."""
        with self.engine.connect() as conn:
            finished = self._finish_attempt(
                conn,
                attempt_id,
                AttemptOutcome.AMBIGUOUS if sent else AttemptOutcome.FAILED,
                error=error,
                holder=self.owner.name,
            )
            if finished and not sent:
                conn.execute(
                    _SUBMITTING_BY_ID,
                    {
                        "row_id": invoice_id,
                        "state": InvoiceState.READY.value,
                        "updated_at": utcnow(),
                    },
                )
            conn.commit()

    def back_to_ready(self, invoice_id: int, attempt_id: int) -> bool:
        """Not found on Chorus Pro: the attempt this run holds failed, and the invoice may be sent
        again. False if the attempt is no longer this run's (then nothing changes)."""
        with self.engine.connect() as conn:
            finished = self._finish_attempt(
                conn, attempt_id, AttemptOutcome.FAILED, holder=self.owner.name
            )
            if finished:
                conn.execute(
                    _SUBMITTING_BY_ID,
                    {
                        "row_id": invoice_id,
                        "state": InvoiceState.READY.value,
                        "updated_at": utcnow(),
                    },
                )
            conn.commit()
        return finished

    @staticmethod
    def _finish_attempt(
        conn: Connection,
        attempt_id: int,
        outcome: AttemptOutcome,
        *,
        error: ChorusProError | None = None,
        chorus_id: int | None = None,
        columns: dict[str, Any] | None = None,
        holder: str | None = None,
    ) -> bool:
        """With `holder`, only while that run still holds the open attempt."""
        values = {
            "row_id": attempt_id,
            "outcome": outcome.value,
            "finished_at": utcnow(),
            "chorus_invoice_id": chorus_id,
            **_error_columns(error),
            **(columns or {}),
        }
        if holder is None:
            conn.execute(_ATTEMPT_BY_ID, values)
            return True
        return conn.execute(_HELD_ATTEMPT, {**values, "holder": holder}).rowcount == 1


def may_have_sent(session: Session, invoice_id: int, *, besides: int | None = None) -> bool:
    """Whether an attempt of ours (other than `besides`) may have reached Chorus Pro: one still
    open, or one that failed without an error (looked up absent, which proves nothing later)."""
    found = (
        session.connection()
        .execute(
            sa.select(sa.func.count())
            .select_from(_ATTEMPT)
            .where(
                _ATTEMPT.c.invoice_id == invoice_id,
                _ATTEMPT.c.id != (besides or 0),
                sa.or_(
                    _ATTEMPT.c.outcome.in_(OPEN_OUTCOMES),
                    sa.and_(
                        _ATTEMPT.c.outcome == AttemptOutcome.FAILED.value,
                        _ATTEMPT.c.error_code.is_(None),
                    ),
                ),
            )
        )
        .scalar()
    )
    return bool(found)


#: The deposit-error code of an invoice in `conflict`.
CONFLICT_CODE = "NUMERO_DEJA_UTILISE"


def conflict_label(other: InvoiceSummary, diffs: Sequence[Difference]) -> str:
    """Chorus Pro's side, in English, for the attempt and the invoice's error label."""
    return (
        f"Chorus Pro invoice {other.identifiantFactureCPP} has this number: "
        + ", ".join(f"{d.field} ours {d.ours} / theirs {d.theirs}" for d in diffs)
        + f"; deposited {other.dateDepot or '?'} ({other.modeDepot or 'mode unknown'})"
    )


def record_conflict(
    session: Session,
    invoice: Invoice,
    other: InvoiceSummary,
    diffs: Sequence[Difference],
    accounting_email: str,
) -> None:
    """The reason showing both sides, and accounting's one alert (in the caller's commit)."""
    assert invoice.id is not None
    facts = outbox.facts(invoice, None)
    shown = messages.OtherInvoice(
        other.identifiantFactureCPP,
        other.dateDepot,
        other.modeDepot,
        tuple((d.field, d.ours, d.theirs) for d in diffs),
    )
    session.add(
        ValidationIssue(
            invoice_id=invoice.id,
            rule=CONFLICT_RULE,
            column="invoice_number",
            value=str(other.identifiantFactureCPP),
            message_fr=messages.number_conflict_reason(facts, shown)[:2000],
            message_en=conflict_label(other, diffs)[:2000],
        )
    )
    subject, body = messages.number_conflict(facts, shown)
    outbox.queue(
        session,
        kind=AlertKind.NUMBER_CONFLICT,
        event_key=f"{invoice.supplier_siret}:{invoice.invoice_number}:"
        f"{other.identifiantFactureCPP}",
        invoice=invoice,
        subject=subject,
        body=body,
        entrepreneur=None,
        accounting_email=accounting_email,
    )


#: The reason's rule of an invoice in `conflict`.
CONFLICT_RULE = "chorus.number_taken"
