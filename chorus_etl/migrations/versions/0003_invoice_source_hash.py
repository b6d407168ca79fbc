"""invoice source hash

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

`invoice.source_hash`: a hash of the invoice's raw export rows and of its files' stamps (size,
times, inode), so that an ingest recognises an unchanged invoice before validating it or reading
its files. Null for invoices ingested before: their next ingest compares content as before and
fills it in. A plain ADD COLUMN on both engines (no table copy, the dashboard views stay).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoice", sa.Column("source_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("invoice", "source_hash")
