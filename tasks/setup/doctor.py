"""`chorus-etl doctor`: check a real Chorus Pro setup the way the cooperative's guide walks it.

A deposit run that fails on its first call says little more than "401" or "403", and the person
who can fix it is the cooperative's accountant, not a developer. The doctor therefore walks the
set-up in the order it is built (settings, PISTE application, technical account, API
subscriptions, attachment to the structures, entrepreneurs' services, bank details, password
expiry, then the buyer directory the ingest asks, then Ghostscript on this machine for the
Factur-X) and turns each failure into what to do and where: the PISTE portal, a Chorus Pro portal
menu, or the package to install. A check whose premise an earlier one disproved is reported SKIPPED with the reason, so the
first FAIL is the one to fix.

Plain functions, no Prefect and no warehouse: the doctor must work on a machine where nothing else
is set up yet. It only reads; it never deposits or changes anything on Chorus Pro.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

import httpx
from pydantic import ValidationError

from chorus_etl.accounts import Account, AccountsError, load_accounts
from chorus_etl.chorus_client import chorus_pro_config
from chorus_etl.settings import ANTIGONE_SIRET, ARTENREEL_SIRET, DEFAULT_URLS, Settings
from chorus_pro.api import ChorusProApi
from chorus_pro.client import ChorusProClient
from chorus_pro.errors import (
    AuthenticationError,
    BusinessError,
    ChorusProError,
    ForbiddenError,
    TransientError,
)
from schemas.payloads import CHORUS_TIMEZONE, SupplierStructure, parse_chorus_date
from tasks.facturx import Ghostscript, GhostscriptMissing
from tasks.ingest.directory import fetch_buyer
from tasks.ingest.extract import read_entrepreneurs
from tasks.ingest.file_checks import FileLimits

__all__ = [
    "CHECKS",
    "CheckResult",
    "Status",
    "check_configuration",
    "check_ghostscript",
    "check_token",
    "password_verdict",
    "run_checks",
    "run_remote_checks",
]


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"
    SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class CheckResult:
    """One line of the diagnosis; `remedy` is empty when there is nothing to do."""

    check: str
    status: Status
    detail: str
    remedy: str = ""
    #: Which cooperative and structures the check was made for; empty with a single account.
    scope: str = ""

    def as_dict(self) -> dict[str, str]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


CONFIGURATION = "configuration"
PISTE_TOKEN = "piste_token"  # noqa: S105 - a check name, not a secret
TECHNICAL_ACCOUNT = "technical_account"
API_SUBSCRIPTIONS = "api_subscriptions"
STRUCTURE_ATTACHMENT = "structure_attachment"
ENTREPRENEUR_SERVICES = "entrepreneur_services"
BANK_DETAILS = "bank_details"
PASSWORD_EXPIRY = "password_expiry"  # noqa: S105 - a check name, not a secret
BUYER_DIRECTORY = "buyer_directory"
GHOSTSCRIPT = "ghostscript"

#: Every check, in the order it runs and is printed.
CHECKS = (
    CONFIGURATION,
    PISTE_TOKEN,
    TECHNICAL_ACCOUNT,
    API_SUBSCRIPTIONS,
    STRUCTURE_ATTACHMENT,
    ENTREPRENEUR_SERVICES,
    BANK_DETAILS,
    PASSWORD_EXPIRY,
    BUYER_DIRECTORY,
    GHOSTSCRIPT,
)
#: The last check that asks Chorus Pro: those after it run on this machine alone.
LAST_REMOTE = BUYER_DIRECTORY

#: The Chorus Pro APIs the pipeline calls; each is a separate subscription on PISTE.
APIS = ("factures", "structures", "transverses")

#: A diagnosis should answer within seconds: the pipeline's retry budget is for unattended runs.
DOCTOR_MAX_RETRIES = 2

#: How the guide names the cooperative's structures; other SIRETs are shown bare.
KNOWN_STRUCTURES = {ANTIGONE_SIRET: "Antigone", ARTENREEL_SIRET: "Artenréel"}

MANAGER_SPACE = "« Activités du gestionnaire »"
CPRO_PASSWORD_REMEDY = (
    "the structure's main manager (gestionnaire principal) logs into the Chorus Pro portal, "
    f"opens {MANAGER_SPACE}, chooses the structure, clicks the technical user in the list of "
    "users and resets its password; then put the new password in CHORUS_ETL_CPRO_PASSWORD."
)


def _label(siret: str) -> str:
    name = KNOWN_STRUCTURES.get(siret)
    return f"{siret} ({name})" if name else siret


def _skipped(check: str, why: str) -> CheckResult:
    return CheckResult(check, Status.SKIPPED, f"not checked: {why}")


def _skip_from(first: str, why: str, last: str = CHECKS[-1]) -> list[CheckResult]:
    """SKIPPED results for `first` and every check after it, up to `last`."""
    return [_skipped(name, why) for name in CHECKS[CHECKS.index(first) : CHECKS.index(last) + 1]]


# --- 1. configuration --------------------------------------------------------------------------


def check_configuration(settings: Settings | None) -> tuple[Settings | None, CheckResult]:
    """Loads the settings (unless given) and checks that the environment has its credentials.

    Returns the settings only when the remote checks can use them.
    """
    try:
        loaded = settings if settings is not None else Settings()
    except ValidationError as exc:
        fields = "; ".join(
            f"CHORUS_ETL_{'_'.join(str(p) for p in error['loc']).upper()}: {error['msg']}"
            if error["loc"]
            else str(error["msg"])
            for error in exc.errors(include_url=False, include_input=False)
        )
        return None, CheckResult(
            CONFIGURATION,
            Status.FAIL,
            f"the settings cannot be read: {fields}",
            "Fix these variables in the environment or in the .env file (see .env.example).",
        )
    except ValueError as exc:
        return None, CheckResult(
            CONFIGURATION,
            Status.FAIL,
            f"the settings cannot be read: {exc}",
            "Fix this variable in the environment or in the .env file (see .env.example).",
        )
    try:
        login = _account(loaded).login
    except (AccountsError, IndexError) as exc:
        return None, CheckResult(
            CONFIGURATION,
            Status.FAIL,
            str(exc),
            "Set the missing variables in the environment or in the .env file: the PISTE client "
            "id and secret come from the PISTE application's 'OAuth Credentials' tab, the "
            "technical account login and password from the structure's main manager on the "
            "Chorus Pro portal.",
        )
    env = loaded.chorus_env.value
    return loaded, CheckResult(
        CONFIGURATION,
        Status.OK,
        f"{env} environment, API {loaded.api_url}, technical account {login}; credentials set",
    )


def _account(settings: Settings) -> Account:
    """The technical account the checks use: the first structure's (one per doctor scope)."""
    accounts = load_accounts(settings)
    return accounts.account(accounts.sirets()[0])


