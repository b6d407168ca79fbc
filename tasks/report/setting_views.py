"""Keeps the settings views (`v_legal_setting`, `v_buyer_kind_setting`) equal to the settings.

The views that compute late-payment interest and legal delays read the ECB rate and the buyer-kind
overrides from those two views, because SQL cannot read Python settings. Migration 0002 creates
them from the settings of the day; when an operator later changes `ecb_rate_percent` or
`buyer_kinds`, the report rewrites them before reading anything, so the pages, and any SQL client
afterwards, use the new values. Nothing is rewritten when they already match: a report on a
warehouse whose settings did not change needs no DDL rights.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from schemas.rules import ecb_rate_bp
from schemas.views import (
    BUYER_KIND_SETTING,
    LEGAL_SETTING,
    buyer_kind_setting_sql,
    legal_setting_sql,
    replace_statements,
)


def _stored(connection: Connection) -> tuple[tuple[int, date | None] | None, dict[str, str]]:
    row = connection.execute(sa.select(LEGAL_SETTING.table())).first()
    rate = (int(row[0]), _day(row[1])) if row is not None else None
    kinds = {
        str(siret): str(kind)
        for siret, kind in connection.execute(sa.select(BUYER_KIND_SETTING.table())).all()
    }
    return rate, kinds


def _day(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def sync_setting_views(
    engine: Engine,
    *,
    ecb_rate_percent: float,
    buyer_kinds: Mapping[str, str],
    as_of: date | None = None,
) -> bool:
    """Rewrites the settings views if they differ from these settings (and the as-of date the
    dashboards judge lateness on, None for today); True if it did."""
    wanted_rate, wanted_kinds = (ecb_rate_bp(ecb_rate_percent), as_of), dict(buyer_kinds)
    statements: list[str] = []
    with engine.begin() as connection:
        rate, kinds = _stored(connection)
        dialect = connection.dialect.name
        if rate != wanted_rate:
            statements += replace_statements(
                dialect, LEGAL_SETTING, legal_setting_sql(ecb_rate_percent, as_of, dialect)
            )
        if kinds != wanted_kinds:
            statements += replace_statements(
                dialect, BUYER_KIND_SETTING, buyer_kind_setting_sql(wanted_kinds)
            )
        for statement in statements:
            connection.execute(sa.text(statement))
    return bool(statements)
