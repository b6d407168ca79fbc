"""Typed settings: every knob of the pipeline, from the environment or a `.env` file.

One object, built once per process, so that flows, tasks and the CLI agree on configuration and
secrets stay wrapped in `SecretStr` until the exact moment they are put on the wire.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from chorus_etl.accounts import Accounts

ANTIGONE_SIRET = "51858054300107"
ARTENREEL_SIRET = "47840796800054"


class ChorusEnv(StrEnum):
    SIMULATOR = "simulator"
    SANDBOX = "sandbox"
    PRODUCTION = "production"


#: (API base URL, OAuth token URL) per environment; the simulator's default port is 8765.
DEFAULT_URLS: dict[ChorusEnv, tuple[str, str]] = {
    ChorusEnv.SIMULATOR: ("http://127.0.0.1:8765", "http://127.0.0.1:8765/api/oauth/token"),
    ChorusEnv.SANDBOX: (
        "https://sandbox-api.piste.gouv.fr",
        "https://sandbox-oauth.piste.gouv.fr/api/oauth/token",
    ),
    ChorusEnv.PRODUCTION: (
        "https://api.piste.gouv.fr",
        "https://oauth.piste.gouv.fr/api/oauth/token",
    ),
}

#: Credentials the simulator accepts out of the box, so the demo needs none.
SIMULATOR_CLIENT_ID = "simulator-client"
SIMULATOR_CLIENT_SECRET = "simulator-secret"  # noqa: S105 - public, simulator only
SIMULATOR_LOGIN = "TECH_1_cooproduction@cpro.fr"
SIMULATOR_PASSWORD = "simulator-password"  # noqa: S105 - public, simulator only


class DepositMode(StrEnum):
    """How a supplier structure's invoices go to Chorus Pro (see docs/design.md, the two modes)."""

    #: The PDF uploaded, then `soumettre` in mode DEPOT_PDF_API: Chorus Pro reads the PDF (OCR).
    PDF = "pdf"
    #: The PDF made Factur-X (PDF/A-3 carrying an EN 16931 CII XML), deposited with `deposer/flux`.
    FACTURX = "facturx"