# --- 2. PISTE token ----------------------------------------------------------------------------


def check_token(settings: Settings) -> CheckResult:
    """Asks PISTE for a token with the client credentials, apart from the technical account.

    A request of its own rather than the client's token cache: the doctor needs to tell an
    unreachable host, a wrong URL and refused credentials apart, which the client folds into
    one exception.
    """
    account = _account(settings)
    client_id, secret = account.client_id, account.client_secret.get_secret_value()
    env = settings.chorus_env
    url = settings.oauth_url
    expected_url = DEFAULT_URLS[env][1]
    url_remedy = (
        f"Check the token URL: the {env.value} environment uses {expected_url} "
        "(CHORUS_ETL_CHORUS_ENV chooses it; CHORUS_ETL_CHORUS_OAUTH_URL overrides it)."
    )
    timeout = httpx.Timeout(
        settings.http_timeout_seconds, connect=min(10.0, settings.http_timeout_seconds)
    )
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "scope": "openid",
    }
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as http:
            response = http.post(url, data=form)
    except httpx.TransportError as exc:
        return CheckResult(
            PISTE_TOKEN,
            Status.FAIL,
            f"cannot reach the PISTE token URL {url}: {type(exc).__name__}: {exc}",
            "Check that this machine can reach PISTE (network, proxy: HTTPS_PROXY, firewall). "
            + url_remedy,
        )

    body: object = None
    try:
        body = response.json()
    except ValueError:
        body = None
    answer = body if isinstance(body, dict) else {}
    error = _mask(str(answer.get("error") or ""), secret)
    description = _mask(str(answer.get("error_description") or ""), secret)
    status = response.status_code

    if status == 200 and isinstance(answer.get("access_token"), str) and answer["access_token"]:
        return CheckResult(PISTE_TOKEN, Status.OK, f"PISTE issued a token ({url})")
    if status == 200:
        return CheckResult(
            PISTE_TOKEN,
            Status.FAIL,
            f"{url} answered HTTP 200 without a token: it is not a PISTE token endpoint",
            url_remedy,
        )
    if status in (400, 401) and (error == "invalid_client" or status == 401):
        return CheckResult(
            PISTE_TOKEN,
            Status.FAIL,
            f"PISTE refused the client id and secret (HTTP {status}"
            + (f", {error}" if error else "")
            + ")",
            "The PISTE client id or secret is wrong: copy them from the PISTE application's "
            "'OAuth Credentials' tab (not 'API Keys') into CHORUS_ETL_PISTE_CLIENT_ID and "
            f"CHORUS_ETL_PISTE_CLIENT_SECRET, from the application of the {env.value} "
            "environment (sandbox and production applications have different credentials).",
        )
    if status == 429 or status >= 500:
        return CheckResult(
            PISTE_TOKEN,
            Status.FAIL,
            f"PISTE is unavailable (HTTP {status})",
            "Try again later; nothing is wrong with the set-up as far as this check can tell.",
        )
    detail = f"unexpected answer from the PISTE token URL {url}: HTTP {status}"
    if error or description:
        detail += f" ({': '.join(p for p in (error, description) if p)})"
    return CheckResult(PISTE_TOKEN, Status.FAIL, detail, url_remedy)


