"""The warehouse tables: what the pipeline remembers, and what dashboards read.

Amounts are integer cents, VAT rates integer hundredths of a percent (5.5 % = 550), times UTC. The
unique constraints carry the pipeline's idempotency: one invoice per supplier SIRET and number, one
status event per invoice, status and timestamp, one alert per dedupe key. Changing a table means a
new Alembic revision under `chorus_etl/migrations/versions/`.

One installation serves several cooperatives: every row that belongs to one (export, entrepreneur,
invoice, alert) carries its `cooperative`, the accounts' short id, so that each cooperative's
queries, views and dashboards can be kept to its own rows. The column has no default here: a row
written without its owner must fail, not land in somebody's dashboard. Rows under an invoice
(VAT lines, reasons, attempts, statuses) are the invoice's cooperative's through `invoice_id`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC on both engines (SQLite forgets the offset, PostgreSQL keeps it)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the warehouse; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = False, **kw: Any) -> Any:
    if nullable and "default" not in kw and "default_factory" not in kw:
        kw["default"] = None
    return Field(sa_type=UTCDateTime, nullable=nullable, **kw)


class InvoiceState(StrEnum):
    INVALID = "invalid"
    READY = "ready"
    SUBMITTING = "submitting"
    DEPOSITED = "deposited"
    DEPOSIT_FAILED = "deposit_failed"
    EXTERNAL = "external"
    #: Chorus Pro holds another invoice under this number: accounting decides, nothing is resent.
    CONFLICT = "conflict"


class DepositOrigin(StrEnum):
    """Who put a `deposited` invoice on Chorus Pro."""

    #: This pipeline's own deposit (its answer, or a lookup after an answer was lost).
    PIPELINE = "pipeline"
    #: Found there, identical, with no deposit of ours that could have reached Chorus Pro.
    PORTAL = "portal"


class AttemptOutcome(StrEnum):
    PENDING = "pending"
    DEPOSITED = "deposited"
    FOUND_EXISTING = "found_existing"
    REFUSED = "refused"
    AMBIGUOUS = "ambiguous"
    FAILED = "failed"
    #: Chorus Pro holds another invoice under the number: the invoice went to `conflict`.
    CONFLICT = "conflict"


class AlertStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"


#: Cooperative ids are the accounts file's slugs (at most 40 characters).
COOPERATIVE_LENGTH = 40


def _cooperative(description: str) -> Any:
    return Field(max_length=COOPERATIVE_LENGTH, index=True, description=description)


def _check_in(column: str, enum: type[StrEnum], name: str) -> sa.CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return sa.CheckConstraint(f"{column} IN ({values})", name=name)


class ExportFile(SQLModel, table=True):
    """One export folder read by the ingest flow."""

    __tablename__ = "export_file"

    id: int | None = Field(default=None, primary_key=True)
    cooperative: str = _cooperative(
        "The one cooperative its invoices' structures belong to; the installation's own when "
        "they span several or none."
    )
    path: str = Field(max_length=1000)
    content_hash: str = Field(max_length=64, index=True)
    ingested_at: datetime = _ts(default_factory=utcnow)
    row_count: int = 0
    invoice_count: int = 0
    ready_count: int = 0
    invalid_count: int = 0
    error: str | None = Field(default=None, max_length=2000)


class Entrepreneur(SQLModel, table=True):
    """The directory: who an invoice's supplier service belongs to, and where their alerts go."""

    __tablename__ = "entrepreneur"
    __table_args__ = (sa.UniqueConstraint("supplier_siret", "code", name="uq_entrepreneur_code"),)

    id: int | None = Field(default=None, primary_key=True)
    cooperative: str = _cooperative("The cooperative of its structure.")
    supplier_siret: str = Field(max_length=14)
    code: str = Field(max_length=100)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    updated_at: datetime = _ts(default_factory=utcnow)


