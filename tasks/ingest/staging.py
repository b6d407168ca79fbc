"""Stage validated invoices in the warehouse: an idempotent upsert keyed by supplier and number.

The content hash covers the row data and the bytes of the PDF and attachments, so re-reading an
unchanged export finds every invoice `unchanged` and writes nothing. A corrected re-export replaces an
invoice that is not yet on Chorus Pro; a changed invoice already deposited is refused, because a
deposited invoice can only be cancelled by a credit note.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

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
from tasks.ingest.validate import EntrepreneurEntry, InvoiceDraft

#: States whose invoice a new export may still replace.
REPLACEABLE = frozenset({InvoiceState.INVALID, InvoiceState.READY, InvoiceState.DEPOSIT_FAILED})

Key = tuple[str, str]
#: Sources of values read from the invoice's PDF (`tasks.ingest.complete`).
READ_FROM_PDF = frozenset({"pdf text", "embedded xml"})


class StageResult(StrEnum):
    INSERTED = "inserted"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    WAITING = "waiting"
    #: A deposited invoice whose only changes are routing fields: a recycling is asked.
    RECYCLE_REQUESTED = "recycle_requested"


@dataclass
class StageOutcome:
    supplier_siret: str
    invoice_number: str
    result: StageResult
    state: str | None
    reasons: list[Reason] = field(default_factory=list)
    warnings: list[Reason] = field(default_factory=list)
    #: Where values came from when not the export's own column (`InvoiceDraft.sources`).
    sources: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "supplier_siret": self.supplier_siret,
            "invoice_number": self.invoice_number,
            "result": self.result.value,
            "state": self.state,
            "reasons": [r.as_dict() for r in self.reasons],
            "warnings": [r.as_dict() for r in self.warnings],
            "sources": dict(self.sources),
        }


def file_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def fingerprint(draft: InvoiceDraft, export_dir: Path, pdf_sha256: str | None = None) -> str:
    """What makes two exports of one invoice the same: its data and its files' bytes.

    `pdf_sha256` is the digest of the invoice PDF when the preflight already read it, so that the
    file is not read and hashed a second time. The preflight finds the file as this hash does, but
    for backslashes (read as separators there, not here): then the PDF is hashed here as always.
    """
    pdf = draft.get("pdf_file") or ""
    files = [pdf, *draft.attachments]
    usable = pdf_sha256 is not None and "\\" not in pdf
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            {
                # A value read from the PDF follows from its bytes, hashed below.
                "header": {
                    k: str(v)
                    for k, v in sorted(draft.header.items())
                    if draft.sources.get(k) not in READ_FROM_PDF
                },
                "vat": [
                    [v.rate_bp, v.base_cents, v.vat_cents, v.exemption_reason]
                    for v in sorted(draft.vat_lines, key=lambda line: line.rate_bp)
                ],
                "files": [
                    [name, pdf_sha256 if usable and i == 0 else _safe_file_hash(export_dir, name)]
                    for i, name in enumerate(files)
                ],
            },
            sort_keys=True,
        ).encode()
    )
    return digest.hexdigest()


def _safe_file_hash(export_dir: Path, relative: str) -> str:
    if not relative:
        return ""
    try:
        candidate = (export_dir / relative).resolve()
    except (RuntimeError, ValueError):
        return "missing"  # a symbolic link loop or a NUL byte, as the preflight reports them
    root = export_dir.resolve()
    if not candidate.is_relative_to(root):
        return "outside"
    return file_sha256(candidate) if candidate.is_file() else "missing"


@dataclass(frozen=True)
class Owners:
    """Which cooperative each row of one export belongs to: its structure's, and for a structure
    in no cooperative (a mistyped SIRET, an invalid row) the export's own
    (`chorus_etl.cooperatives.export_cooperative`), so that the cooperative that can fix the
    row is the one that sees it."""

    by_siret: Mapping[str, str]
    export: str

    def of(self, siret: str) -> str:
        return self.by_siret.get(siret, self.export)


@dataclass(frozen=True, slots=True)
class Stored:
    """What the warehouse holds of an invoice, to tell whether an export changes it."""

    invoice_id: int
    state: str
    content_hash: str | None
    source_hash: str | None


def _rows_by_key(
    connection: sa.Connection, keys: Iterable[Key], *columns: sa.ColumnElement[object]
) -> Iterator[tuple[Key, Any]]:
    """`columns` of the invoices with these keys, asked per supplier, 500 numbers at a time."""
    table = Invoice.__table__  # type: ignore[attr-defined]
    by_supplier: dict[str, list[str]] = {}
    for supplier, number in set(keys):
        by_supplier.setdefault(supplier, []).append(number)
    for supplier, numbers in by_supplier.items():
        for start in range(0, len(numbers), 500):
            rows = connection.execute(
                sa.select(table.c.invoice_number, *columns).where(
                    table.c.supplier_siret == supplier,
                    table.c.invoice_number.in_(numbers[start : start + 500]),
                )
            )
            for row in rows:
                yield (supplier, row[0]), row


def existing_fingerprints(engine: Engine, keys: Iterable[Key]) -> dict[Key, Stored]:
    """State and hashes of the invoices already in the warehouse, by key."""
    table = Invoice.__table__  # type: ignore[attr-defined]
    columns = (table.c.id, table.c.state, table.c.content_hash, table.c.source_hash)
    with engine.connect() as connection:
        rows = _rows_by_key(connection, keys, *columns)
        return {key: Stored(row[1], row[2], row[3], row[4]) for key, row in rows}


@functools.cache
def _lengths(model: type[SQLModel]) -> dict[str, int]:
    """The length limit of each string column of the model's table."""
    table = model.__table__  # type: ignore[attr-defined]
    return {
        column.name: length
        for column in table.columns
        if (length := getattr(column.type, "length", None))
    }