def _mask(text: str, secret: str) -> str:
    return text.replace(secret, "***") if len(secret) >= 4 else text


# --- 3 to 8: calls with the technical account --------------------------------------------------


@dataclass
class _RemoteChecks:
    """Checks 3 to 8, sharing what earlier calls learnt so each API is asked once for it."""

    settings: Settings
    api: ChorusProApi
    today: date
    login: str
    elsewhere: frozenset[str] = frozenset()
    probes: dict[str, ChorusProError | None] = field(default_factory=dict)
    suppliers: list[SupplierStructure] | None = None
    attached: dict[str, SupplierStructure] = field(default_factory=dict)
    attachment_known: bool = False

    def run(self) -> list[CheckResult]:
        account = self.technical_account()
        if account.status is Status.FAIL:
            return [
                account,
                *_skip_from(API_SUBSCRIPTIONS, "the technical account is refused", LAST_REMOTE),
            ]
        return [
            account,
            self.subscriptions(),
            self.attachment(),
            self.entrepreneur_services(),
            self.bank_details(),
            self.password_expiry(),
            self.buyer_directory(),
        ]

    # -- probes ---------------------------------------------------------------------------------

    def _probe(self, api: str) -> ChorusProError | None:
        """One cheap read on `api`; None when the gateway let it through.

        A business refusal still proves the route is open and the account accepted, so it
        counts as a pass here; the check that needs the answer asks again.
        """
        if api not in self.probes:
            try:
                if api == "transverses":
                    self.suppliers = self.api.supplier_structures()
                elif api == "structures":
                    siret = next(iter(load_accounts(self.settings).sirets()), ANTIGONE_SIRET)
                    self.api.search_structures(siret)
                else:
                    self.api.search_invoices(page_size=1)
            except BusinessError:
                self.probes[api] = None
            except ChorusProError as exc:
                self.probes[api] = exc
            else:
                self.probes[api] = None
        return self.probes[api]

    def _available(self, api: str) -> bool:
        return self._probe(api) is None

    def _missing_api(self, *apis: str) -> str | None:
        """Why a check cannot run, if one of the APIs it needs did not answer."""
        down = [api.capitalize() for api in apis if not self._available(api)]
        if not down:
            return None
        return f"needs the Chorus Pro {', '.join(down)} API (see {API_SUBSCRIPTIONS})"

    # -- 3 --------------------------------------------------------------------------------------

    def technical_account(self) -> CheckResult:
        """The first API that is not closed by a 403 tells whether `cpro-account` is accepted."""
        for api in ("transverses", "structures", "factures"):
            error = self._probe(api)
            if error is None:
                return CheckResult(
                    TECHNICAL_ACCOUNT,
                    Status.OK,
                    f"Chorus Pro accepted the technical account {self.login}",
                )
            if not isinstance(error, ForbiddenError):
                return self._account_failure(error)
        return _skipped(
            TECHNICAL_ACCOUNT,
            f"every Chorus Pro API answered 403 (see {API_SUBSCRIPTIONS})",
        )

    def _account_failure(self, error: ChorusProError) -> CheckResult:
        if isinstance(error, AuthenticationError) and error.technical_account_refused:
            return CheckResult(
                TECHNICAL_ACCOUNT,
                Status.FAIL,
                f"PISTE refused the technical account {self.login}: login or password "
                "incorrect, or the password has expired (it must be changed every 424 days)",
                "Check CHORUS_ETL_CPRO_LOGIN and CHORUS_ETL_CPRO_PASSWORD. If they are right, "
                "the password has expired, and " + CPRO_PASSWORD_REMEDY,
            )
        if isinstance(error, AuthenticationError):
            return CheckResult(
                TECHNICAL_ACCOUNT,
                Status.FAIL,
                f"PISTE refused the call even with a fresh token: {error}",
                "Check that the API URL and the token URL belong to the same environment "
                f"(CHORUS_ETL_CHORUS_ENV is {self.settings.chorus_env.value}; "
                "CHORUS_ETL_CHORUS_API_URL and CHORUS_ETL_CHORUS_OAUTH_URL override it).",
            )
        return CheckResult(TECHNICAL_ACCOUNT, Status.FAIL, str(error), self._call_remedy(error))

    def _call_remedy(self, error: ChorusProError) -> str:
        if isinstance(error, TransientError):
            return (
                "Chorus Pro did not answer: try again later. If it persists, check that this "
                f"machine can reach {self.settings.api_url} (network, proxy, firewall)."
            )
        expected = DEFAULT_URLS[self.settings.chorus_env][0]
        return (
            f"Check the API URL: the {self.settings.chorus_env.value} environment uses "
            f"{expected} (CHORUS_ETL_CHORUS_API_URL overrides it)."
        )

    # -- 4 --------------------------------------------------------------------------------------

    def subscriptions(self) -> CheckResult:
        refused = [api for api in APIS if isinstance(self._probe(api), ForbiddenError)]
        failed = {
            api: error
            for api in APIS
            if (error := self._probe(api)) is not None and not isinstance(error, ForbiddenError)
        }
        names = ", ".join(api.capitalize() for api in APIS)
        if not refused and not failed:
            return CheckResult(
                API_SUBSCRIPTIONS, Status.OK, f"the PISTE application may call {names}"
            )
        parts = []
        remedies = []
        if refused:
            listed = ", ".join(api.capitalize() for api in refused)
            env = self.settings.chorus_env.value
            parts.append(f"PISTE refused (HTTP 403) the Chorus Pro API {listed}")
            remedies.append(
                f"Subscribe the PISTE application to the Chorus Pro API {listed} in the PISTE "
                "portal (piste.gouv.fr: accept its terms of use and select it in the "
                "application), and check you use the matching environment: sandbox vs "
                f"production (this set-up: {env})."
            )
        for api, error in failed.items():
            parts.append(f"{api.capitalize()}: {error}")
            remedies.append(self._call_remedy(error))
        return CheckResult(
            API_SUBSCRIPTIONS, Status.FAIL, "; ".join(parts), " ".join(dict.fromkeys(remedies))
        )

    # -- 5 --------------------------------------------------------------------------------------

    def attachment(self) -> CheckResult:
        why = self._missing_api("transverses")
        if why:
            return _skipped(STRUCTURE_ATTACHMENT, why)
        configured = list(load_accounts(self.settings).sirets())
        if not configured:
            return CheckResult(
                STRUCTURE_ATTACHMENT,
                Status.FAIL,
                "no supplier structure is configured",
                "Set CHORUS_ETL_SUPPLIER_SIRETS to the SIRETs of the cooperative's structures, "
                f'as a JSON list: ["{ANTIGONE_SIRET}", "{ARTENREEL_SIRET}"].',
            )
        try:
            suppliers = (
                self.suppliers if self.suppliers is not None else self.api.supplier_structures()
            )
        except ChorusProError as exc:
            return CheckResult(STRUCTURE_ATTACHMENT, Status.FAIL, str(exc), self._call_remedy(exc))
        by_siret = {s.identifiant: s for s in suppliers if s.identifiant}
        self.attached = {siret: by_siret[siret] for siret in configured if siret in by_siret}
        self.attachment_known = True
        missing = [siret for siret in configured if siret not in by_siret]
        if missing:
            listed = ", ".join(_label(s) for s in missing)
            return CheckResult(
                STRUCTURE_ATTACHMENT,
                Status.FAIL,
                f"the technical account {self.login} is not attached to {listed}",
                "In the Chorus Pro portal, the structure's main manager must attach the "
                f"technical account (raccordement) to SIRET {', '.join(missing)}: "
                f"{MANAGER_SPACE}, the structure, then add the technical user {self.login}. "
                "If the SIRET itself is wrong, fix CHORUS_ETL_SUPPLIER_SIRETS.",
            )
        listed = ", ".join(_label(s) for s in configured)
        return CheckResult(
            STRUCTURE_ATTACHMENT,
            Status.OK,
            f"the technical account is attached to {listed}",
        )

    def _attached_or_why(self, *apis: str) -> str | None:
        """Why a per-structure check cannot run: an API is closed or no structure is attached."""
        why = self._missing_api(*apis)
        if why:
            return why
        if not self.attachment_known:
            return f"the attached structures are unknown (see {STRUCTURE_ATTACHMENT})"
        if not self.attached:
            return f"no configured structure is attached (see {STRUCTURE_ATTACHMENT})"
        return None

    # -- 6 --------------------------------------------------------------------------------------

    def entrepreneur_services(self) -> CheckResult:
        path = self.settings.entrepreneurs_file
        if not path.is_file():
            return CheckResult(
                ENTREPRENEUR_SERVICES,
                Status.WARN,
                f"no directory of entrepreneurs at {path.resolve()}",
                "Put the directory file there (entrepreneurs.csv or .xlsx, columns "
                "entrepreneur_code, name, email, supplier_siret), or set "
                "CHORUS_ETL_ENTREPRENEURS_FILE to where it is.",
            )
        table = read_entrepreneurs(path, FileLimits.of(self.settings))
        if table.reasons:
            return CheckResult(
                ENTREPRENEUR_SERVICES,
                Status.FAIL,
                "; ".join(reason.message_en for reason in table.reasons),
                f"Fix the directory file {path}.",
            )
        rows = [
            (str(row["entrepreneur_code"]).strip(), "".join(str(row["supplier_siret"]).split()))
            for _index, row in table.frame.iterrows()
        ]
        if not rows:
            return CheckResult(
                ENTREPRENEUR_SERVICES,
                Status.WARN,
                f"the directory {path} lists no entrepreneur",
                f"Fill in the directory file {path}: one line per entrepreneur.",
            )
        why = self._attached_or_why("transverses", "structures")
        if why:
            return _skipped(ENTREPRENEUR_SERVICES, why)
        return self._judge_services(path, rows)

    def _judge_services(self, path: Path, rows: list[tuple[str, str]]) -> CheckResult:
        services: dict[str, dict[str, bool]] = {}
        for siret, structure in self.attached.items():
            try:
                found = self.api.list_services(structure.idStructureCPP)
            except ChorusProError as exc:
                return CheckResult(
                    ENTREPRENEUR_SERVICES,
                    Status.FAIL,
                    f"cannot list the services of {_label(siret)}: {exc}",
                    self._call_remedy(exc),
                )
            services[siret] = {s.codeService: s.estActif for s in found}

        configured = set(load_accounts(self.settings).sirets())
        # With several accounts, each is checked on its own: the others' entrepreneurs are theirs.
        rows = [(code, siret) for code, siret in rows if siret not in self.elsewhere]
        # (what is wrong, where) -> entrepreneur codes, so a long directory reads as a few groups.
        problems: dict[tuple[str, str], list[str]] = {}
        wrong_structure: list[str] = []
        unchecked: list[str] = []
        for code, siret in rows:
            shown = code or "(no code)"
            if siret not in configured:
                wrong_structure.append(f"{shown} ({siret or 'no SIRET'})")
            elif siret not in services:
                unchecked.append(shown)
            elif code not in services[siret]:
                problems.setdefault(("no such service", siret), []).append(shown)
            elif not services[siret][code]:
                problems.setdefault(("inactive service", siret), []).append(shown)

        details = [
            f"{kind} on {_label(siret)}: {', '.join(codes)}"
            for (kind, siret), codes in problems.items()
        ]
        remedies: list[str] = []
        if problems:
            remedies.append(
                "The accounting service must create or reactivate each service in Chorus Pro "
                f"({MANAGER_SPACE}, the structure's services) and attach the entrepreneur to it "
                f"('maille service', « Mes rattachements »); or fix the code in {path}."
            )
        if wrong_structure:
            details.append(
                "supplier SIRET not one of the cooperative's structures: "
                + ", ".join(wrong_structure)
            )
            remedies.append(
                f"Fix supplier_siret in {path} (Antigone {ANTIGONE_SIRET}, Artenréel "
                f"{ARTENREEL_SIRET}), or add the SIRET to CHORUS_ETL_SUPPLIER_SIRETS."
            )
        if details:
            if unchecked:
                details.append(f"not checked (structure not attached): {', '.join(unchecked)}")
            return CheckResult(
                ENTREPRENEUR_SERVICES, Status.FAIL, "; ".join(details), " ".join(remedies)
            )
        checked = len(rows) - len(unchecked)
        if unchecked:
            return CheckResult(
                ENTREPRENEUR_SERVICES,
                Status.WARN,
                f"{checked} entrepreneurs have an active service; not checked because their "
                f"structure is not attached: {', '.join(unchecked)}",
                f"Attach the technical account to their structure first (see {STRUCTURE_ATTACHMENT}).",
            )
        return CheckResult(
            ENTREPRENEUR_SERVICES,
            Status.OK,
            f"all {checked} entrepreneurs of {path.name} have an active service on their structure",
        )

    # -- 7 --------------------------------------------------------------------------------------

    def bank_details(self) -> CheckResult:
        why = self._attached_or_why("transverses")
        if why:
            return _skipped(BANK_DETAILS, why)
        without: list[str] = []
        for siret, structure in self.attached.items():
            try:
                accounts = self.api.bank_accounts(structure.idStructureCPP)
            except BusinessError:
                accounts = []
            except ChorusProError as exc:
                return CheckResult(
                    BANK_DETAILS,
                    Status.FAIL,
                    f"cannot read the bank details of {_label(siret)}: {exc}",
                    self._call_remedy(exc),
                )
            if not accounts:
                without.append(siret)
        if without:
            return CheckResult(
                BANK_DETAILS,
                Status.FAIL,
                f"no valid bank details on {', '.join(_label(s) for s in without)}",
                "In the Chorus Pro portal, the structure's main manager opens "
                f"{MANAGER_SPACE} > « Mes structures », edits the structure of SIRET "
                f"{', '.join(without)} (pencil) and adds its bank details "
                "(« Coordonnées bancaires »).",
            )
        listed = ", ".join(_label(s) for s in self.attached)
        return CheckResult(BANK_DETAILS, Status.OK, f"bank details found for {listed}")

    # -- 8 --------------------------------------------------------------------------------------

    def password_expiry(self) -> CheckResult:
        why = self._attached_or_why("structures")
        if why:
            return _skipped(PASSWORD_EXPIRY, why)
        for structure in self.attached.values():
            try:
                general = self.api.get_structure(structure.idStructureCPP).informationGenerales
            except ChorusProError as exc:
                return CheckResult(
                    PASSWORD_EXPIRY,
                    Status.WARN,
                    f"cannot read the password's expiry date: {exc}",
                    self._call_remedy(exc),
                )
            try:
                expires_on = parse_chorus_date(general.get("dateExpirationMotPasseCompteTech"))
            except (TypeError, ValueError):
                expires_on = None
            if isinstance(expires_on, date):
                status, detail = password_verdict(
                    expires_on, self.today, self.settings.password_warning_days
                )
                remedy = (
                    ""
                    if status is Status.OK
                    else f"Before {expires_on.isoformat()}, " + CPRO_PASSWORD_REMEDY
                )
                return CheckResult(PASSWORD_EXPIRY, status, detail, remedy)
        return CheckResult(
            PASSWORD_EXPIRY,
            Status.WARN,
            "Chorus Pro did not give the technical account's password expiry date",
            "Note when the password was last set: it expires after 424 days; then "
            + CPRO_PASSWORD_REMEDY,
        )

    # -- 9 --------------------------------------------------------------------------------------

    def buyer_directory(self) -> CheckResult:
        """Asks the directory what the ingest asks of every buyer (search, consult, services),
        about one of the cooperative's own structures, which exists whatever the invoices say.

        When it fails, the ingest's invoices wait for it (`directory.unavailable`), so the line
        says what the waiting invoices need, not only what broke.
        """
        why = self._missing_api("structures")
        if why:
            return _skipped(BUYER_DIRECTORY, why)
        siret = next(iter(load_accounts(self.settings).sirets()), ANTIGONE_SIRET)
        try:
            info, calls = fetch_buyer(self.api, siret)
        except ChorusProError as exc:
            return CheckResult(
                BUYER_DIRECTORY,
                Status.FAIL,
                f"the Chorus Pro directory does not answer: {exc}",
                self._call_remedy(exc) + " " + WAITING_INVOICES,
            )
        if not info.found or not info.active:
            answer = (
                f"codeRetour {info.chorus_code}: {info.chorus_label}"
                if info.chorus_code
                else ("inactive" if info.found else "not found")
            )
            return CheckResult(
                BUYER_DIRECTORY,
                Status.WARN,
                f"the Chorus Pro directory answers, but not for {_label(siret)} ({answer})",
                "Check the SIRET in CHORUS_ETL_SUPPLIER_SIRETS (see "
                f"{STRUCTURE_ATTACHMENT}); buyers' invoices are checked as usual.",
            )
        return CheckResult(
            BUYER_DIRECTORY,
            Status.OK,
            f"the Chorus Pro directory answers (search, structure and services of "
            f"{_label(siret)}, {calls} calls)",
        )


