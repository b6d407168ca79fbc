"""Deposit invoices on Chorus Pro exactly once.

Chorus Pro has no idempotency key, so the warehouse carries the protocol:

1. `submitting` and a `pending` attempt row are committed *before* any write call;
2. the PDF and attachments are uploaded (their ids kept on the attempt, and reused by later attempts
   of the same invoice), then `soumettre` is called;
3. `deposited` is committed with Chorus' id, the deposit date and the certificate fingerprint.

Whenever the outcome is unknown (a crash, a timeout or a 5xx after the request left, an invoice
left `submitting` by a run that is gone), the invoice is looked up on Chorus Pro by number before
anything is sent again, and what is found there is ours only if it matches (`matching.py`):
another invoice under the number puts ours in `conflict`. Business refusals become `deposit_failed`
with Chorus' code and label, and an alert, in the same transaction; they are never retried until a
corrected export makes them `ready`. A refusal for a number already used is not one: the search
says whether that invoice is ours.

Runs may overlap. Every attempt is held by its run (`chorus_etl.leases`): another run leaves it
alone while that run lives, takes it over atomically once it is gone, and every call that could
reach Chorus Pro is preceded by a renewal that fails if the attempt was taken over meanwhile.
"""

from __future__ import annotations

import contextvars
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chorus_etl.leases import ClaimLost, Owner, is_gone
from chorus_etl.log import get_logger
from chorus_etl.pacing import RateLimiter
from chorus_etl.values import DepositMode
from chorus_pro.api import ChorusProApi
from chorus_pro.errors import (
    AmbiguousOutcomeError,
    AuthenticationError,
    BusinessError,
    ChorusProError,
    ForbiddenError,
)
from schemas.payloads import (
    Destinataire,
    Fournisseur,
    LigneTva,
    ModeDepot,
    MontantTotal,
    PieceJointeComplementaire,
    PieceJointePrincipale,
    References,
    SubmitInvoiceRequest,
    SyntaxeFlux,
)
from schemas.warehouse import (
    AttemptOutcome,
    DepositAttempt,
    Invoice,
    InvoiceState,
    InvoiceVatLine,
    utcnow,
)
from tasks.deposit.failures import failed_call
from tasks.deposit.flux import FacturxBuilder, FacturxRefusal, FluxDeposits, flux_file_name
from tasks.deposit.matching import Identified, identify
from tasks.deposit.outcomes import DepositHalted, DepositOutcome, DepositResult, landed
from tasks.deposit.settle import record_found
from tasks.deposit.store import OPEN_OUTCOMES, DepositStore, LoadedInvoice, Uploads
from tasks.preflight import strip_embedded_xml
from tasks.preflight.attachments import MIME_TYPES, upload_name_of

log = get_logger(__name__)

MAX_SUBMITS_PER_RUN = 3
#: `codeRetour` of a `soumettre` refused because the supplier already used the number.
NUMBER_ALREADY_USED = 20113


@dataclass
class Filters:
    """Which `ready` invoices a run takes; all of them by default."""

    supplier_sirets: list[str] = field(default_factory=list)
    entrepreneur_codes: list[str] = field(default_factory=list)
    invoice_numbers: list[str] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None

    def apply(self, query: Any) -> Any:
        if self.supplier_sirets:
            query = query.where(col(Invoice.supplier_siret).in_(self.supplier_sirets))
        if self.entrepreneur_codes:
            query = query.where(col(Invoice.entrepreneur_code).in_(self.entrepreneur_codes))
        if self.invoice_numbers:
            query = query.where(col(Invoice.invoice_number).in_(self.invoice_numbers))
        if self.date_from:
            query = query.where(col(Invoice.invoice_date) >= self.date_from)
        if self.date_to:
            query = query.where(col(Invoice.invoice_date) <= self.date_to)
        return query


@dataclass(frozen=True)
class SupplierIds:
    id_fournisseur: int
    bank_account_id: int | None
    services: dict[str, int]