def _fit(model: type[SQLModel], values: dict[str, object]) -> dict[str, object]:
    """Invalid rows can carry anything: cut strings to their column's length rather than fail."""
    lengths = _lengths(model)
    fitted: dict[str, object] = {}
    for name, value in values.items():
        length = lengths.get(name)
        if length and isinstance(value, str) and len(value) > length:
            value = value[: length - 1] + "…"
        fitted[name] = value
    return fitted


def _invoice_values(
    draft: InvoiceDraft,
    content_hash: str,
    source_hash: str | None,
    export_file_id: int,
    cooperative: str,
) -> dict[str, object]:
    def as_date(name: str) -> date | None:
        value = draft.header.get(name)
        return value if isinstance(value, date) else None

    return _fit(
        Invoice,
        {
            "cooperative": cooperative,
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
            "amount_ht_cents": (ht := draft.amount_ht_cents),
            "amount_vat_cents": (vat := draft.amount_vat_cents),
            "total_ttc_cents": ht + vat,
            "pdf_path": draft.get("pdf_file"),
            "attachments_json": json.dumps(draft.attachments, ensure_ascii=False),
            "content_hash": content_hash,
            "source_hash": source_hash,
            "export_file_id": export_file_id,
            "state": (InvoiceState.READY if draft.valid else InvoiceState.INVALID).value,
            "deposit_error_code": None,
            "deposit_error_label": None,
        },
    )


def as_rows(draft: InvoiceDraft, cooperative: str = "") -> tuple[Invoice, list[InvoiceVatLine]]:
    """The rows staging would write for a draft, unsaved: what the Factur-X check builds from, so
    that the XML checked at ingest is the one the deposit will send (which does not depend on
    the cooperative)."""
    invoice = Invoice.model_validate(_invoice_values(draft, "", None, 0, cooperative))
    return invoice, [InvoiceVatLine.model_validate(row) for row in _vat_rows(0, draft)]


def _vat_rows(invoice_id: int, draft: InvoiceDraft) -> list[dict[str, object]]:
    merged: dict[int, dict[str, object]] = {}
    for line in draft.vat_lines:
        row = merged.get(line.rate_bp)
        if row is None:
            merged[line.rate_bp] = {
                "invoice_id": invoice_id,
                "rate_bp": line.rate_bp,
                "base_cents": line.base_cents,
                "vat_cents": line.vat_cents,
                "exemption_reason": line.exemption_reason[:500] if line.exemption_reason else None,
            }
        else:
            # Two lines at one rate only happen on an invalid invoice; keep the sums, not a crash.
            row["base_cents"] = int(str(row["base_cents"])) + line.base_cents
            row["vat_cents"] = int(str(row["vat_cents"])) + line.vat_cents
    return list(merged.values())


def _issue_row(
    reason: Reason,
    invoice_id: int | None,
    export_file_id: int,
    now: datetime,
    severity: str = "error",
) -> dict[str, object]:
    return _fit(
        ValidationIssue,
        {
            **reason.as_dict(),
            "invoice_id": invoice_id,
            "export_file_id": export_file_id,
            "created_at": now,
            "severity": severity,
        },
    )