#: What the doctor says of invoices that wait for the directory, when it does not answer.
WAITING_INVOICES = (
    "Meanwhile the ingest leaves invoices whose buyer it cannot check waiting (nothing is lost, "
    "they are checked at every run); accounting gets one alert when a wait lasts longer than "
    "CHORUS_ETL_WAIT_ALERT_AFTER_DAYS or _RUNS, and `chorus-etl waits` lists them."
)


def password_verdict(expires_on: date, today: date, warning_days: int) -> tuple[Status, str]:
    """FAIL once expired, WARN within `warning_days`, OK otherwise; with a sentence saying so."""
    days_left = (expires_on - today).days
    when = expires_on.isoformat()
    if days_left < 0:
        return Status.FAIL, f"the technical account's password expired on {when}"
    if days_left <= warning_days:
        return (
            Status.WARN,
            f"the technical account's password expires on {when}, in {days_left} days",
        )
    return Status.OK, f"the technical account's password expires on {when}, in {days_left} days"


# --- running everything ------------------------------------------------------------------------


@contextmanager
def _client(settings: Settings) -> Iterator[ChorusProApi]:
    config = chorus_pro_config(settings, _account(settings))
    quick = config.model_copy(update={"max_retries": min(config.max_retries, DOCTOR_MAX_RETRIES)})
    with ChorusProClient(quick) as client:
        yield client


