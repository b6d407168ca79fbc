"""The accounting alert for a structure whose Chorus Pro access was refused.

A refused technical account or PISTE application stops only the structures behind it: their
invoices stay `ready` and their accounting is told, once a day, what to fix. Everyone else's run
goes on, so nobody else needs to hear of it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from chorus_etl.accounts import AccountGroup, Accounts, AccountsError
from chorus_etl.log import get_logger
from chorus_pro.errors import AuthenticationError
from schemas.alerts import AlertKind
from tasks.alerts import messages, outbox

__all__ = ["halt_group", "queue_access_refused", "refusal_kind"]

log = get_logger(__name__)


def refusal_kind(error: BaseException) -> str:
    """account, application or configuration: who has to act, and where."""
    if isinstance(error, AccountsError):
        return "configuration"
    cause = error.__cause__ if error.__cause__ is not None else error
    if isinstance(cause, AuthenticationError) and cause.technical_account_refused:
        return "account"
    if isinstance(cause, AuthenticationError):
        return "application"
    return "application" if getattr(cause, "status_code", None) == 403 else "account"


def queue_access_refused(
    engine: Engine,
    accounts: Accounts,
    group: AccountGroup,
    *,
    stage: str,
    error: BaseException,
    today: date,
) -> int:
    """Queues the alert (at most one per account, kind and day); returns how many rows it wrote."""
    cooperative = accounts.cooperative(group.cooperative)
    structure = accounts.structure(group.sirets[0])
    kind = refusal_kind(error)
    facts = messages.AccessFacts(
        sirets=group.sirets,
        cooperative_name=cooperative.name,
        login=group.login,
        app_id=group.app_id,
        password_from=structure.password_from,
        client_secret_from=accounts.app(group.app_id).client_secret_from,
        kind=kind,
        detail=str(error)[:500],
    )
    subject, body = messages.access_refused(facts, stage)
    with Session(engine) as session:
        created = outbox.queue(
            session,
            kind=AlertKind.ACCESS_REFUSED,
            event_key=f"{group.app_id}:{group.login}:{kind}:{today.isoformat()}",
            invoice=None,
            subject=subject,
            body=body,
            entrepreneur=None,
            accounting_email=cooperative.accounting_email,
            cooperative=cooperative.id,
        )
        session.commit()
    return len(created)


def halt_group(
    engine: Engine,
    accounts: Accounts,
    group: AccountGroup,
    stage: str,
    error: BaseException,
    today: date | None = None,
) -> dict[str, Any]:
    """Logs the refusal and alerts the group's accounting; returns the run summary's entry."""
    log.error(
        "run.account_refused",
        cooperative=group.cooperative,
        app=group.app_id,
        login=group.login,
        structures=list(group.sirets),
        stage=stage,
        error=str(error),
    )
    alerts = queue_access_refused(
        engine, accounts, group, stage=stage, error=error, today=today or date.today()
    )
    return {
        "cooperative": group.cooperative,
        "app": group.app_id,
        "login": group.login,
        "sirets": list(group.sirets),
        "error": str(error)[:500],
        "alerts": alerts,
    }
