"""Stage validated invoices in the warehouse: an idempotent upsert keyed by supplier and number.

The content hash covers the row data and the bytes of the PDF and attachments, so re-reading an
unchanged export finds every invoice `unchanged` and writes nothing. A corrected re-export replaces an
invoice that is not yet on Chorus Pro; a changed invoice already deposited is refused, because a
deposited invoice can only be cancelled by a credit note.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from schemas.issues import Reason
from schemas.warehouse import (
    Entrepreneur,
    ExportFile,
    Invoice,
    InvoiceState,
    InvoiceVatLine,
    ValidationIssue,
    utcnow,
)
from tasks.validate import EntrepreneurEntry, InvoiceDraft

#: States whose invoice a new export may still replace.
REPLACEABLE = frozenset({InvoiceState.INVALID, InvoiceState.READY, InvoiceState.DEPOSIT_FAILED})

Key = tuple[str, str]


class StageResult(StrEnum):
    INSERTED = "inserted"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    WAITING = "waiting"


@dataclass
class StageOutcome:
    supplier_siret: str
    invoice_number: str
    result: StageResult
    state: str | None
    reasons: list[Reason] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "supplier_siret": self.supplier_siret,
            "invoice_number": self.invoice_number,
            "result": self.result.value,
            "state": self.state,
            "reasons": [r.as_dict() for r in self.reasons],
        }


def file_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def fingerprint(draft: InvoiceDraft, export_dir: Path) -> str:
    """What makes two exports of one invoice the same: its data and its files' bytes."""
    files = [draft.get("pdf_file") or "", *draft.attachments]
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            {
                "header": {k: str(v) for k, v in sorted(draft.header.items())},
                "vat": [
                    [v.rate_bp, v.base_cents, v.vat_cents, v.exemption_reason]
                    for v in sorted(draft.vat_lines, key=lambda line: line.rate_bp)
                ],
                "files": [[name, _safe_file_hash(export_dir, name)] for name in files],
            },
            sort_keys=True,
        ).encode()
    )
    return digest.hexdigest()


def _safe_file_hash(export_dir: Path, relative: str) -> str:
    if not relative:
        return ""
    candidate = (export_dir / relative).resolve()
    root = export_dir.resolve()
    if not candidate.is_relative_to(root):
        return "outside"
    return file_sha256(candidate) if candidate.is_file() else "missing"


def existing_fingerprints(engine: Engine, keys: Iterable[Key]) -> dict[Key, tuple[str, str | None]]:
    """(state, content hash) of the invoices already in the warehouse, by key."""
    wanted = set(keys)
    found: dict[Key, tuple[str, str | None]] = {}
    by_supplier: dict[str, list[str]] = {}
    for supplier, number in wanted:
        by_supplier.setdefault(supplier, []).append(number)
    with Session(engine) as session:
        for supplier, numbers in by_supplier.items():
            for start in range(0, len(numbers), 500):
                chunk = numbers[start : start + 500]
                rows = session.exec(
                    select(Invoice.invoice_number, Invoice.state, Invoice.content_hash).where(
                        Invoice.supplier_siret == supplier,
                        col(Invoice.invoice_number).in_(chunk),
                    )
                ).all()
                for number, state, content_hash in rows:
                    found[(supplier, number)] = (state, content_hash)
    return found


def _fit(model: type[SQLModel], values: dict[str, object]) -> dict[str, object]:
    """Invalid rows can carry anything: cut strings to their column's length rather than fail."""
    table = model.__table__  # type: ignore[attr-defined]
    fitted: dict[str, object] = {}
    for name, value in values.items():
        column = table.columns.get(name)
        length = getattr(getattr(column, "type", None), "length", None)
        if isinstance(value, str) and length and len(value) > length:
            value = value[: length - 1] + "…"
        fitted[name] = value
    return fitted


def _invoice_values(
    draft: InvoiceDraft, content_hash: str, export_file_id: int
) -> dict[str, object]:
    def as_date(name: str) -> date | None:
        value = draft.header.get(name)
        return value if isinstance(value, date) else None

    return _fit(
        Invoice,
        {
            "supplier_siret": draft.supplier_siret,
            "invoice_number": draft.invoice_number,
            "invoice_type": draft.get("invoice_type") or "FACTURE",
            "original_invoice_number": draft.get("original_invoice_number"),
            "invoice_date": as_date("invoice_date"),
            "due_date": as_date("due_date"),
            "entrepreneur_code": draft.get("entrepreneur_code"),
            "buyer_siret": draft.get("buyer_siret"),
            "buyer_name": draft.get("buyer_name"),
            "buyer_service_code": draft.get("buyer_service_code"),
            "engagement_number": draft.get("engagement_number"),
            "market_number": draft.get("market_number"),
            "currency": draft.get("currency") or "EUR",
            "payment_mode": draft.get("payment_mode") or "VIREMENT",
            "comment": draft.get("comment"),
            "amount_ht_cents": draft.amount_ht_cents,
            "amount_vat_cents": draft.amount_vat_cents,
            "total_ttc_cents": draft.total_ttc_cents,
            "pdf_path": draft.get("pdf_file"),
            "attachments_json": json.dumps(draft.attachments, ensure_ascii=False),
            "content_hash": content_hash,
            "export_file_id": export_file_id,
            "state": (InvoiceState.READY if draft.valid else InvoiceState.INVALID).value,
            "deposit_error_code": None,
            "deposit_error_label": None,
        },
    )


