"""initial warehouse

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import schemas.warehouse

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buyer_structure",
        sa.Column("siret", sa.String(length=14), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("id_structure_cpp", sa.BigInteger(), nullable=True),
        sa.Column("designation", sa.String(length=300), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("service_required", sa.Boolean(), nullable=False),
        sa.Column("engagement_required", sa.Boolean(), nullable=False),
        sa.Column("service_or_engagement", sa.Boolean(), nullable=False),
        sa.Column("payment_not_reported", sa.Boolean(), nullable=False),
        sa.Column("fetched_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("siret"),
    )
    op.create_table(
        "entrepreneur",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_siret", sa.String(length=14), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("updated_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supplier_siret", "code", name="uq_entrepreneur_code"),
    )
    op.create_table(
        "export_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("ingested_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("invoice_count", sa.Integer(), nullable=False),
        sa.Column("ready_count", sa.Integer(), nullable=False),
        sa.Column("invalid_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("export_file", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_export_file_content_hash"), ["content_hash"], unique=False
        )

    op.create_table(
        "pipeline_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(length=100), nullable=False),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("counts_json", sa.Text(), nullable=False),
        sa.Column("message", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pipeline_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipeline_run_flow"), ["flow"], unique=False)

    op.create_table(
        "sync_watermark",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "buyer_service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("buyer_siret", sa.String(length=14), nullable=False),
        sa.Column("id_service", sa.BigInteger(), nullable=True),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("engagement_required", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["buyer_siret"], ["buyer_structure.siret"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("buyer_siret", "code", name="uq_buyer_service_code"),
    )
    with op.batch_alter_table("buyer_service", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_buyer_service_buyer_siret"), ["buyer_siret"], unique=False
        )

    op.create_table(
        "invoice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_siret", sa.String(length=32), nullable=False),
        sa.Column("invoice_number", sa.String(length=64), nullable=False),
        sa.Column("invoice_type", sa.String(length=20), nullable=False),
        sa.Column("original_invoice_number", sa.String(length=64), nullable=True),
        sa.Column("invoice_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("entrepreneur_code", sa.String(length=100), nullable=True),
        sa.Column("buyer_siret", sa.String(length=32), nullable=True),
        sa.Column("buyer_name", sa.String(length=200), nullable=True),
        sa.Column("buyer_service_code", sa.String(length=100), nullable=True),
        sa.Column("engagement_number", sa.String(length=50), nullable=True),
        sa.Column("market_number", sa.String(length=50), nullable=True),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("payment_mode", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=True),
        sa.Column("amount_ht_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_vat_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_ttc_cents", sa.BigInteger(), nullable=False),
        sa.Column("pdf_path", sa.String(length=1000), nullable=True),
        sa.Column("attachments_json", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("export_file_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("chorus_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("deposit_date", sa.Date(), nullable=True),
        sa.Column("certificate_fingerprint", sa.String(length=200), nullable=True),
        sa.Column("deposit_error_code", sa.String(length=50), nullable=True),
        sa.Column("deposit_error_label", sa.String(length=2000), nullable=True),
        sa.Column("current_status", sa.String(length=60), nullable=True),
        sa.Column("current_status_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=True),
        sa.Column("current_status_comment", sa.String(length=2000), nullable=True),
        sa.Column("created_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('invalid', 'ready', 'submitting', 'deposited', 'deposit_failed', 'external')",
            name="ck_invoice_state",
        ),
        sa.ForeignKeyConstraint(
            ["export_file_id"],
            ["export_file.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supplier_siret", "invoice_number", name="uq_invoice_supplier_number"),
    )
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_buyer_siret"), ["buyer_siret"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_invoice_chorus_invoice_id"), ["chorus_invoice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_invoice_current_status"), ["current_status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_invoice_entrepreneur_code"), ["entrepreneur_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_invoice_state"), ["state"], unique=False)

    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("created_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent')", name="ck_alert_status"),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_status"), ["status"], unique=False)

    op.create_table(
        "deposit_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("started_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("pdf_attachment_id", sa.BigInteger(), nullable=True),
        sa.Column("attachment_ids_json", sa.Text(), nullable=False),
        sa.Column("error_code", sa.String(length=50), nullable=True),
        sa.Column("error_label", sa.String(length=2000), nullable=True),
        sa.Column("chorus_invoice_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('pending', 'deposited', 'found_existing', 'refused', 'ambiguous', 'failed')",
            name="ck_attempt_outcome",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deposit_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deposit_attempt_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "invoice_vat_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("base_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_cents", sa.BigInteger(), nullable=False),
        sa.Column("exemption_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_id", "rate_bp", name="uq_vat_line_rate"),
    )
    with op.batch_alter_table("invoice_vat_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_vat_line_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "status_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=60), nullable=False),
        sa.Column("status_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_id", "status", "status_at", name="uq_status_event"),
    )
    with op.batch_alter_table("status_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_event_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "validation_issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("export_file_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("column", sa.String(length=100), nullable=True),
        sa.Column("value", sa.String(length=500), nullable=True),
        sa.Column("message_fr", sa.String(length=2000), nullable=False),
        sa.Column("message_en", sa.String(length=2000), nullable=False),
        sa.Column("created_at", schemas.warehouse.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["export_file_id"],
            ["export_file.id"],
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("validation_issue", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_validation_issue_invoice_id"), ["invoice_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("validation_issue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_validation_issue_invoice_id"))

    op.drop_table("validation_issue")
    with op.batch_alter_table("status_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_event_invoice_id"))

    op.drop_table("status_event")
    with op.batch_alter_table("invoice_vat_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_vat_line_invoice_id"))

    op.drop_table("invoice_vat_line")
    with op.batch_alter_table("deposit_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deposit_attempt_invoice_id"))

    op.drop_table("deposit_attempt")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_status"))
        batch_op.drop_index(batch_op.f("ix_alert_invoice_id"))

    op.drop_table("alert")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_state"))
        batch_op.drop_index(batch_op.f("ix_invoice_entrepreneur_code"))
        batch_op.drop_index(batch_op.f("ix_invoice_current_status"))
        batch_op.drop_index(batch_op.f("ix_invoice_chorus_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_buyer_siret"))

    op.drop_table("invoice")
    with op.batch_alter_table("buyer_service", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buyer_service_buyer_siret"))

    op.drop_table("buyer_service")
    op.drop_table("sync_watermark")
    with op.batch_alter_table("pipeline_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipeline_run_flow"))

    op.drop_table("pipeline_run")
    with op.batch_alter_table("export_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_file_content_hash"))

    op.drop_table("export_file")
    op.drop_table("entrepreneur")
    op.drop_table("buyer_structure")