def record_export(
    engine: Engine, path: Path, content_hash: str, error: str | None = None, *, cooperative: str
) -> int:
    """The export-file row; reading the same export again reuses it."""
    with Session(engine) as session:
        existing = session.exec(
            select(ExportFile).where(
                ExportFile.path == str(path), ExportFile.content_hash == content_hash
            )
        ).first()
        if existing is not None and existing.id is not None:
            if (existing.error, existing.cooperative) != (error, cooperative):
                existing.error, existing.cooperative = error, cooperative
                session.add(existing)
                session.commit()
            return existing.id
        row = ExportFile(
            path=str(path), content_hash=content_hash, error=error, cooperative=cooperative
        )
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


def deposited_refusal(draft: InvoiceDraft) -> Reason:
    return Reason(
        rule="invoice.deposited_changed",
        column="invoice_number",
        value=draft.invoice_number,
        message_fr=(
            "Cette facture est déjà déposée sur Chorus Pro et ne peut plus changer : "
            "émettez un avoir puis une nouvelle facture sous un autre numéro."
        ),
        message_en="a deposited invoice cannot change: issue a credit note",
    )


@dataclass
class _Writes:
    """What one staging writes, gathered before the transaction."""

    inserts: list[tuple[InvoiceDraft, dict[str, object]]] = field(default_factory=list)
    updates: list[tuple[InvoiceDraft, dict[str, object]]] = field(default_factory=list)
    refusals: list[Reason] = field(default_factory=list)


def _ids(connection: sa.Connection, keys: Sequence[Key]) -> dict[Key, int]:
    table = Invoice.__table__  # type: ignore[attr-defined]
    return {key: row[1] for key, row in _rows_by_key(connection, keys, table.c.id)}


def _write(connection: sa.Connection, writes: _Writes, export_file_id: int) -> None:
    """Core statements in batches: the values are validated already, and building and flushing
    one ORM object per row cost more than the rest of the staging."""
    invoices = Invoice.__table__  # type: ignore[attr-defined]
    vat_lines = InvoiceVatLine.__table__  # type: ignore[attr-defined]
    issues = ValidationIssue.__table__  # type: ignore[attr-defined]
    now = utcnow()
    ids = _ids(connection, [(d.supplier_siret, d.invoice_number) for d, _ in writes.updates])
    replaced = list(ids.values())
    for start in range(0, len(replaced), 500):
        chunk = replaced[start : start + 500]
        connection.execute(sa.delete(vat_lines).where(vat_lines.c.invoice_id.in_(chunk)))
        connection.execute(sa.delete(issues).where(issues.c.invoice_id.in_(chunk)))
    if writes.updates:
        connection.execute(
            sa.update(invoices).where(invoices.c.id == sa.bindparam("invoice_id_")),
            [
                {
                    **values,
                    "updated_at": now,
                    "invoice_id_": ids[(d.supplier_siret, d.invoice_number)],
                }
                for d, values in writes.updates
            ],
        )
    fresh: list[tuple[InvoiceDraft, int]] = [
        (d, ids[(d.supplier_siret, d.invoice_number)]) for d, _ in writes.updates
    ]
    if writes.inserts:
        # A plain executemany, then the ids by key: RETURNING in parameter order makes SQLite
        # run one INSERT per row.
        connection.execute(
            sa.insert(invoices),
            [{**values, "created_at": now, "updated_at": now} for _, values in writes.inserts],
        )
        new_ids = _ids(
            connection, [(d.supplier_siret, d.invoice_number) for d, _ in writes.inserts]
        )
        fresh += [(d, new_ids[(d.supplier_siret, d.invoice_number)]) for d, _ in writes.inserts]
    vat_rows = [row for draft, invoice_id in fresh for row in _vat_rows(invoice_id, draft)]
    issue_rows = [
        _issue_row(reason, invoice_id, export_file_id, now)
        for draft, invoice_id in fresh
        for reason in draft.reasons
    ]
    issue_rows += [
        _issue_row(warning, invoice_id, export_file_id, now, "warning")
        for draft, invoice_id in fresh
        for warning in draft.warnings
    ]
    issue_rows += [_issue_row(r, None, export_file_id, now) for r in writes.refusals]
    if vat_rows:
        connection.execute(sa.insert(vat_lines), vat_rows)
    if issue_rows:
        connection.execute(sa.insert(issues), issue_rows)


class ReexportVerdict(Protocol):
    result: StageResult
    reasons: list[Reason]


