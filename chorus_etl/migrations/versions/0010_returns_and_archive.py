"""returned invoices answered (return_action), what Chorus Pro holds kept as proof (archive_file)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10

- `return_action`: one answer to an invoice the buyer sent back (`completer` for a SUSPENDUE
  invoice, `recycler` for an A_RECYCLER one), recorded before any call and held by the run
  working on it (owner and lease, as deposit attempts are); one per command, and one per export
  that asks it (`request_key`);
- `archive_file`: each file `telecharger/groupe` returned for a deposited invoice, where it is in
  the archive folder, its SHA-256 and size.

Two new tables on both engines; nothing else changes. (Another branch adds 0008: this revision
is renumbered when both are merged.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from schemas.warehouse import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "return_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=True),
        sa.Column("files_json", sa.Text(), nullable=False),
        sa.Column("upload_ids_json", sa.Text(), nullable=False),
        sa.Column("routing_json", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("results_seen", sa.Integer(), nullable=True),
        sa.Column("chorus_status", sa.String(length=60), nullable=True),
        sa.Column("error_code", sa.String(length=50), nullable=True),
        sa.Column("error_label", sa.String(length=2000), nullable=True),
        sa.Column("detail", sa.String(length=2000), nullable=True),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('complete', 'recycle')", name="ck_return_kind"),
        sa.CheckConstraint(
            "state IN ('requested', 'pending', 'ambiguous', 'done', 'refused')",
            name="ck_return_state",
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_id", "kind", "request_key", name="uq_return_request"),
    )
    op.create_index("ix_return_action_invoice_id", "return_action", ["invoice_id"])
    op.create_index("ix_return_action_state", "return_action", ["state"])
    op.create_table(
        "archive_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("fetched_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_id", "path", name="uq_archive_file_path"),
    )
    op.create_index("ix_archive_file_invoice_id", "archive_file", ["invoice_id"])


def downgrade() -> None:
    op.drop_index("ix_archive_file_invoice_id", table_name="archive_file")
    op.drop_table("archive_file")
    op.drop_index("ix_return_action_state", table_name="return_action")
    op.drop_index("ix_return_action_invoice_id", table_name="return_action")
    op.drop_table("return_action")
