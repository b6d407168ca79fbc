"""claims with an owner, invoices in conflict, deposits' origin

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Runs may overlap (a deposit by hand beside the scheduled one, two workers, two hosts on one
PostgreSQL), so a claim says whose it is:

- `deposit_attempt.owner` / `lease_until`: the run working on an open attempt, and until when its
  silence still means "busy"; only an attempt whose owner is gone is a crash leftover;
- `alert.claimed_by` / `claimed_until`: the same for an alert being delivered;
- `invoice.deposit_origin`: `pipeline` or `portal` (found on Chorus Pro, identical, never sent by
  us);
- the `conflict` invoice state and attempt outcome: Chorus Pro holds another invoice under the
  number.

The dashboard views gain the `conflict` stage (dropped first, recreated last, as in 0005).
Plain ADD COLUMNs on both engines. The two CHECK constraints only gain a value: PostgreSQL drops
and recreates them; SQLite, which cannot alter a constraint without copying the table (and the
invoice table has foreign keys and views), rewrites the constraint's text in its schema the way
SQLite documents for changes that leave the stored rows valid (writable_schema, then a new
schema version so that every connection reloads it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from schemas import views
from schemas.warehouse import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: (table, constraint, column, values before, values after)
CHECKS = (
    (
        "invoice",
        "ck_invoice_state",
        "state",
        ("invalid", "ready", "submitting", "deposited", "deposit_failed", "external"),
        ("conflict",),
    ),
    (
        "deposit_attempt",
        "ck_attempt_outcome",
        "outcome",
        ("pending", "deposited", "found_existing", "refused", "ambiguous", "failed"),
        ("conflict",),
    ),
)


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _replace_check(table: str, name: str, old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
        bind.exec_driver_sql("PRAGMA writable_schema=ON")
        bind.execute(
            sa.text(
                "UPDATE sqlite_master SET sql = replace(sql, :old, :new) "
                "WHERE type = 'table' AND name = :table"
            ),
            {"old": old, "new": new, "table": table},
        )
        written = bind.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :table"),
            {"table": table},
        ).scalar()
        if new not in str(written):
            raise RuntimeError(f"{table}: constraint {name} not found as {old!r}")
        bind.exec_driver_sql(f"PRAGMA schema_version={int(version or 0) + 1}")
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")
        return
    op.drop_constraint(name, table, type_="check")
    op.create_check_constraint(name, table, new)


def _table_views() -> list[views.View]:
    return [view for view in views.VIEWS if view.sql is not None]


def _drop_views() -> None:
    for view in reversed(_table_views()):
        op.execute(sa.text(f"DROP VIEW IF EXISTS {view.name}"))


def _create_views() -> None:
    dialect = op.get_bind().dialect.name
    for view in _table_views():
        assert view.sql is not None
        sql = views.render(view.sql, dialect, cooperative_columns=True)
        op.execute(sa.text(f"CREATE VIEW {view.name} AS\n{sql}"))


def upgrade() -> None:
    _drop_views()
    op.add_column("deposit_attempt", sa.Column("owner", sa.String(length=200), nullable=True))
    op.add_column(
        "deposit_attempt", sa.Column("lease_until", UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column("alert", sa.Column("claimed_by", sa.String(length=200), nullable=True))
    op.add_column("alert", sa.Column("claimed_until", UTCDateTime(timezone=True), nullable=True))
    op.add_column("invoice", sa.Column("deposit_origin", sa.String(length=20), nullable=True))
    op.execute(
        sa.text(
            "UPDATE invoice SET deposit_origin = 'pipeline' "
            "WHERE state = 'deposited' AND chorus_invoice_id IS NOT NULL"
        )
    )
    for table, name, column, before, added in CHECKS:
        _replace_check(table, name, _in_list(column, before), _in_list(column, before + added))
    # The dashboards' views gain the `conflict` stage.
    _create_views()


def downgrade() -> None:
    _drop_views()
    # Before 0006 an invoice in conflict would have been a refused deposit: never resent by itself.
    op.execute(sa.text("UPDATE invoice SET state = 'deposit_failed' WHERE state = 'conflict'"))
    op.execute(sa.text("UPDATE deposit_attempt SET outcome = 'refused' WHERE outcome = 'conflict'"))
    for table, name, column, before, added in CHECKS:
        _replace_check(table, name, _in_list(column, before + added), _in_list(column, before))
    op.drop_column("invoice", "deposit_origin")
    op.drop_column("alert", "claimed_until")
    op.drop_column("alert", "claimed_by")
    op.drop_column("deposit_attempt", "lease_until")
    op.drop_column("deposit_attempt", "owner")
    _create_views()
