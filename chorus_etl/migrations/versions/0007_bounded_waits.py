"""bounded waits: the stalled_wait table, Chorus Pro's refusal kept in the directory cache

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09

- `stalled_wait`: every "retried next run" that has not settled yet (an invoice waiting for the
  directory, a deposit left `submitting` or `ready`, a flux report, an alert not delivered), with
  when it started, how many runs saw it, its last error and whether accounting was told;
- `buyer_structure.chorus_code` / `chorus_label`: what Chorus Pro answered when it does not know
  a buyer, so that an invoice judged from the cache gets the same reason as the first one.

A new table and plain ADD COLUMNs on both engines.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from schemas.warehouse import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("buyer_structure", sa.Column("chorus_code", sa.String(length=50)))
    op.add_column("buyer_structure", sa.Column("chorus_label", sa.String(length=500)))
    op.create_table(
        "stalled_wait",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=250), nullable=False),
        sa.Column("cooperative", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("last_run", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("alerted_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_stalled_wait_kind", "stalled_wait", ["kind"])
    op.create_index("ix_stalled_wait_cooperative", "stalled_wait", ["cooperative"])


def downgrade() -> None:
    op.drop_index("ix_stalled_wait_cooperative", table_name="stalled_wait")
    op.drop_index("ix_stalled_wait_kind", table_name="stalled_wait")
    op.drop_table("stalled_wait")
    # Not a batch copy: views read buyer_structure, and SQLite drops a column in place.
    op.drop_column("buyer_structure", "chorus_label")
    op.drop_column("buyer_structure", "chorus_code")