class SupplierRegistry:
    """Chorus Pro's ids for the cooperative's structures and entrepreneurs' services, read once."""

    def __init__(self, api: ChorusProApi) -> None:
        self.api = api
        self._by_siret: dict[str, SupplierIds] | None = None
        self.lock = threading.Lock()

    def _load(self) -> dict[str, SupplierIds]:
        loaded: dict[str, SupplierIds] = {}
        for structure in self.api.supplier_structures():
            siret = structure.identifiant or ""
            accounts = self.api.bank_accounts(structure.idStructureCPP)
            services = {
                s.codeService: s.idService
                for s in self.api.list_services(structure.idStructureCPP)
                if s.estActif
            }
            loaded[siret] = SupplierIds(
                id_fournisseur=structure.idStructureCPP,
                bank_account_id=accounts[0].idCoordonneeBancaire if accounts else None,
                services=services,
            )
        return loaded

    def get(self, siret: str) -> SupplierIds | None:
        with self.lock:
            if self._by_siret is None:
                self._by_siret = self._load()
            return self._by_siret.get(siret)


def _amount(cents: int) -> float:
    return cents / 100


def _rate(rate_bp: int) -> float:
    return rate_bp / 100


def build_request(
    invoice: Invoice,
    vat_lines: Sequence[InvoiceVatLine],
    supplier: SupplierIds,
    service_id: int,
    pdf_id: int,
    attachments: Sequence[tuple[str, int]],
) -> SubmitInvoiceRequest:
    """`soumettre` in mode DEPOT_PDF_API: the PDF is the original, the structured data routes it."""
    exempt = [line for line in vat_lines if line.rate_bp == 0]
    all_exempt = bool(vat_lines) and len(exempt) == len(vat_lines)
    return SubmitInvoiceRequest(
        modeDepot=ModeDepot.DEPOT_PDF_API,
        numeroFactureSaisi=invoice.invoice_number,
        dateFacture=invoice.invoice_date,
        destinataire=Destinataire(
            codeDestinataire=invoice.buyer_siret or "",
            codeServiceExecutant=invoice.buyer_service_code or None,
        ),
        fournisseur=Fournisseur(
            idFournisseur=supplier.id_fournisseur,
            idServiceFournisseur=service_id,
            codeCoordonneesBancairesFournisseur=supplier.bank_account_id,
        ),
        references=References(
            deviseFacture=invoice.currency,
            typeFacture=invoice.invoice_type,
            typeTva="EXONERATION" if all_exempt else "TVA_SUR_DEBIT",
            modePaiement=invoice.payment_mode,
            numeroMarche=invoice.market_number,
            numeroBonCommande=invoice.engagement_number,
            numeroFactureOrigine=invoice.original_invoice_number
            if invoice.invoice_type == "AVOIR"
            else None,
            motifExonerationTva=exempt[0].exemption_reason if exempt else None,
        ),
        ligneTva=[
            LigneTva(
                ligneTvaMontantBaseHtParTaux=_amount(line.base_cents),
                ligneTvaMontantTvaParTaux=_amount(line.vat_cents),
                ligneTvaTauxManuel=_rate(line.rate_bp),
            )
            for line in sorted(vat_lines, key=lambda line: line.rate_bp)
        ],
        montantTotal=MontantTotal(
            montantHtTotal=_amount(invoice.amount_ht_cents),
            montantTVA=_amount(invoice.amount_vat_cents),
            montantTtcTotal=_amount(invoice.total_ttc_cents),
            montantAPayer=_amount(invoice.total_ttc_cents),
        ),
        pieceJointePrincipale=[
            PieceJointePrincipale(
                pieceJointePrincipaleDesignation="Facture", pieceJointePrincipaleId=pdf_id
            )
        ],
        pieceJointeComplementaire=[
            PieceJointeComplementaire(
                pieceJointeComplementaireDesignation=name[:100],
                pieceJointeComplementaireId=upload_id,
                pieceJointeComplementaireType="PIECE_JUSTIFICATIVE",
            )
            for name, upload_id in attachments
        ],
        commentaire=invoice.comment,
    )