def _children(session: Session, invoice_id: int, draft: InvoiceDraft, export_file_id: int) -> None:
    merged: dict[int, InvoiceVatLine] = {}
    for line in draft.vat_lines:
        row = merged.get(line.rate_bp)
        if row is None:
            merged[line.rate_bp] = InvoiceVatLine(
                invoice_id=invoice_id,
                rate_bp=line.rate_bp,
                base_cents=line.base_cents,
                vat_cents=line.vat_cents,
                exemption_reason=line.exemption_reason[:500] if line.exemption_reason else None,
            )
        else:
            # Two lines at one rate only happen on an invalid invoice; keep the sums, not a crash.
            row.base_cents += line.base_cents
            row.vat_cents += line.vat_cents
    session.add_all(merged.values())
    for reason in draft.reasons:
        session.add(
            ValidationIssue(
                **_fit(
                    ValidationIssue,
                    {
                        **reason.as_dict(),
                        "invoice_id": invoice_id,
                        "export_file_id": export_file_id,
                    },
                )  # type: ignore[arg-type]
            )
        )


def record_export(engine: Engine, path: Path, content_hash: str, error: str | None = None) -> int:
    """The export-file row; reading the same export again reuses it."""
    with Session(engine) as session:
        existing = session.exec(
            select(ExportFile).where(
                ExportFile.path == str(path), ExportFile.content_hash == content_hash
            )
        ).first()
        if existing is not None and existing.id is not None:
            if existing.error != error:
                existing.error = error
                session.add(existing)
                session.commit()
            return existing.id
        row = ExportFile(path=str(path), content_hash=content_hash, error=error)
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


def stage_invoices(
    engine: Engine,
    export_file_id: int,
    drafts: Sequence[InvoiceDraft],
    hashes: dict[Key, str],
    waiting: dict[Key, list[Reason]],
) -> list[StageOutcome]:
    """Writes the changed invoices in one transaction and says what happened to each."""
    outcomes: list[StageOutcome] = []
    existing = existing_fingerprints(engine, hashes)
    with Session(engine, expire_on_commit=False) as session:
        changed: list[tuple[InvoiceDraft, str]] = []
        for draft in drafts:
            key = (draft.supplier_siret, draft.invoice_number)
            if key in waiting:
                outcomes.append(
                    StageOutcome(
                        *key, StageResult.WAITING, existing.get(key, (None,))[0], waiting[key]
                    )
                )
                continue
            before = existing.get(key)
            state = (InvoiceState.READY if draft.valid else InvoiceState.INVALID).value
            if before is not None and before[1] == hashes[key]:
                outcomes.append(StageOutcome(*key, StageResult.UNCHANGED, before[0], draft.reasons))
                continue
            if before is not None and before[0] not in REPLACEABLE:
                refusal = Reason(
                    rule="invoice.deposited_changed",
                    column="invoice_number",
                    value=draft.invoice_number,
                    message_fr=(
                        "Cette facture est déjà déposée sur Chorus Pro et ne peut plus changer : "
                        "émettez un avoir puis une nouvelle facture sous un autre numéro."
                    ),
                    message_en="a deposited invoice cannot change: issue a credit note",
                )
                session.add(
                    ValidationIssue(
                        **_fit(
                            ValidationIssue,
                            {**refusal.as_dict(), "export_file_id": export_file_id},
                        )  # type: ignore[arg-type]
                    )
                )
                outcomes.append(StageOutcome(*key, StageResult.REFUSED, before[0], [refusal]))
                continue
            changed.append((draft, hashes[key]))
            result = StageResult.INSERTED if before is None else StageResult.REPLACED
            outcomes.append(StageOutcome(*key, result, state, draft.reasons))

        replaced_keys = [
            (d.supplier_siret, d.invoice_number)
            for d, _ in changed
            if (d.supplier_siret, d.invoice_number) in existing
        ]
        current: dict[Key, Invoice] = {}
        for supplier, number in replaced_keys:
            invoice = session.exec(
                select(Invoice).where(
                    Invoice.supplier_siret == supplier, Invoice.invoice_number == number
                )
            ).one()
            current[(supplier, number)] = invoice
        if current:
            ids = [i.id for i in current.values()]
            session.execute(
                sa.delete(InvoiceVatLine).where(col(InvoiceVatLine.invoice_id).in_(ids))
            )
            session.execute(
                sa.delete(ValidationIssue).where(col(ValidationIssue.invoice_id).in_(ids))
            )
        now = utcnow()
        fresh: list[tuple[Invoice, InvoiceDraft]] = []
        for draft, content_hash in changed:
            values = _invoice_values(draft, content_hash, export_file_id)
            previous = current.get((draft.supplier_siret, draft.invoice_number))
            if previous is None:
                invoice = Invoice.model_validate(values)
            else:
                invoice = previous
                for name, value in values.items():
                    setattr(invoice, name, value)
                invoice.updated_at = now
            session.add(invoice)
            fresh.append((invoice, draft))
        session.flush()
        for invoice, draft in fresh:
            assert invoice.id is not None
            _children(session, invoice.id, draft, export_file_id)
        session.commit()
    return outcomes


def sync_entrepreneurs(engine: Engine, entries: Iterable[EntrepreneurEntry]) -> int:
    """Keeps the warehouse copy of the directory current (alerts and dashboards read it)."""
    changed = 0
    with Session(engine) as session:
        known = {(e.supplier_siret, e.code): e for e in session.exec(select(Entrepreneur)).all()}
        for entry in entries:
            row = known.get((entry.supplier_siret, entry.code))
            if row is None:
                session.add(
                    Entrepreneur(
                        supplier_siret=entry.supplier_siret,
                        code=entry.code,
                        name=entry.name,
                        email=entry.email,
                    )
                )
                changed += 1
            elif (row.name, row.email) != (entry.name, entry.email):
                row.name, row.email, row.updated_at = entry.name, entry.email, utcnow()
                session.add(row)
                changed += 1
        session.commit()
    return changed
