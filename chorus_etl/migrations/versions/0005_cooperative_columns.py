"""cooperative on every row that belongs to one

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10

One installation serves several cooperatives (the accounts file), and each must see only its own
rows. `cooperative` (the accounts' id, NOT NULL, indexed) goes on the rows that belong to one:

- `invoice` and `entrepreneur`: the cooperative of their supplier structure;
- `alert`: its invoice's; an alert without one (the password expiry) names its structure in its
  dedupe key (`password_expiring:<siret>:<date>:accounting`), whose cooperative it gets;
- `export_file`: the one cooperative its invoices belong to; an export that spans several (or
  has no invoice) is the installation's, since its shared inbox received it.

`pipeline_run` gets a nullable `cooperative`: a run done for one cooperative says so, a run over
the whole installation (every run before this revision) leaves it null. Not given one:
`sync_watermark`, whose keys already name the structure (`reconcile:<siret>`); the buyer
directory cache (`buyer_structure`, `buyer_service`), public data every cooperative shares; and
the rows under an invoice (VAT lines, reasons, attempts, statuses), which are their invoice's.

Existing rows are filled from the accounts (`Settings.accounts`, the file or the single-account
settings) as the revision runs; a structure in no cooperative, or anything else left over, gets
`settings.cooperative_id`. That fallback is the columns' server default while they are added
(plain ADD COLUMNs on both engines: no table copy, which SQLite would do with foreign keys on
the invoice table), then filled by UPDATEs. PostgreSQL drops the default afterwards, so a row
written without its cooperative fails there; SQLite cannot drop a default without copying the
table and keeps it, the application always writing the column anyway. The dashboard views read
the new column, so they are dropped first and recreated last (the settings views stay).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chorus_etl.accounts import load_accounts
from schemas import views

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: Tables whose every row belongs to a cooperative.
OWNED = ("export_file", "entrepreneur", "invoice", "alert")
LENGTH = 40


def _table_views() -> list[views.View]:
    """The views that read tables; the settings views hold literals and stay as they are."""
    return [view for view in views.VIEWS if view.sql is not None]


def _drop_views() -> None:
    for view in reversed(_table_views()):
        op.execute(sa.text(f"DROP VIEW IF EXISTS {view.name}"))


def _create_views(*, cooperative_columns: bool) -> None:
    dialect = op.get_bind().dialect.name
    for view in _table_views():
        assert view.sql is not None
        sql = views.render(view.sql, dialect, cooperative_columns=cooperative_columns)
        op.execute(sa.text(f"CREATE VIEW {view.name} AS\n{sql}"))


def upgrade() -> None:
    # A fresh read, not the cached settings, as in 0002.
    from chorus_etl.settings import Settings

    settings = Settings()
    fallback = settings.cooperative_id
    _drop_views()
    for table in OWNED:
        op.add_column(
            table,
            sa.Column(
                "cooperative", sa.String(length=LENGTH), nullable=False, server_default=fallback
            ),
        )
        op.create_index(f"ix_{table}_cooperative", table, ["cooperative"])
    op.add_column("pipeline_run", sa.Column("cooperative", sa.String(length=LENGTH)))
    op.create_index("ix_pipeline_run_cooperative", "pipeline_run", ["cooperative"])
    owners = {s.siret: c.id for c in load_accounts(settings).cooperatives for s in c.structures}
    _backfill(owners, fallback)
    if op.get_bind().dialect.name == "postgresql":
        for table in OWNED:
            op.alter_column(table, "cooperative", server_default=None)
    _create_views(cooperative_columns=True)


def _backfill(owner_of: dict[str, str], fallback: str) -> None:
    """Every row already holds `fallback`: only the rows of other cooperatives are updated."""
    connection = op.get_bind()
    for table in ("invoice", "entrepreneur"):
        rows = sa.table(table, sa.column("supplier_siret"), sa.column("cooperative"))
        for cooperative in {c for c in owner_of.values() if c != fallback}:
            sirets = [s for s, c in owner_of.items() if c == cooperative]
            connection.execute(
                sa.update(rows)
                .where(rows.c.supplier_siret.in_(sirets))
                .values(cooperative=cooperative)
            )
    connection.execute(
        sa.text(
            "UPDATE alert SET cooperative = "
            "(SELECT invoice.cooperative FROM invoice WHERE invoice.id = alert.invoice_id) "
            "WHERE invoice_id IS NOT NULL"
        )
    )
    alerts = sa.table("alert", sa.column("id"), sa.column("cooperative"))
    for alert_id, dedupe_key in connection.execute(
        sa.text("SELECT id, dedupe_key FROM alert WHERE invoice_id IS NULL")
    ):
        parts = str(dedupe_key).split(":")
        owner = owner_of.get(parts[1]) if len(parts) > 1 else None
        if owner is not None and owner != fallback:
            connection.execute(
                sa.update(alerts).where(alerts.c.id == alert_id).values(cooperative=owner)
            )
    connection.execute(
        sa.text(
            "UPDATE export_file SET cooperative = "
            "(SELECT MIN(i.cooperative) FROM invoice i WHERE i.export_file_id = export_file.id) "
            "WHERE (SELECT COUNT(DISTINCT i.cooperative) FROM invoice i "
            "WHERE i.export_file_id = export_file.id) = 1"
        )
    )


def downgrade() -> None:
    _drop_views()
    for table in ("pipeline_run", *reversed(OWNED)):
        op.drop_index(f"ix_{table}_cooperative", table_name=table)
        op.drop_column(table, "cooperative")
    _create_views(cooperative_columns=False)
