"""factur-x deposits

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Factur-X deposits go through `deposer/flux`, whose answer is a flux number and whose outcome comes
later in the flux report: `deposit_attempt.flux_number` keeps that number from the moment Chorus
gives it (the exactly-once protocol looks the flux up before anything is sent again), and
`deposit_attempt.mode` says which way an attempt went. In Factur-X mode the guide's OCR rules
only warn: `validation_issue.severity` tells those warnings from the errors that make an invoice
invalid. Plain ADD COLUMNs with server defaults on both engines (no table copy, views stay).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "deposit_attempt",
        sa.Column("mode", sa.String(length=10), nullable=False, server_default="pdf"),
    )
    op.add_column("deposit_attempt", sa.Column("flux_number", sa.String(length=40), nullable=True))
    op.create_index("ix_deposit_attempt_flux_number", "deposit_attempt", ["flux_number"])
    op.add_column(
        "validation_issue",
        sa.Column("severity", sa.String(length=10), nullable=False, server_default="error"),
    )


def downgrade() -> None:
    op.drop_column("validation_issue", "severity")
    op.drop_index("ix_deposit_attempt_flux_number", table_name="deposit_attempt")
    op.drop_column("deposit_attempt", "flux_number")
    op.drop_column("deposit_attempt", "mode")