def _mime(path: Path) -> str:
    """The type Chorus Pro expects for the file's extension (the preflight's table)."""
    return MIME_TYPES.get(path.suffix.lstrip(".").upper(), "application/octet-stream")


class Depositor:
    """Deposits one invoice at a time; safe to call from several threads."""

    def __init__(
        self,
        engine: Engine,
        api: ChorusProApi,
        *,
        accounting_email: str,
        limiter: RateLimiter | None = None,
        dry_run: bool = False,
        concurrency: int = 8,
        modes: Mapping[str, DepositMode] | None = None,
        facturx: FacturxBuilder | None = None,
        flux_grace: timedelta = timedelta(minutes=60),
        lease: timedelta = timedelta(minutes=10),
    ) -> None:
        self.owner = Owner.start(lease)
        self.store = DepositStore(engine, accounting_email=accounting_email, owner=self.owner)
        # Shared by every batch in flight: the next batch starts while the last invoices of the
        # previous one are still out, without more than `concurrency` deposits at once.
        self.slots = threading.BoundedSemaphore(concurrency)
        self.api = api
        self.registry = SupplierRegistry(api)
        self.limiter = limiter
        self.dry_run = dry_run
        self.modes = dict(modes or {})
        self.fluxes = FluxDeposits(
            self.store,
            api,
            build=facturx or _no_facturx,
            search=self.search,
            throttle=self._throttle,
            grace=flux_grace,
        )
        self._prefetched: dict[int, LoadedInvoice] = {}
        self._prefetch_lock = threading.Lock()

    def close(self) -> None:
        """The run is over: whatever it still holds is a leftover for the next run at once."""
        self.owner.retire()

    def __enter__(self) -> Depositor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def prefetch(self, invoice_ids: Sequence[int]) -> None:
        """Reads a batch from the warehouse in a few queries instead of several per invoice."""
        loaded = self.store.load(invoice_ids)
        with self._prefetch_lock:
            self._prefetched.update(loaded)

    def _load(self, invoice_id: int) -> LoadedInvoice:
        with self._prefetch_lock:
            loaded = self._prefetched.pop(invoice_id, None)
        if loaded is None:
            loaded = self.store.load([invoice_id])[invoice_id]
        return loaded

    def _resolve(self, invoice: Invoice) -> tuple[SupplierIds, int] | str:
        supplier = self.registry.get(invoice.supplier_siret)
        if supplier is None:
            return (
                f"supplier structure {invoice.supplier_siret} is not attached to the technical "
                "account"
            )
        service_id = supplier.services.get(invoice.entrepreneur_code or "")
        if service_id is None:
            return (
                f"entrepreneur service {invoice.entrepreneur_code} is not an active service of "
                f"{invoice.supplier_siret} on Chorus Pro"
            )
        return supplier, service_id

    def _upload(
        self, attempt_id: int, invoice: Invoice, folder: Path, uploads: Uploads
    ) -> tuple[int, list[tuple[str, int]]]:
        """Uploads what earlier attempts did not, recording each id as soon as Chorus gives it."""
        relatives: list[str] = json.loads(invoice.attachments_json or "[]")
        taken: set[str] = set()
        names = {r: upload_name_of(r, taken) for r in relatives}
        if uploads.pdf_id is None:
            original = (folder / (invoice.pdf_path or "")).read_bytes()
            # Chorus Pro could read an embedded XML instead of the PDF: it never gets one.
            pdf = strip_embedded_xml(original)
            self._throttle()
            self.store.renew(attempt_id)
            uploads.pdf_id = self.api.upload_file(
                upload_name_of(invoice.pdf_path or f"{invoice.invoice_number}.pdf", set()),
                pdf,
                "application/pdf",
            )
            self.store.save_uploads(attempt_id, uploads, embedded_xml_removed=pdf != original)
        for relative in relatives:
            if relative not in uploads.attachments:
                self._throttle()
                self.store.renew(attempt_id)
                path = folder / relative
                uploads.attachments[relative] = self.api.upload_file(
                    names[relative], path.read_bytes(), _mime(path)
                )
                self.store.save_uploads(attempt_id, uploads)
        return uploads.pdf_id, [(names[r], uploads.attachments[r]) for r in relatives]

    def mode_of(self, invoice: Invoice) -> DepositMode:
        return self.modes.get(invoice.supplier_siret, DepositMode.PDF)

    def _throttle(self) -> None:
        if self.limiter is not None:
            self.limiter.acquire()

    def search(self, invoice: Invoice) -> Identified:
        """What Chorus Pro holds under this invoice's supplier and number: ours, or another's
        (`matching.identify`). Both modes settle uncertain attempts with it."""
        supplier = self.registry.get(invoice.supplier_siret)
        if supplier is None:
            raise DepositHalted(f"supplier {invoice.supplier_siret} unknown to Chorus Pro")
        self._throttle()
        found = self.api.find_invoices_by_number(supplier.id_fournisseur, invoice.invoice_number)
        return identify(invoice, found, supplier.id_fournisseur)

    def deposit(self, invoice_id: int) -> DepositOutcome:
        """The whole protocol for one `ready` invoice. Raises `DepositHalted` on auth failures."""
        loaded = self._load(invoice_id)
        try:
            return self._deposit(loaded)
        except ClaimLost as exc:
            log.warning("deposit.claim_lost", invoice=loaded.invoice.invoice_number, error=str(exc))
            return _skipped(loaded.invoice, str(exc))

    def _deposit(self, loaded: LoadedInvoice) -> DepositOutcome:
        invoice_id = loaded.invoice.id
        assert invoice_id is not None
        invoice, lines, folder, uploads = (
            loaded.invoice,
            loaded.vat_lines,
            loaded.folder,
            loaded.uploads,
        )
        outcome = DepositOutcome(
            invoice_id, invoice.supplier_siret, invoice.invoice_number, DepositResult.SKIPPED
        )
        try:
            resolved = self._resolve(invoice)
        except (AuthenticationError, ForbiddenError) as exc:
            raise DepositHalted(str(exc)) from exc
        except ChorusProError as exc:
            outcome.result, outcome.detail = DepositResult.RETRY_LATER, str(exc)
            return outcome
        if isinstance(resolved, str):
            outcome.detail = resolved
            log.error(
                "deposit.unresolved_supplier", invoice=invoice.invoice_number, detail=resolved
            )
            return outcome
        supplier, service_id = resolved
        if self.mode_of(invoice) is DepositMode.FACTURX:
            if self.dry_run:
                outcome.result = DepositResult.DRY_RUN
                outcome.payload = {
                    "operation": "deposer/flux",
                    "syntaxeFlux": SyntaxeFlux.IN_DP_E2_CII_FACTURX.value,
                    "nomFichier": flux_file_name(invoice),
                }
                return outcome
            return self.fluxes.send(loaded, outcome)
        if self.dry_run:
            taken: set[str] = set()
            attachments = [
                (upload_name_of(r, taken), 0) for r in json.loads(invoice.attachments_json)
            ]
            request = build_request(invoice, lines, supplier, service_id, 0, attachments)
            outcome.result = DepositResult.DRY_RUN
            outcome.payload = request.model_dump(mode="json", exclude_none=True)
            return outcome
        for _submit in range(MAX_SUBMITS_PER_RUN):
            attempt_id = self.store.claim(invoice_id, uploads)
            if attempt_id is None:
                outcome.detail = "invoice is no longer ready (another run has it)"
                return outcome
            try:
                pdf_id, attachments = self._upload(attempt_id, invoice, folder, uploads)
                request = build_request(invoice, lines, supplier, service_id, pdf_id, attachments)
                self._throttle()
                self.store.renew(attempt_id)
                response = self.api.submit_invoice(request)
            except AmbiguousOutcomeError as exc:
                self.store.release(invoice_id, attempt_id, exc, sent=True)
                log.warning("deposit.ambiguous", invoice=invoice.invoice_number, error=str(exc))
                resolved_outcome = self._settle(invoice, attempt_id, may_have_sent=True)
                outcome.retries += 1
                if resolved_outcome.result is DepositResult.RETRY_LATER and resolved_outcome.absent:
                    continue
                resolved_outcome.retries = outcome.retries
                return resolved_outcome
            except BusinessError as exc:
                if exc.code_retour != NUMBER_ALREADY_USED:
                    return failed_call(self.store, invoice_id, attempt_id, exc, outcome)
                # The number is taken: by this invoice (deposited earlier, by us or by hand) or
                # by another one. The search tells; this refusal itself created nothing.
                self.store.release(invoice_id, attempt_id, exc, sent=True)
                log.warning("deposit.number_used", invoice=invoice.invoice_number)
                settled = self._settle(invoice, attempt_id, may_have_sent=False)
                if settled.absent:
                    settled.detail = "number already used, yet not found by the search"
                return settled
            except (ChorusProError, OSError) as exc:
                return failed_call(self.store, invoice_id, attempt_id, exc, outcome)
            self.store.mark_deposited(
                invoice_id,
                attempt_id,
                response.identifiantFactureCPP,
                response.dateDepot,
                response.empreinteCertificatDepot,
                response.statutFacture,
                AttemptOutcome.DEPOSITED,
            )
            return landed(outcome, DepositResult.DEPOSITED, response.identifiantFactureCPP)
        outcome.result, outcome.detail = DepositResult.RETRY_LATER, "too many ambiguous submissions"
        return outcome

    def resolve_submitting(self, invoice_id: int) -> DepositOutcome:
        """An invoice left `submitting`: taken over if its run is gone, then settled by what
        Chorus Pro holds under its number (PDF), or by its flux report (Factur-X)."""
        invoice = self._load(invoice_id).invoice
        try:
            return self._resolve_leftover(invoice)
        except ClaimLost as exc:
            return _skipped(invoice, str(exc))

    def _resolve_leftover(self, invoice: Invoice) -> DepositOutcome:
        assert invoice.id is not None
        attempt = self.store.open_attempts([invoice.id]).get(invoice.id)
        if attempt is None:
            return _skipped(invoice, "no open attempt: settled meanwhile")
        if not is_gone(attempt.owner, attempt.lease_until, utcnow()):
            return _skipped(invoice, "another run is depositing it")
        if not self.store.take_over(attempt):
            return _skipped(invoice, "another run took it over first")
        pending = self.store.open_flux(invoice.id)
        if pending is not None and pending.attempt_id == attempt.attempt_id:
            return self.fluxes.follow(invoice, pending)
        return self._settle(invoice, attempt.attempt_id, may_have_sent=True)

    def _settle(self, invoice: Invoice, attempt_id: int, *, may_have_sent: bool) -> DepositOutcome:
        """The attempt this run holds, settled by a search by number: ours → `deposited`,
        another invoice → `conflict`, nothing → `ready` again (`absent`)."""
        assert invoice.id is not None
        outcome = DepositOutcome(
            invoice.id, invoice.supplier_siret, invoice.invoice_number, DepositResult.RETRY_LATER
        )
        try:
            found = self.search(invoice)
        except (AuthenticationError, ForbiddenError) as exc:
            self.store.let_go(attempt_id)
            raise DepositHalted(str(exc)) from exc
        except ChorusProError as exc:
            self.store.let_go(attempt_id)
            outcome.detail = f"lookup failed, stays submitting: {exc}"
            return outcome
        settled = record_found(
            self.store, invoice, attempt_id, found, outcome, may_have_sent=may_have_sent
        )
        if settled is not None:
            return settled
        if not self.store.back_to_ready(invoice.id, attempt_id):
            return _skipped(invoice, "another run took it over")
        outcome.absent = True
        outcome.detail = "absent"
        return outcome


