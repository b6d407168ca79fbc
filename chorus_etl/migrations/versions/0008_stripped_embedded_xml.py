"""a PDF deposit records that it sent the PDF without its embedded XML

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

A PDF from an invoicing tool (CAERP's validated invoices) may embed a Factur-X XML that is wrong
for Chorus Pro, which could read it instead of the PDF. A PDF deposit sends a copy without it;
`deposit_attempt.embedded_xml_removed` says so, for the record. Plain ADD COLUMN.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "deposit_attempt",
        sa.Column("embedded_xml_removed", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("deposit_attempt", "embedded_xml_removed")