class Reexports(Protocol):
    """What becomes of a deposited invoice exported again with changes: refused, or a request
    to recycle it (`tasks.returns.reexport`, which the flow hands in: the returns stage reads
    the rows this one writes, so this one does not import it)."""

    def judge(
        self,
        engine: Engine,
        returned: Sequence[tuple[InvoiceDraft, Stored]],
        hashes: dict[Key, str],
        sources: dict[Key, str],
    ) -> Mapping[Key, ReexportVerdict]: ...

    def record(self, engine: Engine, verdicts: Mapping[Key, Any]) -> None: ...


def stage_invoices(
    engine: Engine,
    export_file_id: int,
    drafts: Sequence[InvoiceDraft],
    hashes: dict[Key, str],
    waiting: dict[Key, list[Reason]],
    sources: dict[Key, str] | None = None,
    *,
    owners: Owners,
    reexport: Reexports,
) -> list[StageOutcome]:
    """Writes the changed invoices in one transaction and says what happened to each.

    `sources` are the invoices' source hashes (`tasks.ingest.changes`), stored with what is
    written; every invoice written gets its cooperative from `owners`.
    """
    outcomes: list[StageOutcome] = []
    existing = existing_fingerprints(engine, [(d.supplier_siret, d.invoice_number) for d in drafts])
    writes = _Writes()
    returned = reexport.judge(
        engine,
        [
            (d, before)
            for d in drafts
            if (key := (d.supplier_siret, d.invoice_number)) not in waiting
            and (before := existing.get(key)) is not None
            and before.content_hash != hashes[key]
            and before.state not in REPLACEABLE
        ],
        hashes,
        sources or {},
    )
    for draft in drafts:
        key = (draft.supplier_siret, draft.invoice_number)
        before = existing.get(key)
        if key in waiting:
            state = before.state if before is not None else None
            outcomes.append(StageOutcome(*key, StageResult.WAITING, state, waiting[key]))
            continue
        if before is not None and before.content_hash == hashes[key]:
            outcomes.append(StageOutcome(*key, StageResult.UNCHANGED, before.state, draft.reasons))
            continue
        if before is not None and before.state not in REPLACEABLE:
            verdict = returned[key]
            if verdict.result is StageResult.REFUSED:
                writes.refusals.extend(verdict.reasons)
            outcomes.append(StageOutcome(*key, verdict.result, before.state, verdict.reasons))
            continue
        values = _invoice_values(
            draft,
            hashes[key],
            (sources or {}).get(key),
            export_file_id,
            owners.of(draft.supplier_siret),
        )
        (writes.inserts if before is None else writes.updates).append((draft, values))
        result = StageResult.INSERTED if before is None else StageResult.REPLACED
        outcomes.append(
            StageOutcome(
                *key, result, str(values["state"]), draft.reasons, draft.warnings, draft.sources
            )
        )
    with engine.begin() as connection:
        _write(connection, writes, export_file_id)
    reexport.record(engine, returned)
    return outcomes


def record_sources(engine: Engine, sources: dict[Key, str]) -> None:
    """Stores the source hash of invoices found unchanged by content, so that the next ingest of
    the same files recognises them without reading them."""
    if not sources:
        return
    invoices = Invoice.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        ids = _ids(connection, list(sources))
        connection.execute(
            sa.update(invoices).where(invoices.c.id == sa.bindparam("invoice_id_")),
            [
                {"source_hash": sources[key], "invoice_id_": invoice_id}
                for key, invoice_id in ids.items()
            ],
        )


def sync_entrepreneurs(
    engine: Engine, entries: Iterable[EntrepreneurEntry], *, owners: Owners
) -> int:
    """Keeps the warehouse copy of the directory current (alerts and dashboards read it).

    An entrepreneur is a code within a structure: two cooperatives' "E001" are two rows, each
    with its structure's cooperative (moved along if the structure changed cooperative)."""
    changed = 0
    with Session(engine) as session:
        known = {(e.supplier_siret, e.code): e for e in session.exec(select(Entrepreneur)).all()}
        for entry in entries:
            row = known.get((entry.supplier_siret, entry.code))
            cooperative = owners.of(entry.supplier_siret)
            if row is None:
                session.add(
                    Entrepreneur(
                        cooperative=cooperative,
                        supplier_siret=entry.supplier_siret,
                        code=entry.code,
                        name=entry.name,
                        email=entry.email,
                    )
                )
                changed += 1
            elif (row.name, row.email, row.cooperative) != (entry.name, entry.email, cooperative):
                row.name, row.email, row.updated_at = entry.name, entry.email, utcnow()
                row.cooperative = cooperative
                session.add(row)
                changed += 1
        session.commit()
    return changed