def _skipped(invoice: Invoice, detail: str) -> DepositOutcome:
    assert invoice.id is not None
    return DepositOutcome(
        invoice.id,
        invoice.supplier_siret,
        invoice.invoice_number,
        DepositResult.SKIPPED,
        detail=detail,
    )


def _no_facturx(loaded: LoadedInvoice) -> bytes:
    raise FacturxRefusal(
        "FACTURX_UNAVAILABLE",
        f"no Factur-X builder configured for {loaded.invoice.supplier_siret}",
    )


def select_ready(engine: Engine, filters: Filters) -> list[int]:
    with Session(engine) as session:
        query = filters.apply(
            select(Invoice.id).where(Invoice.state == InvoiceState.READY).order_by(col(Invoice.id))
        )
        return [int(i) for i in session.exec(query).all()]


def select_submitting(engine: Engine, filters: Filters) -> list[int]:
    """`submitting` invoices that no live run holds: crash leftovers, fluxes awaiting their
    report, lookups that failed. One that another run is depositing right now is not here."""
    now = utcnow()
    held: set[int] = set()
    leftovers: set[int] = set()
    with Session(engine) as session:
        query = filters.apply(
            select(Invoice.id, DepositAttempt.owner, DepositAttempt.lease_until)
            .join(DepositAttempt, col(DepositAttempt.invoice_id) == col(Invoice.id))
            .where(
                Invoice.state == InvoiceState.SUBMITTING,
                col(DepositAttempt.outcome).in_(OPEN_OUTCOMES),
            )
        )
        for invoice_id, owner, lease_until in session.exec(query).all():
            assert invoice_id is not None
            if is_gone(owner, lease_until, now):
                leftovers.add(int(invoice_id))
            else:
                held.add(int(invoice_id))
    return sorted(leftovers - held)


