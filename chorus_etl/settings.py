"""Typed settings: every knob of the pipeline, from the environment or a `.env` file.

Settings only read the environment. Who deposits for whom (cooperatives, structures, their
Chorus Pro access, deposit modes, identities) is `chorus_etl.accounts.load_accounts`, which reads
an accounts file, or the single-account variables here as the one-cooperative case. Secrets stay
wrapped in `SecretStr` until the exact moment they are put on the wire. The process's one
instance is `chorus_etl.config.get_settings`, for the flows and the CLI only.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from chorus_etl.values import CooperativeTerms, DepositMode, FacturxStructure, SupplierIdentity

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
    export_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        gt=0,
        description="Largest invoice or entrepreneurs file an ingest reads; a larger one is "
        "refused whole (file.too_large).",
    )
    xlsx_max_uncompressed_bytes: int = Field(
        default=100 * 1024 * 1024,
        gt=0,
        description="What an XLSX may inflate to, by its zip directory; a larger one is refused "
        "before it is opened (file.too_large).",
    )
    caerp_vat_rates: dict[str, Decimal] = Field(
        default_factory=dict,
        description="CAERP exports: VAT name -> rate in percent, for names whose rate is not "
        'written in them (e.g. {"Taux normal": 20}); overrides the defaults.',
    )
    caerp_enseignes: dict[str, str] = Field(
        default_factory=dict,
        description="CAERP exports: Enseigne -> entrepreneur code, for trade names that are not "
        "the entrepreneur's name in the directory.",
    )

    deposit_modes: dict[str, DepositMode] = Field(
        default_factory=dict,
        description="Supplier SIRET -> pdf | facturx; a structure left out deposits PDFs.",
    )
    supplier_identities: dict[str, SupplierIdentity] = Field(
        default_factory=dict,
        description="Supplier SIRET -> its name, address, VAT number and IBAN, for Factur-X.",
    )
    # ==== Factur-X under France's 2026 rules (issue 21) =======================================
    facturx_structures: dict[str, FacturxStructure] = Field(
        default_factory=dict,
        description="Supplier SIRET -> its Factur-X choices (BT-23, routing-code scheme, VAT on "
        "debits); an unlisted structure takes the defaults.",
    )
    cooperative_terms: dict[str, CooperativeTerms] = Field(
        default_factory=dict,
        description="Cooperative id -> its payment terms (recovery fee, late penalties, "
        "discount) written in every Factur-X; an unlisted cooperative takes French defaults.",
    )
    ghostscript_command: str = Field(
        default="gs",
        description="Ghostscript, which makes a PDF that is not PDF/A-3 into one (fonts "
        "embedded, sRGB OutputIntent) before its Factur-X XML is embedded.",
    )
    pdfa_timeout_seconds: float = Field(
        default=60.0, gt=0, description="How long one PDF/A conversion may take."
    )
    # ==== end of the Factur-X block ===========================================================
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
        "seen from another host; renewed before a call to Chorus Pro once half of it has passed, "
        "so half of it must outlast one deposit's calls with their retries.",
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

    # ==== Factur-X under France's 2026 rules (issue 21) =======================================
    def facturx_structure(self, supplier_siret: str) -> FacturxStructure:
        """The structure's Factur-X choices; the defaults for an unlisted one."""
        return self.facturx_structures.get(supplier_siret) or FacturxStructure()

    def terms_of(self, cooperative: str) -> CooperativeTerms:
        """The cooperative's payment terms; the French defaults for an unlisted one."""
        return self.cooperative_terms.get(cooperative) or CooperativeTerms()

    # ==== end of the Factur-X block ===========================================================

    @property
    def api_url(self) -> str:
        return (self.chorus_api_url or DEFAULT_URLS[self.chorus_env][0]).rstrip("/")

    @property
    def oauth_url(self) -> str:
        return self.chorus_oauth_url or DEFAULT_URLS[self.chorus_env][1]

    def secret_values(self) -> list[str]:
        """The secrets set in the environment, in clear, for the log redaction processor (an
        accounts file's are added by `chorus_etl.accounts.load_accounts`)."""
        return [
            s.get_secret_value()
            for s in (self.piste_client_secret, self.cpro_password)
            if s is not None and s.get_secret_value()
        ]
