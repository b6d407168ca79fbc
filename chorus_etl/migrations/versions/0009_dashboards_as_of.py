"""the dashboards judge lateness on the pipeline's date

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

`v_legal_setting` gains `as_of_date`: NULL (today, UTC, as before) unless a report was rendered
for a date of its own (the nightly run's `as_of`: a backfill, the demo's simulated days), so that
a dashboard and the alerts of the same run agree on what is late. The lifecycle reads it, so the
views that read tables are dropped first and recreated last, and the settings view is recreated
between them with the current settings.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from schemas import views

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A fresh read, not the cached settings, as in 0002.
    from chorus_etl.settings import Settings

    settings = Settings()
    dialect = op.get_bind().dialect.name
    table_views = [view for view in views.VIEWS if view.sql is not None]
    for view in reversed(table_views):
        op.execute(sa.text(f"DROP VIEW IF EXISTS {view.name}"))
    op.execute(sa.text(f"DROP VIEW IF EXISTS {views.LEGAL_SETTING.name}"))
    legal = views.legal_setting_sql(settings.ecb_rate_percent, None, dialect)
    op.execute(sa.text(f"CREATE VIEW {views.LEGAL_SETTING.name} AS {legal}"))
    for view in table_views:
        assert view.sql is not None
        op.execute(sa.text(f"CREATE VIEW {view.name} AS\n{views.render(view.sql, dialect)}"))


def downgrade() -> None:
    """Nothing: a NULL `as_of_date` reads as today, which is what the views did before, and the
    views the earlier revisions recreate on their way down read the column."""