def select_awaiting_flux(engine: Engine, sirets: Iterable[str] | None = None) -> list[int]:
    """`submitting` invoices whose open attempt is a Factur-X flux: they wait for its report."""
    with Session(engine) as session:
        query = Filters(supplier_sirets=list(sirets or [])).apply(
            select(Invoice.id)
            .where(
                Invoice.state == InvoiceState.SUBMITTING,
                col(Invoice.id).in_(
                    select(DepositAttempt.invoice_id).where(
                        DepositAttempt.mode == DepositMode.FACTURX.value,
                        col(DepositAttempt.outcome).in_(OPEN_OUTCOMES),
                    )
                ),
            )
            .order_by(col(Invoice.id))
        )
        return [int(i) for i in session.exec(query).all() if i is not None]


def run_parallel(
    depositor: Depositor,
    invoice_ids: Iterable[int],
    concurrency: int,
    work: Callable[[Depositor, int], DepositOutcome],
    on_done: Callable[[DepositOutcome], None] | None = None,
) -> list[DepositOutcome]:
    """Runs `work` over the invoices on a bounded thread pool; a halt stops the remaining ones."""

    def in_slot(invoice_id: int) -> DepositOutcome:
        with depositor.slots:
            return work(depositor, invoice_id)

    results: list[DepositOutcome] = []
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="deposit") as pool:
        # Each thread runs in a copy of the caller's context, so logs stay attached to the task run.
        futures = [
            pool.submit(contextvars.copy_context().run, in_slot, invoice_id)
            for invoice_id in invoice_ids
        ]
        try:
            for future in as_completed(futures):
                outcome = future.result()
                results.append(outcome)
                if on_done is not None:
                    on_done(outcome)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return results
