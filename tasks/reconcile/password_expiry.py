"""The technical account's password expires (about every 424 days); warn accounting before it does.

Chorus Pro gives the expiry date in the supplier structure's consultation. After it, every call
fails with a 401, so the warning goes out `password_warning_days` ahead, once per expiry date.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session

from chorus_pro.api import ChorusProApi
from schemas.alerts import AlertKind
from schemas.payloads import parse_chorus_date
from tasks.alerts import messages, outbox


def expiry_date(api: ChorusProApi, id_structure: int) -> date | None:
    general = api.get_structure(id_structure).informationGenerales
    raw = general.get("dateExpirationMotPasseCompteTech")
    if not raw:
        return None
    try:
        parsed = parse_chorus_date(raw)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, date) else None


def queue_if_expiring(
    engine: Engine,
    *,
    structure: str,
    expires_on: date | None,
    as_of: date,
    warning_days: int,
    accounting_email: str,
    cooperative: str,
) -> int:
    """One warning per structure and expiry date, to the cooperative of the structure."""
    if expires_on is None:
        return 0
    days_left = (expires_on - as_of).days
    if days_left > warning_days:
        return 0
    subject, body = messages.password_expiring(structure, expires_on, max(days_left, 0))
    with Session(engine) as session:
        created = outbox.queue(
            session,
            kind=AlertKind.PASSWORD_EXPIRING,
            event_key=f"{structure}:{expires_on.isoformat()}",
            invoice=None,
            subject=subject,
            body=body,
            entrepreneur=None,
            accounting_email=accounting_email,
            cooperative=cooperative,
        )
        session.commit()
    return len(created)
