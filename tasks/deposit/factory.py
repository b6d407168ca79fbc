"""A depositor configured from the settings: where deposit modes, pacing and Factur-X meet.

The deposit flow and the reconciliation (which follows Factur-X fluxes before it searches) build
the same depositor; building it in one place keeps the two from drifting apart.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from chorus_etl.accounts import load_accounts
from chorus_etl.pacing import RateLimiter
from chorus_etl.settings import Settings
from chorus_pro.api import ChorusProApi
from tasks.deposit.depositor import Depositor
from tasks.deposit.document import facturx_builder


def make_depositor(
    engine: Engine,
    api: ChorusProApi,
    settings: Settings,
    *,
    dry_run: bool = False,
    accounting_email: str | None = None,
) -> Depositor:
    """`accounting_email`: the cooperative whose structures this depositor serves; the
    single-account setting's by default."""
    return Depositor(
        engine,
        api,
        accounting_email=accounting_email or settings.alert_accounting_email,
        limiter=RateLimiter(settings.deposit_rate_per_second),
        dry_run=dry_run,
        concurrency=settings.deposit_concurrency,
        modes=load_accounts(settings).deposit_modes(),
        facturx=facturx_builder(settings) if load_accounts(settings).facturx_sirets() else None,
        flux_grace=timedelta(minutes=settings.flux_resend_grace_minutes),
        lease=timedelta(minutes=settings.claim_lease_minutes),
    )
