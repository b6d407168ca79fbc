"""Everything the simulator remembers, behind one re-entrant lock.

A single lock is deliberately coarse: requests are tiny in-memory operations, so contention is
negligible, and one lock makes every operation atomic with respect to every other (a duplicate
check and the insert it guards, a clock advance and a search, a reset and a deposit). Handlers
take `store.lock` for their whole body; helpers here assume it is held.

The technical account a request authenticated as lives in a context variable set by the gateway
for that request only (each request is its own asyncio task, so concurrent requests of different
accounts cannot see each other's), which is what `visible` and `is_attached` answer for; outside
a request (the control plane) they answer for the default account.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from chorus_pro.simulator import lifecycle
from chorus_pro.simulator.clock import PARIS, SimClock, format_iso, to_paris
from chorus_pro.simulator.config import Outcome, SimulatorConfig, TechnicalAccount
from chorus_pro.simulator.faults import FaultInjector
from chorus_pro.simulator.gate import Gate
from chorus_pro.simulator.lifecycle import PlannedStep
from chorus_pro.simulator.quota import ClientStats, RateLimiter
from chorus_pro.simulator.seed import BankAccount, Buyer, Service, Supplier

__all__ = [
    "Flux",
    "FluxDocument",
    "Invoice",
    "InvoiceData",
    "IssuedToken",
    "StatusChange",
    "Store",
    "TokenState",
    "Upload",
    "UserAction",
]

InvoiceSource = Literal["api", "portal", "flux"]
TokenState = Literal["valid", "unknown", "expired"]

_FIRST_INVOICE_ID = 8316801
_FIRST_UPLOAD_ID = 10321501
_FIRST_FLUX_SEQUENCE = 425901

#: The technical account of the request being handled (None: outside a request).
_REQUEST_ACCOUNT: ContextVar[TechnicalAccount | None] = ContextVar(
    "chorus_sim_request_account", default=None
)


@dataclass(frozen=True)
class IssuedToken:
    """A bearer token and the PISTE application it was issued to."""

    client_id: str
    expires_at: float


@dataclass(frozen=True)
class InvoiceData:
    """What the supplier said about the invoice; `recycler` replaces the routing part."""

    numero: str
    supplier: Supplier
    supplier_service: Service | None
    bank_account: BankAccount | None
    buyer: Buyer
    service: Service | None
    engagement: str | None
    mode_depot: str
    cadre: str = "A1_FACTURE_FOURNISSEUR"
    type_facture: str = "FACTURE"
    type_tva: str | None = None
    mode_paiement: str | None = None
    devise: str = "EUR"
    numero_marche: str | None = None
    numero_facture_origine: str | None = None
    date_facture: date | None = None
    montant_ht: float = 0.0
    montant_tva: float = 0.0
    montant_ttc: float = 0.0
    montant_a_payer: float = 0.0
    lignes_poste: tuple[dict[str, Any], ...] = ()
    lignes_tva: tuple[dict[str, Any], ...] = ()
    pieces_principales: tuple[dict[str, Any], ...] = ()
    pieces_complementaires: tuple[dict[str, Any], ...] = ()
    commentaire: str | None = None


@dataclass
class StatusChange:
    id: int
    statut: str
    at: datetime
    commentaire: str = ""


@dataclass
class UserAction:
    id: int
    code: str
    at: datetime
    commentaire: str = ""


@dataclass
class Invoice:
    id: int
    data: InvoiceData
    source: InvoiceSource
    deposited_at: datetime
    outcome: Outcome
    fingerprint: str
    numero_flux: str | None = None
    history: list[StatusChange] = field(default_factory=list)
    plan: list[PlannedStep] = field(default_factory=list)
    actions: list[UserAction] = field(default_factory=list)
    phase: int = 0
    rejet_traite: bool = False

    @property
    def statut(self) -> str:
        return self.history[-1].statut

    @property
    def changed_at(self) -> datetime:
        return self.history[-1].at

    @property
    def commentaire_courant(self) -> str:
        return self.history[-1].commentaire


@dataclass(frozen=True)
class Upload:
    id: int
    name: str
    extension: str
    mime: str
    size: int
    sha256: str
    uploaded_at: datetime
    #: The bytes, for `telecharger/groupe`; never shown by the control plane.
    content: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True)
class FluxDocument:
    """One invoice read from a flux file; `refusal` is the first content rule it breaks.

    Content rules are those the file alone decides (number, payment means, SIRET, totals, PDF
    text); the rules that need the store (supplier attached, routing, duplicates) run when the
    flux settles.
    """

    numero: str | None = None
    supplier_siret: str | None = None
    buyer_siret: str | None = None
    service_code: str | None = None
    engagement: str | None = None
    type_facture: str = "FACTURE"
    date_facture: date | None = None
    montant_ht: float | None = None
    montant_tva: float | None = None
    montant_ttc: float | None = None
    montant_a_payer: float | None = None
    numero_facture_origine: str | None = None
    devise: str = "EUR"
    refusal: str | None = None


@dataclass
class Flux:
    numero: str
    nom_fichier: str
    syntaxe: str
    avec_signature: bool
    size: int
    deposited_at: datetime
    documents: list[FluxDocument]
    state: str
    state_at: datetime
    polls: int = 0
    #: Login of the technical account that deposited it: it alone can read the reports, and its
    #: attachments decide which invoices are integrated when the flux settles.
    account_login: str | None = None
    invoice_ids: list[int] = field(default_factory=list)
    errors_dp: list[dict[str, Any]] = field(default_factory=list)
    errors_technical: list[dict[str, Any]] = field(default_factory=list)
    #: Technical errors found when the file was read: reported (IN_REJETE) when the flux settles.
    reading_errors: list[dict[str, str]] = field(default_factory=list)
    #: The file as deposited, for `telecharger/groupe`.
    content: bytes = field(default=b"", repr=False)


class Store:
    def __init__(self, config: SimulatorConfig) -> None:
        self.lock = threading.RLock()
        self.base_config = config.model_copy(deep=True)
        self._real_start = to_paris(datetime.now(PARIS))
        self._stats_epoch = 0
        #: Requests whose handler has not finished: live, so a reset leaves it alone.
        self.in_flight = 0
        #: Holds requests for tests of overlapping runs; a reset leaves it too (it is live).
        self.gate = Gate()
        self._initialise(self.base_config)

    # --- life of the store ---------------------------------------------------------------

    def _initialise(self, config: SimulatorConfig) -> None:
        with self.lock:
            self.config = config.model_copy(deep=True)
            self.clock = SimClock(self.start_time(self.config))
            self.tokens: dict[str, IssuedToken] = {}
            self.rate_limiter = RateLimiter()
            self.clients: dict[str, ClientStats] = {}
            self.uploads: dict[int, Upload] = {}
            self.invoices: dict[int, Invoice] = {}
            self._by_number: dict[tuple[int, str], int] = {}
            #: Each supplier structure's invoices, oldest first: a search names its supplier,
            #: and Chorus Pro does not scan every structure's invoices to answer one.
            self.by_supplier: defaultdict[int, list[Invoice]] = defaultdict(list)
            self.flux: dict[str, Flux] = {}
            self.submissions: Counter[tuple[str, str]] = Counter()
            self.attempts: Counter[tuple[str, str]] = Counter()
            self.requests: Counter[str] = Counter()
            self.responses: defaultdict[str, Counter[str]] = defaultdict(Counter)
            self._stats_epoch += 1
            self.faults = FaultInjector(self.config.faults, self.config.seed, self.lock)
            self._next_invoice_id = _FIRST_INVOICE_ID
            self._next_upload_id = _FIRST_UPLOAD_ID
            self._next_flux_sequence = _FIRST_FLUX_SEQUENCE
            self._next_event_id = 1

    def reset(self) -> None:
        """Back to the start-up configuration, an empty store and the start of the clock."""
        self._initialise(self.base_config)

    def start_time(self, config: SimulatorConfig) -> datetime:
        return to_paris(config.clock_start) if config.clock_start else self._real_start

    def apply_config(self, config: SimulatorConfig) -> None:
        """Takes effect at once; a change of faults or seed restarts the fault generator."""
        with self.lock:
            previous = self.config
            if config.clock_start != previous.clock_start:
                if self.invoices or self.flux:
                    raise ValueError(
                        "clock_start can only change while the store is empty; "
                        "use POST /_sim/clock to move time forward"
                    )
                self.clock = SimClock(self.start_time(config))
            self.config = config
            if config.faults != previous.faults or config.seed != previous.seed:
                self.faults.configure(config.faults, config.seed)

    def password_expires_on(self, account: TechnicalAccount | None = None) -> date:
        """When the password of `account` (default: the request's account) stops working."""
        explicit = (account or self.current_account()).password_expires_on
        return explicit or self.start_time(self.config).date() + timedelta(days=365)

    # --- technical accounts ---------------------------------------------------------------

    @contextmanager
    def acting_as(self, account: TechnicalAccount) -> Iterator[None]:
        """Handles the rest of this request as `account` (the gateway authenticated it)."""
        reset_token = _REQUEST_ACCOUNT.set(account)
        try:
            yield
        finally:
            _REQUEST_ACCOUNT.reset(reset_token)

    def current_account(self) -> TechnicalAccount:
        """The request's technical account; the default one outside a request."""
        return _REQUEST_ACCOUNT.get() or self.config.default_account()

    def attached_sirets(self, account: TechnicalAccount | None = None) -> list[str]:
        return (account or self.current_account()).attached_supplier_sirets

    # --- ids ------------------------------------------------------------------------------

    def next_event_id(self) -> int:
        self._next_event_id += 1
        return self._next_event_id - 1

    def new_upload_id(self) -> int:
        self._next_upload_id += 1
        return self._next_upload_id - 1

    def new_flux_number(self) -> str:
        """`CPP` + 22 digits, as Chorus numbers deposited flux."""
        self._next_flux_sequence += 1
        return f"CPP00111{self._next_flux_sequence - 1:017d}"

    # --- tokens ---------------------------------------------------------------------------

    def issue_token(self, client_id: str | None = None) -> str:
        """A new token of `client_id`'s application (default: the default application)."""
        with self.lock:
            now = time.monotonic()
            self.tokens = {t: it for t, it in self.tokens.items() if it.expires_at > now}
            token = secrets.token_urlsafe(32)
            self.tokens[token] = IssuedToken(
                client_id or self.config.client_id, now + self.config.token_lifetime_seconds
            )
            return token

    def token_state(self, token: str) -> TokenState:
        with self.lock:
            issued = self.tokens.get(token)
            if issued is None:
                return "unknown"
            return "valid" if issued.expires_at > time.monotonic() else "expired"

    def token_client(self, token: str) -> str | None:
        """The client id a still valid token was issued to; None if unknown or expired."""
        with self.lock:
            issued = self.tokens.get(token)
            if issued is None or issued.expires_at <= time.monotonic():
                return None
            return issued.client_id

    def revoke_token(self, token: str) -> None:
        with self.lock:
            issued = self.tokens.get(token)
            if issued is not None:
                self.tokens[token] = IssuedToken(issued.client_id, 0.0)

    def expire_all_tokens(self) -> int:
        with self.lock:
            count = len(self.tokens)
            self.tokens = {t: IssuedToken(it.client_id, 0.0) for t, it in self.tokens.items()}
            return count

    # --- stats ----------------------------------------------------------------------------

    def count_request(self, path: str) -> int:
        """Counts a request; returns the stats epoch its answer is to be counted in."""
        with self.lock:
            self.requests[path] += 1
            self.in_flight += 1
            return self._stats_epoch

    def request_finished(self) -> None:
        """A handler returned or raised. `in_flight` tells a test when a request whose client
        died (a killed process) has been applied, or not, for good: only then is "absent" true."""
        with self.lock:
            self.in_flight -= 1

    def count_response(self, path: str, status: int | str, epoch: int) -> None:
        """Counts an answer, unless the stats were reset since its request was counted.

        A held-back answer (the slow fault) outlives the request's test by up to `slow_seconds`:
        counted after a reset, it would land in the next test's stats as an answer to a request
        that test never made (a `{"503": 2, "200": 2}` for three calls).
        """
        with self.lock:
            if epoch == self._stats_epoch:
                self.responses[path][str(status)] += 1

    def admit_request(
        self, client_id: str, limit_per_second: float | None, epoch: int | None
    ) -> int | None:
        """Applies the application's quota to an API request and counts it for its client.

        Returns None if admitted, else the Retry-After seconds. The quota sees every request
        (a stats reset does not lift it); the per-client stats count it only in the epoch its
        request was counted in, as `count_response` does.
        """
        with self.lock:
            now = time.monotonic()
            retry_after = self.rate_limiter.admit(client_id, limit_per_second, now)
            if epoch is None or epoch == self._stats_epoch:
                self._client(client_id).record(now, throttled=retry_after is not None)
            return retry_after

    def count_token_request(self, client_id: str, epoch: int | None) -> None:
        with self.lock:
            if epoch is None or epoch == self._stats_epoch:
                self._client(client_id).token_requests += 1

    def _client(self, client_id: str) -> ClientStats:
        return self.clients.setdefault(client_id, ClientStats())

    def reset_stats(self) -> None:
        with self.lock:
            self.requests.clear()
            self.responses.clear()
            self.clients.clear()
            self._stats_epoch += 1

    # --- invoices -------------------------------------------------------------------------

    def visible(self, invoice: Invoice) -> bool:
        """The request's technical account only sees invoices of the structures attached to it."""
        return invoice.data.supplier.siret in self.attached_sirets()

    def is_attached(self, supplier: Supplier, attached: Collection[str] | None = None) -> bool:
        """Whether `supplier` is among `attached` (default: the request's account's structures)."""
        return supplier.siret in (self.attached_sirets() if attached is None else attached)

    def owns_flux(self, flux: Flux) -> bool:
        """Flux reports are the depositing account's: another account gets "not found"."""
        login = flux.account_login or self.config.login
        return login == self.current_account().login

    def find_duplicate(self, supplier: Supplier, numero: str) -> Invoice | None:
        """The first invoice of this supplier with this number, whatever its status."""
        invoice_id = self._by_number.get((supplier.id, numero))
        return self.invoices[invoice_id] if invoice_id is not None else None

    def add_invoice(
        self,
        data: InvoiceData,
        source: InvoiceSource,
        *,
        numero_flux: str | None = None,
        at: datetime | None = None,
        outcome: Outcome | None = None,
    ) -> Invoice:
        """Creates the invoice in DEPOSEE at `at` (default now) and plans the rest of its life."""
        with self.lock:
            invoice_id = self._next_invoice_id
            self._next_invoice_id += 1
            deposited_at = at or self.clock.now()
            seed = self.config.seed
            chosen = (
                outcome
                or self.config.lifecycle_outcomes_by_number.get(data.numero)
                or self.config.lifecycle_outcome
                or lifecycle.choose_outcome(seed, invoice_id)
            )
            fingerprint = hashlib.sha256(
                f"{invoice_id}|{data.supplier.siret}|{data.numero}|{format_iso(deposited_at)}".encode()
            ).hexdigest()
            invoice = Invoice(
                id=invoice_id,
                data=data,
                source=source,
                deposited_at=deposited_at,
                outcome=chosen,
                fingerprint=fingerprint,
                numero_flux=numero_flux,
            )
            self.record_status(invoice, lifecycle.DEPOSEE, deposited_at)
            invoice.plan = lifecycle.initial_plan(
                seed, invoice_id, deposited_at, chosen, reports_payment=self.reports_payment(data)
            )
            self.invoices[invoice_id] = invoice
            self.by_supplier[data.supplier.id].append(invoice)
            self._by_number.setdefault((data.supplier.id, data.numero), invoice_id)
            self.apply_due(invoice)
            if source != "portal":
                self.submissions[(data.supplier.siret, data.numero)] += 1
            return invoice

    @staticmethod
    def reports_payment(data: InvoiceData) -> bool:
        return not data.buyer.flags.payment_status_not_reported

    def record_status(
        self, invoice: Invoice, statut: str, at: datetime, commentaire: str = ""
    ) -> None:
        invoice.history.append(StatusChange(self.next_event_id(), statut, at, commentaire))

    def record_action(self, invoice: Invoice, code: str, commentaire: str = "") -> None:
        invoice.actions.append(
            UserAction(self.next_event_id(), code, self.clock.now(), commentaire)
        )

    def apply_due(self, invoice: Invoice) -> int:
        due, invoice.plan = lifecycle.split_due(invoice.plan, self.clock.now())
        for step in due:
            self.record_status(invoice, step.statut, step.at, step.commentaire)
        return len(due)

    def set_status(self, invoice: Invoice, statut: str, commentaire: str = "") -> None:
        """A test forcing a status: recorded now, and the rest of the plan is dropped."""
        invoice.plan = []
        self.record_status(invoice, statut, self.clock.now(), commentaire)
