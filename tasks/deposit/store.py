"""The warehouse side of the exactly-once deposit protocol.

Every state transition is one short committed transaction of a few Core statements by primary key:
the deposit threads spend their time on Chorus Pro, not in the ORM's unit of work. A batch's
invoices, VAT lines, export folders and earlier uploads are read up front in a handful of queries
(`load`), so that depositing an invoice costs three commits (claim, uploads, deposited) and nothing
else on the warehouse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, col, select

from chorus_pro.errors import BusinessError, ChorusProError
from schemas.warehouse import (
    AttemptOutcome,
    DepositAttempt,
    ExportFile,
    Invoice,
    InvoiceState,
    InvoiceVatLine,
    utcnow,
)
from tasks.alerts import messages, outbox

LOAD_CHUNK = 500
#: Attempts whose outcome is not known yet: the invoice is `submitting` because of them.
OPEN_OUTCOMES = (AttemptOutcome.PENDING.value, AttemptOutcome.AMBIGUOUS.value)

_INVOICE = SQLModel.metadata.tables[str(Invoice.__tablename__)]
_ATTEMPT = SQLModel.metadata.tables[str(DepositAttempt.__tablename__)]

# Built once: the SET columns come from each call's parameters, so SQLAlchemy compiles and caches
# each statement once instead of rebuilding it and its cache key for every invoice.
_INVOICE_BY_ID = sa.update(_INVOICE).where(_INVOICE.c.id == sa.bindparam("row_id"))
_ATTEMPT_BY_ID = sa.update(_ATTEMPT).where(_ATTEMPT.c.id == sa.bindparam("row_id"))
_CLAIM = sa.update(_INVOICE).where(
    _INVOICE.c.id == sa.bindparam("row_id"), _INVOICE.c.state == InvoiceState.READY.value
)
_NEW_ATTEMPT = sa.insert(_ATTEMPT)
_DEPOSITED = _INVOICE_BY_ID.values(
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


@dataclass(frozen=True)
class OpenFlux:
    """A Factur-X attempt whose outcome is not known yet."""

    attempt_id: int
    #: None when the deposit's answer was lost: then only a search by invoice number can tell.
    flux_number: str | None
    started_at: datetime


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), LOAD_CHUNK):
        yield ids[start : start + LOAD_CHUNK]


def _error_columns(error: ChorusProError | None) -> dict[str, Any]:
    if isinstance(error, BusinessError):
        return {"error_code": str(error.code_retour)[:50], "error_label": error.libelle[:2000]}
    if error is not None:
        return {"error_code": type(error).__name__[:50], "error_label": str(error)[:2000]}
    return {}


class DepositStore:
    """Reads and state transitions of deposits; thread-safe (each call uses its own connection)."""

    def __init__(self, engine: Engine, *, accounting_email: str) -> None:
        self.engine = engine
        self.accounting_email = accounting_email

    # --- reads ---------------------------------------------------------------------------------

    def load(self, invoice_ids: Sequence[int]) -> dict[int, LoadedInvoice]:
        """Invoices with their VAT lines, folders and latest uploads, in four queries per chunk."""
        loaded: dict[int, LoadedInvoice] = {}
        with Session(self.engine, expire_on_commit=False) as session:
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
                        select(ExportFile.id, ExportFile.path).where(
                            col(ExportFile.id).in_(export_ids)
                        )
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
                for invoice in invoices:
                    assert invoice.id is not None
                    loaded[invoice.id] = LoadedInvoice(
                        invoice,
                        lines.get(invoice.id, []),
                        folders.get(invoice.export_file_id or 0, Path(".")),
                        uploads.get(invoice.id, Uploads()),
                    )
            session.expunge_all()
        return loaded

    def open_attempt(self, invoice_id: int) -> int | None:
        """The latest attempt whose outcome is still open (pending or ambiguous)."""
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(_ATTEMPT.c.id)
                .where(
                    _ATTEMPT.c.invoice_id == invoice_id,
                    _ATTEMPT.c.outcome.in_(OPEN_OUTCOMES),
                )
                .order_by(_ATTEMPT.c.id.desc())
                .limit(1)
            ).scalar()
        return None if found is None else int(found)

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

    # --- transitions (each one committed) ------------------------------------------------------

    def save_flux(self, attempt_id: int, flux_number: str) -> None:
        """Committed the moment Chorus answers: the flux is looked up by it before any resend."""
        with self.engine.connect() as conn:
            conn.execute(_ATTEMPT_BY_ID, {"row_id": attempt_id, "flux_number": flux_number})
            conn.commit()

    def claim(self, invoice_id: int, uploads: Uploads, mode: str = "pdf") -> int | None:
        """`ready` → `submitting` plus a pending attempt, atomically; None if someone else has it."""
        with self.engine.connect() as conn:
            claimed = conn.execute(
                _CLAIM,
                {
                    "row_id": invoice_id,
                    "state": InvoiceState.SUBMITTING.value,
                    "updated_at": utcnow(),
                },
            )
            if claimed.rowcount != 1:
                conn.rollback()
                return None
            inserted = conn.execute(
                _NEW_ATTEMPT,
                {
                    "invoice_id": invoice_id,
                    "started_at": utcnow(),
                    "outcome": AttemptOutcome.PENDING.value,
                    "mode": mode,
                    "pdf_attachment_id": uploads.pdf_id,
                    "attachment_ids_json": uploads.as_json(),
                },
            )
            key = inserted.inserted_primary_key
            conn.commit()
        assert key is not None
        return int(key[0])

    def save_uploads(self, attempt_id: int, uploads: Uploads) -> None:
        """Committed after every upload: a crash must not upload the same file again."""
        with self.engine.connect() as conn:
            conn.execute(
                _ATTEMPT_BY_ID,
                {
                    "row_id": attempt_id,
                    "pdf_attachment_id": uploads.pdf_id,
                    "attachment_ids_json": uploads.as_json(),
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
    ) -> None:
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

    def mark_failed(self, invoice_id: int, attempt_id: int, code: str, label: str) -> None:
        """`deposit_failed` with Chorus Pro's (or the Factur-X builder's) code and label."""
        with Session(self.engine) as session:
            invoice = session.get(Invoice, invoice_id)
            assert invoice is not None
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
                kind="deposit_refused",
                event_key=f"{invoice.supplier_siret}:{invoice.invoice_number}:{attempt_id}",
                invoice=invoice,
                subject=subject,
                body=body,
                entrepreneur=entrepreneur,
                accounting_email=self.accounting_email,
            )
            session.commit()

    def release(
        self, invoice_id: int, attempt_id: int, error: ChorusProError, *, sent: bool
    ) -> None:
        """Back to `ready` when nothing can have reached Chorus; else stay `submitting`."""
        with self.engine.connect() as conn:
            self._finish_attempt(
                conn,
                attempt_id,
                AttemptOutcome.AMBIGUOUS if sent else AttemptOutcome.FAILED,
                error=error,
            )
            if not sent:
                conn.execute(
                    _INVOICE_BY_ID,
                    {
                        "row_id": invoice_id,
                        "state": InvoiceState.READY.value,
                        "updated_at": utcnow(),
                    },
                )
            conn.commit()

    def back_to_ready(self, invoice_id: int) -> None:
        """Not found on Chorus Pro: the open attempt failed and the invoice may be sent again."""
        attempt_id = self.open_attempt(invoice_id)
        with self.engine.connect() as conn:
            if attempt_id is not None:
                self._finish_attempt(conn, attempt_id, AttemptOutcome.FAILED)
            conn.execute(
                sa.update(_INVOICE)
                .where(
                    _INVOICE.c.id == invoice_id,
                    _INVOICE.c.state == InvoiceState.SUBMITTING.value,
                )
                .values(state=InvoiceState.READY.value, updated_at=utcnow())
            )
            conn.commit()

    @staticmethod
    def _finish_attempt(
        conn: Connection,
        attempt_id: int,
        outcome: AttemptOutcome,
        *,
        error: ChorusProError | None = None,
        chorus_id: int | None = None,
        columns: dict[str, Any] | None = None,
    ) -> None:
        conn.execute(
            _ATTEMPT_BY_ID,
            {
                "row_id": attempt_id,
                "outcome": outcome.value,
                "finished_at": utcnow(),
                "chorus_invoice_id": chorus_id,
                **_error_columns(error),
                **(columns or {}),
            },
        )