def run_remote_checks(
    settings: Settings,
    api: ChorusProApi,
    today: date,
    elsewhere: frozenset[str] = frozenset(),
) -> list[CheckResult]:
    """Checks 3 to 8 with a given client (a test double, or the real client); `elsewhere`: the
    structures other accounts deposit for, whose entrepreneurs are theirs to check."""
    login = _account(settings).login
    return _RemoteChecks(
        settings=settings, api=api, today=today, login=login, elsewhere=elsewhere
    ).run()


def run_checks(settings: Settings | None = None, *, today: date | None = None) -> list[CheckResult]:
    """Every check in order, against the environment the settings select; with an accounts file,
    every check for each technical account on its own (its application, its structures).

    `settings` None reads them from the environment, so that check 1 can report a variable it
    cannot parse. `today` defaults to the date in Paris, where Chorus Pro counts expiry days.
    """
    try:
        loaded = settings if settings is not None else Settings()
    except ValueError:
        loaded = None
    if loaded is None or loaded.accounts_file is None:
        return _run_account_checks(loaded, today)
    results = []
    for group in load_accounts(loaded).groups():
        scope = f"{group.cooperative}: {', '.join(_label(s) for s in group.sirets)}"
        try:
            account = load_accounts(loaded).account(group.sirets[0])
        except AccountsError as exc:
            found = [
                CheckResult(
                    CONFIGURATION,
                    Status.FAIL,
                    str(exc),
                    "Set it in the environment of the pipeline, or as a file of that name in "
                    "CHORUS_ETL_SECRETS_DIR; the accounts file only names it.",
                ),
                *_skip_from(PISTE_TOKEN, f"the configuration is incomplete (see {CONFIGURATION})"),
            ]
        else:
            own = loaded.model_copy(
                update={
                    "piste_client_id": account.client_id,
                    "piste_client_secret": account.client_secret,
                    "cpro_login": account.login,
                    "cpro_password": account.password,
                    "supplier_sirets": list(group.sirets),
                    # This account's checks see its structures only: a one-account settings.
                    "accounts_file": None,
                    "alert_accounting_email": load_accounts(loaded).accounting_email(
                        group.sirets[0]
                    ),
                    "entrepreneurs_file": load_accounts(loaded)
                    .cooperative(group.cooperative)
                    .entrepreneurs_file
                    or loaded.entrepreneurs_file,
                }
            )
            others = frozenset(load_accounts(loaded).sirets()) - set(group.sirets)
            found = _run_account_checks(own, today, others)
        results += [replace(r, scope=scope) for r in found]
    return results


