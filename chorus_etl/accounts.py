"""Who deposits for whom: cooperatives, their supplier structures, and each one's Chorus Pro access.

On Chorus Pro every supplier structure (a SIRET) has its own technical account, created by its
main manager, and a group of cooperatives often runs one PISTE application per legal entity. The
accounts file (TOML, named by `CHORUS_ETL_ACCOUNTS_FILE`) lists them:

    [[piste_apps]]
    id = "antigone"
    client_id = "..."
    client_secret_from = "ANTIGONE_PISTE_SECRET"   # an environment variable or a secrets file
    rate_per_second = 10

    [[cooperatives]]
    id = "cooproduction"
    name = "Cooproduction"
    accounting_email = "compta@cooproduction.example"

    [[cooperatives.structures]]
    siret = "51858054300107"
    piste_app = "antigone"
    login = "TECH_1_antigone@cpro.fr"
    password_from = "ANTIGONE_CPRO_PASSWORD"

The file may sit in git: it holds names of secrets, never secrets. Without a file, the
single-account settings of `Settings` describe one cooperative whose structures share one PISTE
application and one technical account, which is how the pipeline ran before there were several.
`load_accounts(settings)` is the one answer to "who deposits for whom", either way.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from stdnum.fr import siret as stdnum_siret

from chorus_etl.errors import NeedsAction
from chorus_etl.settings import (
    SIMULATOR_CLIENT_ID,
    SIMULATOR_CLIENT_SECRET,
    SIMULATOR_LOGIN,
    SIMULATOR_PASSWORD,
    ChorusEnv,
    Settings,
)
from chorus_etl.values import DepositMode, SupplierIdentity

__all__ = [
    "DEFAULT_APP_ID",
    "Account",
    "AccountGroup",
    "Accounts",
    "AccountsError",
    "AccountsFile",
    "CooperativeEntry",
    "PisteAppEntry",
    "StructureEntry",
    "load_accounts",
    "load_accounts_file",
    "resolve_secret",
]

#: The PISTE application of the single-account settings.
DEFAULT_APP_ID = "default"
#: PISTE publishes no quota: by default only the deposit pacing (`deposit_rate_per_second`)
#: binds, as before there were several applications; set the rate an application was granted.
DEFAULT_RATE_PER_SECOND = 50.0

_SLUG = r"^[a-z0-9][a-z0-9_-]{0,39}$"
#: Keys that would put a secret in the file itself; refused with a pointer to the `_from` form.
_SECRET_KEYS = {"client_secret": "client_secret_from", "password": "password_from"}


class AccountsError(NeedsAction, ValueError):
    """The accounts file is missing, unreadable or invalid; the message says where and why."""


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_secret_inline(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key, instead in _SECRET_KEYS.items():
                if key in data:
                    raise ValueError(
                        f"{key!r} must not be written in the accounts file; name the environment "
                        f"variable or secrets file that holds it with {instead!r}"
                    )
        return data


class PisteAppEntry(_Entry):
    """A PISTE application: one OAuth client, one token, one rate limit shared by its structures."""

    id: str = Field(pattern=_SLUG)
    client_id: str = Field(min_length=1)
    client_secret_from: str = Field(min_length=1, description="Env variable or secrets file name.")
    rate_per_second: float = Field(
        default=DEFAULT_RATE_PER_SECOND,
        gt=0,
        description="Requests per second this application may send, across every worker.",
    )


class StructureEntry(_Entry):
    """A supplier structure (SIRET) and the technical account that deposits for it."""

    siret: str
    name: str | None = None
    piste_app: str = Field(pattern=_SLUG)
    login: str = Field(min_length=1, description="Technical account, TECH_n_...@cpro.fr.")
    password_from: str = Field(min_length=1)
    deposit_mode: DepositMode = DepositMode.PDF
    identity: SupplierIdentity | None = None

    @model_validator(mode="after")
    def _siret_is_valid(self) -> StructureEntry:
        if not (len(self.siret) == 14 and stdnum_siret.is_valid(self.siret)):
            raise ValueError(f"siret {self.siret!r} is not a valid SIRET (14 digits, Luhn key)")
        return self


class CooperativeEntry(_Entry):
    """A cooperative: its structures, and where its accounting reads alerts."""

    id: str = Field(pattern=_SLUG, description="Short stable key stored on every warehouse row.")
    name: str = Field(min_length=1)
    accounting_email: str = Field(min_length=3)
    entrepreneurs_file: Path | None = Field(
        default=None, description="Its directory of entrepreneurs; the global one if unset."
    )
    structures: list[StructureEntry] = Field(min_length=1)


class AccountsFile(BaseModel):
    """The whole file, cross-checked: unique ids and SIRETs, every `piste_app` declared."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    piste_apps: list[PisteAppEntry] = Field(min_length=1)
    cooperatives: list[CooperativeEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _cross_checks(self) -> AccountsFile:
        _unique("piste_apps id", (a.id for a in self.piste_apps))
        _unique("piste_apps client_id", (a.client_id for a in self.piste_apps))
        _unique("cooperatives id", (c.id for c in self.cooperatives))
        structures = [s for c in self.cooperatives for s in c.structures]
        _unique("structure siret", (s.siret for s in structures))
        owners: dict[str, str] = {}
        for cooperative in self.cooperatives:
            for structure in cooperative.structures:
                owner = owners.setdefault(structure.login, cooperative.id)
                if owner != cooperative.id:
                    raise ValueError(
                        f"technical account {structure.login!r} is used by cooperatives {owner!r} "
                        f"and {cooperative.id!r}: each cooperative has its own accounts"
                    )
        apps = {a.id for a in self.piste_apps}
        for structure in structures:
            if structure.piste_app not in apps:
                raise ValueError(
                    f"structure {structure.siret} names piste_app {structure.piste_app!r}, "
                    f"which is not declared (declared: {', '.join(sorted(apps))})"
                )
        return self


def _unique(what: str, values: Iterable[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} appears twice")
        seen.add(value)


def load_accounts_file(path: Path) -> AccountsFile:
    """Parses and validates the file; every problem becomes one `AccountsError` naming the file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccountsError(f"accounts file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AccountsError(f"accounts file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AccountsError(f"accounts file {path} is not valid TOML: {exc}") from None
    try:
        return AccountsFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(file)'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise AccountsError(f"accounts file {path} is invalid: {problems}") from None


def resolve_secret(name: str, secrets_dir: Path | None) -> SecretStr:
    """The secret called `name`: an environment variable, else a file of that name in `secrets_dir`
    (the Docker/Kubernetes secrets convention). Raises `AccountsError` naming, never showing, it."""
    value = os.environ.get(name)
    if value:
        return SecretStr(value)
    if secrets_dir is not None:
        path = secrets_dir / name
        if path.is_file():
            content = path.read_text(encoding="utf-8").strip()
            if content:
                return SecretStr(content)
    where = f"nor a file in {secrets_dir}" if secrets_dir is not None else "(no secrets_dir set)"
    raise AccountsError(f"secret {name!r} is neither set in the environment {where}")


@dataclass(frozen=True)
class Account:
    """Everything needed to talk to Chorus Pro for one structure; secrets stay `SecretStr`."""

    cooperative: str
    siret: str
    name: str | None
    app_id: str
    client_id: str
    client_secret: SecretStr
    rate_per_second: float
    login: str
    password: SecretStr
    deposit_mode: DepositMode

    @property
    def account_key(self) -> tuple[str, str]:
        """Structures sharing this key share a client: same application, same technical account."""
        return (self.app_id, self.login)


@dataclass(frozen=True)
class AccountGroup:
    """Structures one technical account of one PISTE application deposits for.

    A run works group by group: a refused account stops its group and no other, and the group's
    structures share one client, one supplier-structure listing and one cooperative's accounting.
    """

    cooperative: str
    app_id: str
    login: str
    sirets: tuple[str, ...]


@dataclass(frozen=True)
class _Structure:
    cooperative: str
    entry: StructureEntry


class Accounts:
    """The resolved configuration: lookups by SIRET and cooperative, secrets read on demand.

    Secrets are resolved when an account is asked for, not when the file is loaded, so that one
    structure's missing password stops that structure (and `doctor` names it) and no other.
    """

    def __init__(
        self,
        file: AccountsFile,
        *,
        secrets_dir: Path | None = None,
        inline_secrets: Mapping[str, SecretStr] | None = None,
        missing: Iterable[str] = (),
        identity_overrides: Mapping[str, SupplierIdentity] | None = None,
    ) -> None:
        self.file = file
        self._identity_overrides = dict(identity_overrides or {})
        self._missing = sorted(missing)
        self._secrets_dir = secrets_dir
        self._inline = dict(inline_secrets or {})
        self._apps = {a.id: a for a in file.piste_apps}
        self._cooperatives = {c.id: c for c in file.cooperatives}
        self._structures = {
            s.siret: _Structure(c.id, s) for c in file.cooperatives for s in c.structures
        }

    def __repr__(self) -> str:
        return (
            f"<Accounts cooperatives={list(self._cooperatives)} structures={len(self._structures)}>"
        )

    @property
    def cooperatives(self) -> list[CooperativeEntry]:
        return list(self.file.cooperatives)

    @property
    def piste_apps(self) -> list[PisteAppEntry]:
        return list(self.file.piste_apps)

    def cooperative(self, cooperative_id: str) -> CooperativeEntry:
        try:
            return self._cooperatives[cooperative_id]
        except KeyError:
            known = ", ".join(self._cooperatives)
            raise AccountsError(
                f"unknown cooperative {cooperative_id!r} (known: {known})"
            ) from None

    def sirets(self, cooperative: str | None = None) -> list[str]:
        """Every structure's SIRET, or one cooperative's, in file order."""
        if cooperative is not None:
            return [s.siret for s in self.cooperative(cooperative).structures]
        return list(self._structures)

    def cooperative_of(self, siret: str) -> str | None:
        found = self._structures.get(siret)
        return found.cooperative if found is not None else None

    def sole_cooperative(self, sirets: Iterable[str] | None) -> str | None:
        """The one cooperative these structures belong to; None for none given, or several."""
        if not sirets:
            return None
        owners = {self.cooperative_of(s) for s in sirets}
        return owners.pop() if len(owners) == 1 else None

    def accounting_email(self, siret: str) -> str:
        """Where the accounting of the structure's cooperative reads alerts."""
        found = self._structures.get(siret)
        if found is None:
            raise AccountsError(f"structure {siret} is in no cooperative of the accounts file")
        return self._cooperatives[found.cooperative].accounting_email

    def structure(self, siret: str) -> StructureEntry:
        found = self._structures.get(siret)
        if found is None:
            raise AccountsError(f"structure {siret} is in no cooperative of the accounts file")
        return found.entry

    def app(self, app_id: str) -> PisteAppEntry:
        return self._apps[app_id]

    def app_of(self, siret: str) -> PisteAppEntry:
        return self._apps[self.structure(siret).piste_app]

    def account(self, siret: str) -> Account:
        """The structure's credentials; `AccountsError` if one of its secrets cannot be found."""
        found = self._structures.get(siret)
        if found is None:
            raise AccountsError(f"structure {siret} is in no cooperative of the accounts file")
        if self._missing:
            raise AccountsError(
                f"Chorus Pro access needs {', '.join(self._missing)} "
                "(set them in the environment or in .env)"
            )
        entry = found.entry
        app = self._apps[entry.piste_app]
        return Account(
            cooperative=found.cooperative,
            siret=siret,
            name=entry.name,
            app_id=app.id,
            client_id=app.client_id,
            client_secret=self._secret(app.client_secret_from),
            rate_per_second=app.rate_per_second,
            login=entry.login,
            password=self._secret(entry.password_from),
            deposit_mode=entry.deposit_mode,
        )

    def deposit_mode(self, siret: str) -> DepositMode:
        """How the structure deposits; a structure in no cooperative deposits PDFs."""
        found = self._structures.get(siret)
        return found.entry.deposit_mode if found is not None else DepositMode.PDF

    def facturx_sirets(self) -> frozenset[str]:
        """The structures that deposit Factur-X."""
        return frozenset(
            siret
            for siret, found in self._structures.items()
            if found.entry.deposit_mode is DepositMode.FACTURX
        )

    def deposit_modes(self) -> dict[str, DepositMode]:
        return {siret: found.entry.deposit_mode for siret, found in self._structures.items()}

    def identity(self, siret: str) -> SupplierIdentity | None:
        """The structure's seller identity for a Factur-X, if configured."""
        if siret in self._identity_overrides:
            return self._identity_overrides[siret]
        found = self._structures.get(siret)
        return found.entry.identity if found is not None else None

    def groups(self, sirets: Iterable[str] | None = None) -> list[AccountGroup]:
        """The structures (all, or those of `sirets` that are configured) by technical account."""
        wanted = None if sirets is None else set(sirets)
        grouped: dict[tuple[str, str, str], list[str]] = {}
        for siret, found in self._structures.items():
            if wanted is not None and siret not in wanted:
                continue
            key = (found.cooperative, found.entry.piste_app, found.entry.login)
            grouped.setdefault(key, []).append(siret)
        return [AccountGroup(c, a, lg, tuple(s)) for (c, a, lg), s in grouped.items()]

    def secret_values(self) -> list[str]:
        """Every secret that resolves, in clear, for the log redaction processor."""
        names = {a.client_secret_from for a in self.file.piste_apps} | {
            s.entry.password_from for s in self._structures.values()
        }
        values = []
        for name in sorted(names):
            try:
                values.append(self._secret(name).get_secret_value())
            except AccountsError:
                continue
        return values

    def _secret(self, name: str) -> SecretStr:
        inline = self._inline.get(name)
        if inline is not None:
            return inline
        return resolve_secret(name, self._secrets_dir)


#: Loaded accounts by settings object: a run loads them once, whoever asks (bounded, and checked
#: by identity, so a new settings object (a test, a changed environment) loads them anew, as the
#: settings themselves are read once per process).
_LOADED: dict[int, tuple[Settings, Accounts]] = {}
_LOADED_MAX = 8


def load_accounts(settings: Settings) -> Accounts:
    """Who deposits for whom: the accounts file, or the single-account settings as its
    one-cooperative case. Cached per settings object: asked per invoice, it reads nothing."""
    cached = _LOADED.get(id(settings))
    if cached is not None and cached[0] is settings:
        return cached[1]
    if settings.accounts_file is not None:
        accounts = Accounts(
            load_accounts_file(settings.accounts_file),
            secrets_dir=settings.secrets_dir,
            identity_overrides=settings.supplier_identities,
        )
    else:
        accounts = _single_account(settings)
    if len(_LOADED) >= _LOADED_MAX:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[id(settings)] = (settings, accounts)
    return accounts


def _single_account(settings: Settings) -> Accounts:
    """The flat `CHORUS_ETL_PISTE_*` / `CPRO_*` variables as one cooperative's accounts; against
    the simulator, its default credentials where unset."""
    simulator = settings.chorus_env is ChorusEnv.SIMULATOR
    values: dict[str, str | SecretStr | None] = {
        "CHORUS_ETL_PISTE_CLIENT_ID": settings.piste_client_id
        or (SIMULATOR_CLIENT_ID if simulator else None),
        "CHORUS_ETL_PISTE_CLIENT_SECRET": settings.piste_client_secret
        or (SecretStr(SIMULATOR_CLIENT_SECRET) if simulator else None),
        "CHORUS_ETL_CPRO_LOGIN": settings.cpro_login or (SIMULATOR_LOGIN if simulator else None),
        "CHORUS_ETL_CPRO_PASSWORD": settings.cpro_password
        or (SecretStr(SIMULATOR_PASSWORD) if simulator else None),
    }
    missing = [name for name, value in values.items() if not value]
    file = AccountsFile(
        piste_apps=[
            PisteAppEntry(
                id=DEFAULT_APP_ID,
                client_id=str(values["CHORUS_ETL_PISTE_CLIENT_ID"] or "unset"),
                client_secret_from="CHORUS_ETL_PISTE_CLIENT_SECRET",  # noqa: S106 - a name
                rate_per_second=settings.piste_rate_per_second,
            )
        ],
        cooperatives=[
            CooperativeEntry(
                id=settings.cooperative_id,
                name=settings.cooperative_name,
                accounting_email=settings.alert_accounting_email,
                entrepreneurs_file=settings.entrepreneurs_file,
                structures=[
                    StructureEntry(
                        siret=siret,
                        piste_app=DEFAULT_APP_ID,
                        login=str(values["CHORUS_ETL_CPRO_LOGIN"] or "unset"),
                        password_from="CHORUS_ETL_CPRO_PASSWORD",  # noqa: S106 - a name
                        deposit_mode=settings.deposit_modes.get(siret, DepositMode.PDF),
                        identity=settings.supplier_identities.get(siret)
                        or (_simulator_identity(siret) if simulator else None),
                    )
                    for siret in settings.supplier_sirets
                ],
            )
        ],
    )
    inline = {k: v for k, v in values.items() if isinstance(v, SecretStr)}
    return Accounts(file, inline_secrets=inline, missing=missing)


def _simulator_identity(siret: str) -> SupplierIdentity | None:
    """Against the simulator, its seeded structures' identity, so that the demo needs none."""
    from chorus_pro.simulator.seed import supplier_by_siret

    seeded = supplier_by_siret(siret)
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
