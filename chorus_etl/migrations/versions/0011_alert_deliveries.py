"""which channels took an alert: a table, not text in last_error

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

An alert goes out on every configured channel; when one fails, the next run retries that one
only. Which channels already took it was written at the head of `alert.last_error` as
`[delivered: a,b]` and parsed back; it is now `alert_delivery` (alert, channel, when; unique on
both). Existing prefixes become rows and leave `last_error`.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

from schemas.warehouse import UTCDateTime, utcnow

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_PREFIX = re.compile(r"^\[delivered: ([^\]\s]*)\] ?")


def upgrade() -> None:
    op.create_table(
        "alert_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("delivered_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "channel", name="uq_alert_delivery"),
    )
    op.create_index("ix_alert_delivery_alert_id", "alert_delivery", ["alert_id"])
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, last_error FROM alert WHERE last_error LIKE '[delivered:%'")
    ).all()
    now = utcnow()
    table = sa.table(
        "alert_delivery",
        sa.column("alert_id", sa.Integer),
        sa.column("channel", sa.String),
        sa.column("delivered_at", UTCDateTime(timezone=True)),
    )
    for alert_id, last_error in rows:
        match = _PREFIX.match(last_error or "")
        if match is None:
            continue
        channels = sorted(set(filter(None, match.group(1).split(","))))
        if channels:
            bind.execute(
                sa.insert(table),
                [{"alert_id": alert_id, "channel": c, "delivered_at": now} for c in channels],
            )
        bind.execute(
            sa.text("UPDATE alert SET last_error = :rest WHERE id = :id"),
            {"rest": last_error[match.end() :] or None, "id": alert_id},
        )


def downgrade() -> None:
    op.drop_index("ix_alert_delivery_alert_id", table_name="alert_delivery")
    op.drop_table("alert_delivery")