class Invoice(SQLModel, table=True):
    """One invoice (all its VAT lines), from ingestion to payment."""

    __tablename__ = "invoice"
    __table_args__ = (
        sa.UniqueConstraint("supplier_siret", "invoice_number", name="uq_invoice_supplier_number"),
        _check_in("state", InvoiceState, "ck_invoice_state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cooperative: str = _cooperative("The cooperative of its supplier structure.")
    supplier_siret: str = Field(max_length=32)
    invoice_number: str = Field(
        max_length=64, description="Chorus allows 20; invalid rows may not."
    )
    invoice_type: str = Field(default="FACTURE", max_length=20)
    original_invoice_number: str | None = Field(default=None, max_length=64)
    invoice_date: date | None = None
    due_date: date | None = None
    entrepreneur_code: str | None = Field(default=None, max_length=100, index=True)
    buyer_siret: str | None = Field(default=None, max_length=32, index=True)
    buyer_name: str | None = Field(default=None, max_length=200)
    buyer_service_code: str | None = Field(default=None, max_length=100)
    engagement_number: str | None = Field(default=None, max_length=50)
    market_number: str | None = Field(default=None, max_length=50)
    currency: str = Field(default="EUR", max_length=10)
    payment_mode: str = Field(default="VIREMENT", max_length=20)
    comment: str | None = Field(default=None, max_length=2000)
    amount_ht_cents: int = Field(default=0, sa_type=sa.BigInteger)
    amount_vat_cents: int = Field(default=0, sa_type=sa.BigInteger)
    total_ttc_cents: int = Field(default=0, sa_type=sa.BigInteger)
    pdf_path: str | None = Field(default=None, max_length=1000)
    attachments_json: str = Field(default="[]", sa_type=sa.Text)
    content_hash: str | None = Field(default=None, max_length=64)
    source_hash: str | None = Field(
        default=None,
        max_length=64,
        description="The export's rows and file stamps as last ingested; null before 0003.",
    )
    export_file_id: int | None = Field(default=None, foreign_key="export_file.id")

    state: str = Field(default=InvoiceState.READY.value, max_length=20, index=True)
    chorus_invoice_id: int | None = Field(default=None, sa_type=sa.BigInteger, index=True)
    deposit_date: date | None = None
    certificate_fingerprint: str | None = Field(default=None, max_length=200)
    deposit_origin: str | None = Field(
        default=None,
        max_length=20,
        description="pipeline or portal (found on Chorus Pro, deposited by hand); null before 0006.",
    )
    deposit_error_code: str | None = Field(default=None, max_length=50)
    deposit_error_label: str | None = Field(default=None, max_length=2000)
    current_status: str | None = Field(default=None, max_length=60, index=True)
    current_status_at: datetime | None = _ts(nullable=True)
    current_status_comment: str | None = Field(default=None, max_length=2000)

    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class InvoiceVatLine(SQLModel, table=True):
    """One VAT rate of an invoice (one row of the export)."""

    __tablename__ = "invoice_vat_line"
    __table_args__ = (sa.UniqueConstraint("invoice_id", "rate_bp", name="uq_vat_line_rate"),)

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True, ondelete="CASCADE")
    rate_bp: int = Field(description="Rate in hundredths of a percent: 20 % = 2000.")
    base_cents: int = Field(sa_type=sa.BigInteger)
    vat_cents: int = Field(sa_type=sa.BigInteger)
    exemption_reason: str | None = Field(default=None, max_length=500)


class ValidationIssue(SQLModel, table=True):
    """Why an invoice (or a whole file, when invoice_id is null) was refused."""

    __tablename__ = "validation_issue"

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int | None = Field(
        default=None, foreign_key="invoice.id", index=True, ondelete="CASCADE"
    )
    export_file_id: int | None = Field(default=None, foreign_key="export_file.id")
    rule: str = Field(max_length=100)
    column: str | None = Field(default=None, max_length=100)
    value: str | None = Field(default=None, max_length=500)
    message_fr: str = Field(max_length=2000)
    message_en: str = Field(max_length=2000)
    severity: str = Field(
        default="error",
        max_length=10,
        sa_column_kwargs={"server_default": "error"},
        description="error (the invoice is invalid) or warning (shown, not blocking).",
    )
    created_at: datetime = _ts(default_factory=utcnow)


class DepositAttempt(SQLModel, table=True):
    """One try at depositing an invoice, committed before Chorus Pro is called."""

    __tablename__ = "deposit_attempt"
    __table_args__ = (_check_in("outcome", AttemptOutcome, "ck_attempt_outcome"),)

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    started_at: datetime = _ts(default_factory=utcnow)
    finished_at: datetime | None = _ts(nullable=True)
    outcome: str = Field(default=AttemptOutcome.PENDING.value, max_length=20)
    pdf_attachment_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    attachment_ids_json: str = Field(default="[]", sa_type=sa.Text)
    error_code: str | None = Field(default=None, max_length=50)
    error_label: str | None = Field(default=None, max_length=2000)
    chorus_invoice_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    mode: str = Field(
        default="pdf",
        max_length=10,
        sa_column_kwargs={"server_default": "pdf"},
        description="pdf (upload + soumettre DEPOT_PDF_API) or facturx (deposer/flux).",
    )
    flux_number: str | None = Field(
        default=None,
        max_length=40,
        index=True,
        description="numeroFluxDepot of a Factur-X deposit, saved as soon as Chorus answers.",
    )
    owner: str | None = Field(
        default=None,
        max_length=200,
        description="The run working on it (host, process, run token); null once nobody is.",
    )
    lease_until: datetime | None = _ts(
        nullable=True, description="After this, a silent owner counts as gone (a crash)."
    )
    embedded_xml_removed: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": sa.false()},
        description="The PDF embedded an XML (a Factur-X of its own): a copy without it was sent.",
    )