def _run_account_checks(
    settings: Settings | None, today: date | None, elsewhere: frozenset[str] = frozenset()
) -> list[CheckResult]:
    loaded, configuration = check_configuration(settings)
    results = [configuration]
    if loaded is None:
        why = f"the configuration is incomplete (see {CONFIGURATION})"
        return results + _skip_from(PISTE_TOKEN, why)
    token = check_token(loaded)
    results.append(token)
    if token.status is not Status.OK:
        why = f"no PISTE token (see {PISTE_TOKEN})"
        return [
            *results,
            *_skip_from(TECHNICAL_ACCOUNT, why, LAST_REMOTE),
            check_ghostscript(loaded),
        ]
    day = today or datetime.now(CHORUS_TIMEZONE).date()
    with _client(loaded) as api:
        results.extend(run_remote_checks(loaded, api, day, elsewhere))
    results.append(check_ghostscript(loaded))
    return results


# --- 9. Ghostscript ----------------------------------------------------------------------------


def check_ghostscript(settings: Settings) -> CheckResult:
    """Ghostscript on this machine: it makes an invoice PDF that is not PDF/A-3 into one before
    its Factur-X is embedded. Missing, it fails when a structure deposits Factur-X (those
    invoices wait, `ready`), and only warns otherwise."""
    ghostscript = Ghostscript.from_settings(settings)
    try:
        version = ghostscript.version()
    except GhostscriptMissing as exc:
        facturx = sorted(load_accounts(settings).facturx_sirets())
        if facturx:
            structures = ", ".join(_label(siret) for siret in facturx)
            status, need = Status.FAIL, f"{structures} deposit Factur-X and need it"
        else:
            status, need = Status.WARN, "only structures depositing Factur-X need it"
        return CheckResult(
            GHOSTSCRIPT,
            status,
            f"{exc}; {need} (a PDF that is not PDF/A-3 cannot be converted)",
            "Install it: sudo apt-get install -y ghostscript (Debian, Ubuntu); or set "
            "CHORUS_ETL_GHOSTSCRIPT_COMMAND to the gs program.",
        )
    return CheckResult(
        GHOSTSCRIPT,
        Status.OK,
        f"Ghostscript {version} found ({ghostscript.command}): PDFs that are not PDF/A-3 are "
        "converted for Factur-X",
    )