class SupplierIdentity(BaseModel):
    """The seller of a Factur-X (EN 16931 BG-4): what the XML says about the cooperative."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    address_line: str = Field(min_length=1)
    postcode: str = Field(min_length=1)
    city: str = Field(min_length=1)
    country_code: str = Field(default="FR", min_length=2, max_length=2)
    vat_id: str | None = Field(
        default=None, description="Intra-community VAT number; derived from the SIREN if unset."
    )
    iban: str | None = Field(default=None, description="Where buyers pay (BT-84).")


class Settings(BaseSettings):
    """All settings; environment variables are prefixed `CHORUS_ETL_` (e.g. `CHORUS_ETL_CHORUS_ENV`)."""

    model_config = SettingsConfigDict(
        env_prefix="CHORUS_ETL_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    database_url: str = Field(
        default="sqlite:///var/warehouse.db",
        description="SQLAlchemy URL of the warehouse: SQLite file by default, PostgreSQL in "
        "production (postgresql+psycopg://user@host:5432/db).",
    )
    var_dir: Path = Field(default=Path("var"), description="Where local state files live.")

    chorus_env: ChorusEnv = ChorusEnv.SIMULATOR
    chorus_api_url: str | None = Field(default=None, description="Overrides the API base URL.")
    chorus_oauth_url: str | None = Field(default=None, description="Overrides the token URL.")
    piste_client_id: str | None = None
    piste_client_secret: SecretStr | None = None
    cpro_login: str | None = None
    cpro_password: SecretStr | None = None

    accounts_file: Path | None = Field(
        default=None,
        description="TOML file of cooperatives, structures and their Chorus Pro accounts "
        "(docs/deployment.md); unset, the single-account settings here describe one cooperative.",
    )
    secrets_dir: Path | None = Field(
        default=None,
        description="Folder of secret files named after the accounts file's `*_from` names "
        "(e.g. /run/secrets); the environment is looked up first.",
    )
    cooperative_id: str = Field(
        default="cooproduction",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$",
        description="The cooperative of the single-account settings.",
    )
    cooperative_name: str = "Cooproduction"
    piste_rate_per_second: float = Field(
        default=50.0, gt=0, description="Rate limit of the single-account PISTE application."
    )
    fan_out: bool = Field(
        default=False,
        description="nightly and daily start one run of the per-structure deployments for each "
        "structure, for Prefect workers to share (docs/deployment.md); off, they work in-process.",
    )
    fan_out_timeout_minutes: int = Field(
        default=180, ge=1, description="How long a parent run waits for its per-structure runs."
    )
    rate_limit_backend: Literal["local", "prefect"] = Field(
        default="local",
        description="local: each process paces its own requests; prefect: every process shares "
        "one Prefect global concurrency limit per PISTE application (workers, docs/deployment.md).",
    )

    http_timeout_seconds: float = Field(default=30.0, gt=0)
    http_max_retries: int = Field(default=5, ge=0)
    http_backoff_base_seconds: float = Field(default=0.5, ge=0)
    http_backoff_max_seconds: float = Field(default=30.0, ge=0)

    supplier_sirets: list[str] = Field(
        default=[ANTIGONE_SIRET, ARTENREEL_SIRET],
        description="SIRETs of the cooperative's supplier structures (JSON list in env).",
    )
    entrepreneurs_file: Path = Field(
        default=Path("entrepreneurs.csv"),
        description="Directory of entrepreneurs (code, name, email, supplier SIRET).",
    )
    inbox_dir: Path = Field(default=Path("var/inbox"), description="Where exports are dropped.")

    deposit_modes: dict[str, DepositMode] = Field(
        default_factory=dict,
        description="Supplier SIRET -> pdf | facturx; a structure left out deposits PDFs.",
    )
    supplier_identities: dict[str, SupplierIdentity] = Field(
        default_factory=dict,
        description="Supplier SIRET -> its name, address, VAT number and IBAN, for Factur-X.",
    )
    flux_resend_grace_minutes: int = Field(
        default=60,
        ge=0,
        description="A Factur-X whose deposit answer was lost is looked up, not resent, until "
        "it has had this long to appear on Chorus Pro.",
    )
    claim_lease_minutes: float = Field(
        default=10,
        gt=0,
        description="How long a run's claim on an invoice (or alert) outlives its silence when "
        "seen from another host; renewed before every call to Chorus Pro. Longer than one "
        "deposit's calls with their retries.",
    )
    deposit_concurrency: int = Field(default=8, ge=1)
    deposit_rate_per_second: float = Field(default=20.0, gt=0)
    deposit_batch_size: int = Field(default=200, ge=1)
    directory_cache_hours: int = Field(default=24, ge=0)
    reconcile_overlap_minutes: int = Field(default=60, ge=0)
    reconcile_detail: bool = Field(
        default=False, description="Also read each changed invoice's full status history."
    )
    buyer_kinds: dict[str, str] = Field(
        default_factory=dict,
        description="Buyer SIRET -> state | local | hospital | public_company (legal payment delay).",
    )
    ecb_rate_percent: float = Field(
        default=2.15, description="ECB refinancing rate; late-payment interest adds 8 points."
    )
    password_warning_days: int = Field(default=15, ge=0)
    wait_alert_after_days: float = Field(
        default=3.0,
        ge=0,
        description="Something retried at every run (an invoice waiting for the directory, a "
        "deposit left submitting or ready, a flux report, an alert not delivered) that has "
        "waited longer than this raises one accounting alert (docs/design.md, bounded waits).",
    )
    wait_alert_after_runs: int = Field(
        default=6,
        ge=1,
        description="The same bound in runs: waiting at more runs than this alerts too.",
    )

    # --- proof of deposit: the archive (returned-invoices) ---------------------------------------
    archive_dir: Path = Field(
        default=Path("var/archive"),
        description="Where each deposited invoice's documents, as Chorus Pro holds them "
        "(telecharger/groupe), are kept: one folder per cooperative, structure, year and "
        "number; their SHA-256 are in the warehouse (`chorus-etl archive verify`).",
    )
    archive_format: str = Field(
        default="PDF",
        description="The `format` asked of telecharger/groupe: PDF (the documents as deposited); "
        "XML, ZIP and PIVOT are also named by peers, the full list is unconfirmed.",
    )
    archive_attachments: bool = Field(
        default=True, description="Download the invoices' attachments with them."
    )
    archive_batch_size: int = Field(
        default=20,
        ge=1,
        description="Invoices per telecharger/groupe call; a call over Chorus Pro's 120 MB "
        "(HTTP 413) is split, down to one invoice without its attachments.",
    )
    # --- end of the archive settings --------------------------------------------------------------

    alert_urls: list[str] = Field(
        default_factory=list,
        description="apprise URLs for alerts (mailto://, mmost://, slack://); empty means .eml "
        "files in the outbox folder.",
    )
    alert_accounting_email: str = "compta@cooproduction.example"
    alert_from_email: str = "chorus-pro@cooproduction.example"
    alert_outbox_dir: Path = Field(default=Path("var/outbox"))
    dashboard_dir: Path = Field(
        default=Path("var/dashboard"), description="Where the nightly flow writes the dashboard."
    )

    log_level: str = "INFO"
    log_format: str = Field(
        default="auto", description="json, console, or auto (console on a TTY)."
    )
    log_stream: str = Field(
        default="stdout",
        description="stdout or stderr; the CLI uses stderr so that --json output stays parseable.",
    )

    _accounts: Accounts | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _structures_from_accounts_file(self) -> Settings:
        """With an accounts file, the structures, modes and identities are the file's."""
        if self.accounts_file is None:
            return self
        from chorus_etl.accounts import Accounts, load_accounts_file

        accounts = Accounts(load_accounts_file(self.accounts_file), secrets_dir=self.secrets_dir)
        structures = [s for c in accounts.cooperatives for s in c.structures]
        self.supplier_sirets = [s.siret for s in structures]
        self.deposit_modes = {s.siret: s.deposit_mode for s in structures}
        self.supplier_identities = {
            s.siret: s.identity for s in structures if s.identity is not None
        } | self.supplier_identities
        self._accounts = accounts
        return self

    @property
    def accounts(self) -> Accounts:
        """Cooperatives, structures and their Chorus Pro access (file, or single-account case)."""
        if self._accounts is None:
            self._accounts = self._single_account()
        return self._accounts

    def _single_account(self) -> Accounts:
        from chorus_etl.accounts import (
            DEFAULT_APP_ID,
            Accounts,
            AccountsFile,
            CooperativeEntry,
            PisteAppEntry,
            StructureEntry,
        )

        simulator = self.chorus_env is ChorusEnv.SIMULATOR
        values: dict[str, str | SecretStr | None] = {
            "CHORUS_ETL_PISTE_CLIENT_ID": self.piste_client_id
            or (SIMULATOR_CLIENT_ID if simulator else None),
            "CHORUS_ETL_PISTE_CLIENT_SECRET": self.piste_client_secret
            or (SecretStr(SIMULATOR_CLIENT_SECRET) if simulator else None),
            "CHORUS_ETL_CPRO_LOGIN": self.cpro_login or (SIMULATOR_LOGIN if simulator else None),
            "CHORUS_ETL_CPRO_PASSWORD": self.cpro_password
            or (SecretStr(SIMULATOR_PASSWORD) if simulator else None),
        }
        missing = [name for name, value in values.items() if not value]
        file = AccountsFile(
            piste_apps=[
                PisteAppEntry(
                    id=DEFAULT_APP_ID,
                    client_id=str(values["CHORUS_ETL_PISTE_CLIENT_ID"] or "unset"),
                    client_secret_from="CHORUS_ETL_PISTE_CLIENT_SECRET",  # noqa: S106 - a name
                    rate_per_second=self.piste_rate_per_second,
                )
            ],
            cooperatives=[
                CooperativeEntry(
                    id=self.cooperative_id,
                    name=self.cooperative_name,
                    accounting_email=self.alert_accounting_email,
                    entrepreneurs_file=self.entrepreneurs_file,
                    structures=[
                        StructureEntry(
                            siret=siret,
                            piste_app=DEFAULT_APP_ID,
                            login=str(values["CHORUS_ETL_CPRO_LOGIN"] or "unset"),
                            password_from="CHORUS_ETL_CPRO_PASSWORD",  # noqa: S106 - a name
                            deposit_mode=self.deposit_mode(siret),
                            identity=self.supplier_identities.get(siret),
                        )
                        for siret in self.supplier_sirets
                    ],
                )
            ],
        )
        inline = {k: v for k, v in values.items() if isinstance(v, SecretStr)}
        return Accounts(file, inline_secrets=inline, missing=missing)

    def deposit_mode(self, supplier_siret: str) -> DepositMode:
        return self.deposit_modes.get(supplier_siret, DepositMode.PDF)

    @property
    def facturx_sirets(self) -> frozenset[str]:
        """The supplier structures that deposit Factur-X."""
        return frozenset(s for s, m in self.deposit_modes.items() if m is DepositMode.FACTURX)

    def supplier_identity(self, supplier_siret: str) -> SupplierIdentity | None:
        """The configured identity; against the simulator, its seeded structures' by default."""
        configured = self.supplier_identities.get(supplier_siret)
        if configured is not None or self.chorus_env is not ChorusEnv.SIMULATOR:
            return configured
        from chorus_pro.simulator.seed import supplier_by_siret

        seeded = supplier_by_siret(supplier_siret)
        if seeded is None:
            return None
        return SupplierIdentity(
            name=seeded.name,
            address_line=seeded.address.street,
            postcode=seeded.address.postal_code,
            city=seeded.address.city,
            country_code=seeded.address.country,
            iban=seeded.bank_accounts[0].iban if seeded.bank_accounts else None,
        )

    @property
    def api_url(self) -> str:
        return (self.chorus_api_url or DEFAULT_URLS[self.chorus_env][0]).rstrip("/")

    @property
    def oauth_url(self) -> str:
        return self.chorus_oauth_url or DEFAULT_URLS[self.chorus_env][1]

    def credentials(self) -> tuple[str, SecretStr, str, SecretStr]:
        """PISTE client id/secret and technical account; simulator defaults where unset."""
        if self.chorus_env is ChorusEnv.SIMULATOR:
            return (
                self.piste_client_id or SIMULATOR_CLIENT_ID,
                self.piste_client_secret or SecretStr(SIMULATOR_CLIENT_SECRET),
                self.cpro_login or SIMULATOR_LOGIN,
                self.cpro_password or SecretStr(SIMULATOR_PASSWORD),
            )
        values = {
            "CHORUS_ETL_PISTE_CLIENT_ID": self.piste_client_id,
            "CHORUS_ETL_PISTE_CLIENT_SECRET": self.piste_client_secret,
            "CHORUS_ETL_CPRO_LOGIN": self.cpro_login,
            "CHORUS_ETL_CPRO_PASSWORD": self.cpro_password,
        }
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise ValueError(
                f"Chorus Pro environment {self.chorus_env.value!r} needs {', '.join(missing)} "
                "(set them in the environment or in .env)"
            )
        return (
            str(self.piste_client_id),
            SecretStr(
                self.piste_client_secret.get_secret_value() if self.piste_client_secret else ""
            ),
            str(self.cpro_login),
            SecretStr(self.cpro_password.get_secret_value() if self.cpro_password else ""),
        )

    def secret_values(self) -> list[str]:
        """Every configured secret in clear, for the log redaction processor."""
        own = [
            s.get_secret_value()
            for s in (self.piste_client_secret, self.cpro_password)
            if s is not None and s.get_secret_value()
        ]
        extra = self.accounts.secret_values() if self.accounts_file is not None else []
        return own + extra


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Tests and the CLI change the environment; this makes the next call re-read it."""
    get_settings.cache_clear()
