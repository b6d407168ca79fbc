"""Every knob of the simulator, validated, so a typo in a control request fails loudly.

The same model is used at start-up (CLI flags, `start_simulator_process`) and at run time
(`POST /_sim/config`, `POST /_sim/faults`), which is why unknown keys are refused rather than
ignored: a test that believes it switched a fault on must not silently run without it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_LOGIN",
    "DEFAULT_PASSWORD",
    "ApiName",
    "FaultConfig",
    "Outcome",
    "PisteApp",
    "SimulatorConfig",
    "TechnicalAccount",
]

#: Credentials accepted out of the box; the pipeline's simulator settings use the same values.
DEFAULT_CLIENT_ID = "simulator-client"
DEFAULT_CLIENT_SECRET = "simulator-secret"  # noqa: S105 - public, simulator only
DEFAULT_LOGIN = "TECH_1_cooproduction@cpro.fr"
DEFAULT_PASSWORD = "simulator-password"  # noqa: S105 - public, simulator only

#: The APIs a PISTE application subscribes to separately (path prefix `/cpro/<name>/`).
ApiName = Literal["factures", "structures", "transverses", "utilisateurs"]

#: Where an invoice's life ends up once the buyer has dealt with it.
Outcome = Literal["paid", "rejected", "suspended", "to_recycle", "never_paid"]

_ANTIGONE_SIRET = "51858054300107"
_ARTENREEL_SIRET = "47840796800054"


class FaultConfig(BaseModel):
    """Seeded-random faults; rates are per request and mutually exclusive (one draw per request).

    `paths` restricts faults to requests whose path starts with one of the prefixes (empty: every
    API and token request; the health check never faults). `max_faults` stops injecting after that
    many faults, which gives deterministic "fail twice, then succeed" scenarios.
    """

    model_config = ConfigDict(extra="forbid")

    rate_429: float = Field(default=0.0, ge=0, le=1)
    retry_after_seconds: int = Field(default=1, ge=0)
    rate_500: float = Field(default=0.0, ge=0, le=1)
    rate_502: float = Field(default=0.0, ge=0, le=1)
    rate_503: float = Field(default=0.0, ge=0, le=1)
    rate_slow: float = Field(default=0.0, ge=0, le=1)
    slow_seconds: float = Field(default=5.0, ge=0)
    rate_token_expiry: float = Field(default=0.0, ge=0, le=1)
    rate_commit_then_fail: float = Field(default=0.0, ge=0, le=1)
    commit_then_fail_mode: Literal["drop", "502"] = "drop"
    paths: list[str] = Field(default_factory=list)
    max_faults: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _rates_fit_one_draw(self) -> FaultConfig:
        total = (
            self.rate_429
            + self.rate_500
            + self.rate_502
            + self.rate_503
            + self.rate_slow
            + self.rate_token_expiry
            + self.rate_commit_then_fail
        )
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {total:.3f}; they must not exceed 1")
        return self

    def applies_to(self, path: str) -> bool:
        return not self.paths or any(path.startswith(prefix) for prefix in self.paths)


def _rate_limit(description: str) -> Any:
    return Field(default=None, gt=0, allow_inf_nan=False, description=description)


class PisteApp(BaseModel):
    """One PISTE application (OAuth client): what it subscribes to and how fast it may call.

    On PISTE a legal entity often has its own application, so a pipeline serving several
    cooperatives holds several client ids, each with its own subscriptions and quota.
    """

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1)
    client_secret: str
    unsubscribed_apis: list[ApiName] = Field(
        default_factory=list, description="APIs this application is not subscribed to (403)."
    )
    rate_limit_per_second: float | None = _rate_limit(
        "Requests this application may start in any sliding second (None: unlimited); the "
        "next one gets 429 with Retry-After."
    )


class TechnicalAccount(BaseModel):
    """One Chorus Pro technical account (`cpro-account`) and the structures attached to it."""

    model_config = ConfigDict(extra="forbid")

    login: str = Field(min_length=1)
    password: str
    attached_supplier_sirets: list[str] = Field(default_factory=list)
    password_expires_on: date | None = Field(
        default=None, description="None = clock start + 365 days; past it, 401."
    )


class SimulatorConfig(BaseModel):
    """Start-up configuration; `POST /_sim/config` merges changes into the running copy.

    The top-level credentials are the default application (`client_id`, `client_secret`,
    `unsubscribed_apis`, `rate_limit_per_second`) and the default technical account (`login`,
    `password`, `attached_supplier_sirets`, `tech_password_expires_on`); `piste_apps` and
    `technical_accounts` add more of each, so one simulator can serve several cooperatives.
    """

    model_config = ConfigDict(extra="forbid")

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    login: str = DEFAULT_LOGIN
    password: str = DEFAULT_PASSWORD
    token_lifetime_seconds: int = Field(
        default=3600, ge=0, description="Real (wall-clock) seconds a token stays valid."
    )
    unsubscribed_apis: list[ApiName] = Field(
        default_factory=list, description="APIs the PISTE application is not subscribed to (403)."
    )
    attached_supplier_sirets: list[str] = Field(
        default_factory=lambda: [_ANTIGONE_SIRET, _ARTENREEL_SIRET],
        description="Supplier structures the technical account is attached to.",
    )
    rate_limit_per_second: float | None = _rate_limit(
        "Quota of the default application, as PisteApp.rate_limit_per_second."
    )
    piste_apps: list[PisteApp] = Field(
        default_factory=list, description="PISTE applications besides the default one."
    )
    technical_accounts: list[TechnicalAccount] = Field(
        default_factory=list, description="Technical accounts besides the default one."
    )
    business_errors_http: Literal[200, 400] = Field(
        default=400, description="HTTP status of answers carrying codeRetour != 0."
    )
    seed: int = Field(default=0, description="Seeds invoice lifecycles and fault draws.")
    clock_start: datetime | date | None = Field(
        default=None,
        description="Simulated start time (naive = Europe/Paris; a bare date starts at 09:00); "
        "None = the real current time when the simulator starts.",
    )
    tech_password_expires_on: date | None = Field(
        default=None,
        description="Expiry of the technical account's password; None = clock start + 365 days. "
        "Past it, cpro-account is refused (401).",
    )
    latency_ms: int = Field(default=0, ge=0, description="Fixed delay added to every request.")
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    flux_polls_before_result: int = Field(
        default=1,
        ge=0,
        description="consulterCR(Detaille) polls that still answer the pending state; a clock "
        "advance settles every pending flux.",
    )
    flux_outcome: Literal["auto", "IN_INTEGRE", "IN_REJETE"] = "auto"
    reject_duplicate_numbers: bool = True
    unconsultable_structures: list[str] = Field(
        default_factory=list,
        description="SIRETs whose structures consulter, rechercher/services and "
        "consulter/service answer 20001 'Structure inexistante.' while rechercher still lists "
        "them with their statut: a dissolved buyer (the inactive one), or one that went between "
        "the search and the consultation.",
    )
    recycle_engagement: Literal["applied", "ignored"] = Field(
        default="applied",
        description="Whether `recycler` changes the engagement number it is given: unproven "
        "(AIFE's recycle example has none), so both behaviours can be tested.",
    )
    max_download_bytes: int = Field(
        default=120 * 1024 * 1024,
        ge=1,
        description="Largest `telecharger/groupe` answer (the files it holds); above, HTTP 413.",
    )
    lifecycle_outcome: Outcome | None = Field(
        default=None, description="Forces every new invoice's outcome (else seeded shares)."
    )
    lifecycle_outcomes_by_number: dict[str, Outcome] = Field(
        default_factory=dict, description="Forces the outcome of the invoices with these numbers."
    )
    faults: FaultConfig = Field(default_factory=FaultConfig)

    @model_validator(mode="after")
    def _credentials_are_unique(self) -> SimulatorConfig:
        """A duplicate would make a token's application or a request's account ambiguous."""
        for what, names in (
            ("client id", [app.client_id for app in self.applications()]),
            ("technical account login", [account.login for account in self.accounts()]),
        ):
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise ValueError(f"{what} configured more than once: {', '.join(repeated)}")
        return self

    def default_application(self) -> PisteApp:
        return PisteApp(
            client_id=self.client_id,
            client_secret=self.client_secret,
            unsubscribed_apis=list(self.unsubscribed_apis),
            rate_limit_per_second=self.rate_limit_per_second,
        )

    def default_account(self) -> TechnicalAccount:
        return TechnicalAccount(
            login=self.login,
            password=self.password,
            attached_supplier_sirets=list(self.attached_supplier_sirets),
            password_expires_on=self.tech_password_expires_on,
        )

    def applications(self) -> list[PisteApp]:
        """The default application first, then `piste_apps`."""
        return [self.default_application(), *self.piste_apps]

    def accounts(self) -> list[TechnicalAccount]:
        """The default technical account first, then `technical_accounts`."""
        return [self.default_account(), *self.technical_accounts]

    def application(self, client_id: str) -> PisteApp | None:
        return next((app for app in self.applications() if app.client_id == client_id), None)

    def account(self, login: str) -> TechnicalAccount | None:
        return next((acc for acc in self.accounts() if acc.login == login), None)

    @field_validator("clock_start", mode="before")
    @classmethod
    def _bare_date_stays_a_date(cls, value: object) -> object:
        """'2025-11-05' means that working day (09:00), not midnight."""
        if isinstance(value, str) and len(value.strip()) == 10:
            return date.fromisoformat(value.strip())
        return value
