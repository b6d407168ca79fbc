"""The one place where the pipeline's settings become Chorus Pro clients.

`chorus_pro` knows nothing of the pipeline (it could be published on its own), so it takes a plain
`ChorusProConfig`; every flow, task and command that talks to Chorus Pro builds it here. With
several structures, `ChorusClients` keeps one client per PISTE application (one connection pool,
one token cache, one pacer: PISTE counts token requests and rates per application) and hands out
a view of it per technical account.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from chorus_etl.accounts import Account, AccountsError, load_accounts
from chorus_etl.pacing import SAFETY, PrefectRateLimit, RateLimiter
from chorus_etl.settings import Settings
from chorus_pro.client import ChorusProClient
from chorus_pro.config import ChorusProConfig

__all__ = ["ChorusClients", "chorus_pro_client", "chorus_pro_config"]


def chorus_pro_config(settings: Settings, account: Account) -> ChorusProConfig:
    """Endpoints, timeouts and retry policy of the selected environment, with the credentials of
    `account` (its PISTE application and technical account)."""
    return ChorusProConfig(
        api_url=settings.api_url,
        oauth_url=settings.oauth_url,
        client_id=account.client_id,
        client_secret=account.client_secret,
        login=account.login,
        password=account.password,
        timeout=settings.http_timeout_seconds,
        connect_timeout=min(10.0, settings.http_timeout_seconds),
        max_retries=settings.http_max_retries,
        backoff_base=settings.http_backoff_base_seconds,
        backoff_max=settings.http_backoff_max_seconds,
    )


def chorus_pro_client(
    settings: Settings, account: Account | None = None, **kwargs: Any
) -> ChorusProClient:
    """A client acting as `account`, by default the first configured structure's (what a
    single-account installation has: one application, one technical account)."""
    if account is None:
        accounts = load_accounts(settings)
        account = accounts.account(accounts.sirets()[0])
    return ChorusProClient(chorus_pro_config(settings, account), **kwargs)


def _throttle(settings: Settings, account: Account) -> Callable[[], None]:
    if settings.rate_limit_backend == "prefect":
        return PrefectRateLimit(account.app_id, account.rate_per_second)
    return RateLimiter(account.rate_per_second * SAFETY)


class ChorusClients:
    """Clients for the structures of the accounts configuration, shared by a run's tasks.

    Close it (or use it as a context manager) when the run ends: it owns the connection pools.
    """

    def __init__(self, settings: Settings, **client_kwargs: Any) -> None:
        self.settings = settings
        self._kwargs = client_kwargs
        self._apps: dict[str, ChorusProClient] = {}
        self._views: dict[tuple[str, str], ChorusProClient] = {}

    def __enter__(self) -> ChorusClients:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for client in self._apps.values():
            client.close()
        self._apps.clear()
        self._views.clear()

    def for_account(self, account: Account) -> ChorusProClient:
        """The client acting as `account`'s technical account, on its application's pool."""
        view = self._views.get(account.account_key)
        if view is not None:
            return view
        app = self._apps.get(account.app_id)
        if app is None:
            config = chorus_pro_config(self.settings, account)
            kwargs = {"throttle": _throttle(self.settings, account), **self._kwargs}
            app = ChorusProClient(config, **kwargs)
            self._apps[account.app_id] = app
        view = (
            app
            if app.config.login == account.login
            else app.with_account(account.login, account.password)
        )
        self._views[account.account_key] = view
        return view

    def for_structure(self, siret: str) -> ChorusProClient:
        """The client of the structure's own account; `AccountsError` if its secrets are missing."""
        return self.for_account(load_accounts(self.settings).account(siret))

    def any_account(self) -> ChorusProClient:
        """A client of the first structure whose secrets resolve, for what every account may
        read alike (the directory of public buyers)."""
        accounts = load_accounts(self.settings)
        errors = []
        for siret in accounts.sirets():
            try:
                return self.for_account(accounts.account(siret))
            except AccountsError as exc:
                errors.append(str(exc))
        raise AccountsError("no structure has usable credentials: " + "; ".join(errors))

    def token_fetches(self) -> dict[str, int]:
        """Tokens fetched per PISTE application so far: one each, unless one expired or was refused."""
        return {app_id: client.token_fetch_count for app_id, client in self._apps.items()}
