"""dashboard views

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

The views of `schemas.views` (documented in docs/warehouse.md). No table changes, so the models
and the migrations still agree. The two settings views take today's settings (ECB rate, buyer
kinds); the report rewrites them whenever the settings change afterwards. The tables have no
`cooperative` column yet (revision 0005 adds it and recreates the views): here it reads NULL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from schemas import views

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A fresh read, not the cached settings: a migration must not fix the settings of the process
    # that runs it (tests change the environment after migrating).
    from chorus_etl.settings import Settings

    settings = Settings()
    dialect = op.get_bind().dialect.name
    for statement in views.create_statements(
        dialect,
        ecb_rate_percent=settings.ecb_rate_percent,
        buyer_kinds=settings.buyer_kinds,
        cooperative_columns=False,
    ):
        op.execute(sa.text(statement))


def downgrade() -> None:
    for statement in views.drop_statements():
        op.execute(sa.text(statement))