class ReturnKind(StrEnum):
    """What the supplier does about an invoice the buyer sent back."""

    #: `completer`: a SUSPENDUE invoice gets the documents or comment the buyer asked for.
    COMPLETE = "complete"
    #: `recycler`: an A_RECYCLER invoice gets a new recipient, service or engagement.
    RECYCLE = "recycle"


class ReturnState(StrEnum):
    #: Recorded (from a command or an export), not tried yet, or to be tried again.
    REQUESTED = "requested"
    #: Held by a run that may be calling Chorus Pro right now.
    PENDING = "pending"
    #: The call may have reached Chorus Pro: the invoice's status history tells.
    AMBIGUOUS = "ambiguous"
    DONE = "done"
    #: Refused by Chorus Pro (its code and label), or before any call (the status is not the
    #: one the action answers, the invoice is not deposited, a file is missing).
    REFUSED = "refused"


class ReturnAction(SQLModel, table=True):
    """One answer to a returned invoice (`completer` or `recycler`), committed before any call.

    Held by the run working on it (`owner`, `lease_until`, as deposit attempts are), and settled
    after a crash or a lost answer by reading the invoice's status history on Chorus Pro: the
    action landed if the history shows its result more often than `results_seen`.
    """

    __tablename__ = "return_action"
    __table_args__ = (
        sa.UniqueConstraint("invoice_id", "kind", "request_key", name="uq_return_request"),
        _check_in("kind", ReturnKind, "ck_return_kind"),
        _check_in("state", ReturnState, "ck_return_state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    kind: str = Field(max_length=20)
    origin: str = Field(max_length=20, description="command, or export (a folder's request).")
    request_key: str = Field(
        max_length=64, description="What was asked, hashed: one request per export's ask."
    )
    state: str = Field(default=ReturnState.REQUESTED.value, max_length=20, index=True)
    comment: str | None = Field(default=None, max_length=2000)
    files_json: str = Field(
        default="[]", sa_type=sa.Text, description="complete: the files to attach (paths)."
    )
    upload_ids_json: str = Field(
        default="{}", sa_type=sa.Text, description="Their pieceJointeId, saved after each upload."
    )
    routing_json: str = Field(
        default="{}",
        sa_type=sa.Text,
        description="recycle: the routing before and after (buyer SIRET, service, engagement).",
    )
    content_hash: str | None = Field(
        default=None, max_length=64, description="An export's invoice hashes, kept once recycled."
    )
    source_hash: str | None = Field(default=None, max_length=64)
    attempts: int = 0
    results_seen: int | None = Field(
        default=None,
        description="How often the invoice's status history showed the action's result "
        "(COMPLETEE; DEPOSEE or EN_COURS_ACHEMINEMENT) when the call was about to go.",
    )
    chorus_status: str | None = Field(default=None, max_length=60)
    error_code: str | None = Field(default=None, max_length=50)
    error_label: str | None = Field(default=None, max_length=2000)
    detail: str | None = Field(default=None, max_length=2000)
    requested_at: datetime = _ts(default_factory=utcnow)
    started_at: datetime | None = _ts(nullable=True)
    finished_at: datetime | None = _ts(nullable=True)
    owner: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = _ts(nullable=True)


class ArchiveFile(SQLModel, table=True):
    """One file of an invoice as Chorus Pro holds it (`telecharger/groupe`), kept as proof."""

    __tablename__ = "archive_file"
    __table_args__ = (sa.UniqueConstraint("invoice_id", "path", name="uq_archive_file_path"),)

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    path: str = Field(max_length=1000, description="Relative to the archive folder.")
    sha256: str = Field(max_length=64)
    size_bytes: int = Field(sa_type=sa.BigInteger)
    fetched_at: datetime = _ts(default_factory=utcnow)
    note: str | None = Field(
        default=None, max_length=500, description="What the download left out, and why."
    )


class StatusEvent(SQLModel, table=True):
    """Append-only log of the Chorus Pro statuses seen for an invoice."""

    __tablename__ = "status_event"
    __table_args__ = (
        sa.UniqueConstraint("invoice_id", "status", "status_at", name="uq_status_event"),
    )

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    status: str = Field(max_length=60)
    status_at: datetime = _ts()
    comment: str | None = Field(default=None, max_length=2000)
    source: str = Field(default="search", max_length=20)
    recorded_at: datetime = _ts(default_factory=utcnow)


class Alert(SQLModel, table=True):
    """The outbox: written with the change that causes it, delivered later by the sender."""

    __tablename__ = "alert"
    __table_args__ = (_check_in("status", AlertStatus, "ck_alert_status"),)

    id: int | None = Field(default=None, primary_key=True)
    cooperative: str = _cooperative("Its invoice's cooperative, or the structure's for others.")
    dedupe_key: str = Field(max_length=300, unique=True)
    kind: str = Field(max_length=40)
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id", index=True)
    audience: str = Field(max_length=20, description="entrepreneur or accounting")
    recipient: str = Field(max_length=320)
    subject: str = Field(max_length=500)
    body: str = Field(sa_type=sa.Text)
    status: str = Field(default=AlertStatus.PENDING.value, max_length=20, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _ts(default_factory=utcnow)
    sent_at: datetime | None = _ts(nullable=True)
    claimed_by: str | None = Field(
        default=None, max_length=200, description="The sender delivering it right now."
    )
    claimed_until: datetime | None = _ts(nullable=True)


class AlertDelivery(SQLModel, table=True):
    """One channel that accepted an alert: a later run retries the others only."""

    __tablename__ = "alert_delivery"
    __table_args__ = (sa.UniqueConstraint("alert_id", "channel", name="uq_alert_delivery"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=100, description="The channel's key (its public label's).")
    delivered_at: datetime = _ts(default_factory=utcnow)


class BuyerStructure(SQLModel, table=True):
    """Directory cache: what Chorus Pro says of a buyer SIRET, until `expires_at`."""

    __tablename__ = "buyer_structure"

    siret: str = Field(primary_key=True, max_length=14)
    found: bool = True
    id_structure_cpp: int | None = Field(default=None, sa_type=sa.BigInteger)
    designation: str | None = Field(default=None, max_length=300)
    active: bool = True
    service_required: bool = False
    engagement_required: bool = False
    service_or_engagement: bool = False
    payment_not_reported: bool = False
    chorus_code: str | None = Field(
        default=None,
        max_length=50,
        description="The codeRetour of Chorus Pro's refusal when it does not know the buyer.",
    )
    chorus_label: str | None = Field(
        default=None, max_length=500, description="That refusal's libelle, verbatim."
    )
    fetched_at: datetime = _ts(default_factory=utcnow)
    expires_at: datetime = _ts()


class BuyerService(SQLModel, table=True):
    """Directory cache: one service of a buyer structure."""

    __tablename__ = "buyer_service"
    __table_args__ = (sa.UniqueConstraint("buyer_siret", "code", name="uq_buyer_service_code"),)

    id: int | None = Field(default=None, primary_key=True)
    buyer_siret: str = Field(
        foreign_key="buyer_structure.siret", max_length=14, index=True, ondelete="CASCADE"
    )
    id_service: int | None = Field(default=None, sa_type=sa.BigInteger)
    code: str = Field(max_length=100)
    label: str | None = Field(default=None, max_length=300)
    active: bool = True
    engagement_required: bool | None = Field(
        default=None, description="From the service's own parameters; null until first needed."
    )


class SyncWatermark(SQLModel, table=True):
    """How far a sync (e.g. `reconcile:<siret>`) has safely got; moved only after a commit."""

    __tablename__ = "sync_watermark"

    key: str = Field(primary_key=True, max_length=100)
    value: datetime = _ts()
    updated_at: datetime = _ts(default_factory=utcnow)


class StalledWait(SQLModel, table=True):
    """Something retried at every run that has not settled yet (`tasks/alerts/stalls.py`).

    One row per wait while it lasts (an invoice waiting for the directory, a deposit left
    `submitting`, a flux report, an alert not delivered), deleted when it ends, so that a wait
    that starts again is a new one. Past the bound, accounting is told once (`alerted_at`).
    """

    __tablename__ = "stalled_wait"

    key: str = Field(primary_key=True, max_length=300, description="<kind>:<subject>")
    kind: str = Field(max_length=40, index=True)
    subject: str = Field(max_length=250)
    cooperative: str = _cooperative("Who is told: the invoice's (or alert's) cooperative.")
    label: str = Field(max_length=500, description="What the alert calls it, in French.")
    first_seen_at: datetime = _ts(default_factory=utcnow)
    last_seen_at: datetime = _ts(default_factory=utcnow)
    runs: int = Field(default=1, description="Runs that found it still waiting.")
    last_run: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, max_length=2000)
    alerted_at: datetime | None = _ts(nullable=True)


class PipelineRun(SQLModel, table=True):
    """One run of a flow, with its counts, for the pipeline-runs dashboard."""

    __tablename__ = "pipeline_run"

    id: int | None = Field(default=None, primary_key=True)
    flow: str = Field(max_length=100, index=True)
    cooperative: str | None = Field(
        default=None,
        max_length=COOPERATIVE_LENGTH,
        index=True,
        description="The cooperative a run worked for; null for a run over the installation.",
    )
    flow_run_id: str | None = Field(default=None, max_length=64)
    started_at: datetime = _ts(default_factory=utcnow)
    finished_at: datetime | None = _ts(nullable=True)
    outcome: str = Field(default="running", max_length=20)
    counts_json: str = Field(default="{}", sa_type=sa.Text)
    message: str | None = Field(default=None, max_length=2000)


METADATA = SQLModel.metadata
