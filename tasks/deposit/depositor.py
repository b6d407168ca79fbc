"""Deposit invoices on Chorus Pro exactly once.

Chorus Pro has no idempotency key, so the warehouse carries the protocol:

1. `submitting` and a `pending` attempt row are committed *before* any write call;
2. the PDF and attachments are uploaded (their ids kept on the attempt, and reused by later attempts
   of the same invoice), then `soumettre` is called;
3. `deposited` is committed with Chorus' id, the deposit date and the certificate fingerprint.

Whenever the outcome is unknown (a crash, a timeout or a 5xx after the request left, an invoice
found in `submitting` at the start of a run), the invoice is looked up on Chorus Pro by number before
anything is sent again. Business refusals become `deposit_failed` with Chorus' code and label, and an
alert, in the same transaction; they are never retried until a corrected export makes them `ready`.
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

from chorus_etl.log import get_logger
from chorus_etl.pacing import RateLimiter
from chorus_etl.settings import DepositMode
from chorus_pro.api import ChorusProApi
from chorus_pro.errors import (
    AmbiguousOutcomeError,
    AuthenticationError,
    ChorusProError,
    ForbiddenError,
)
from schemas.payloads import (
    Destinataire,
    Fournisseur,
    InvoiceSummary,
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
)
from tasks.deposit.failures import failed_call
from tasks.deposit.flux import FacturxBuilder, FacturxRefusal, FluxDeposits, flux_file_name
from tasks.deposit.outcomes import DepositHalted, DepositOutcome, DepositResult, landed
from tasks.deposit.store import OPEN_OUTCOMES, DepositStore, LoadedInvoice, Uploads
from tasks.preflight.attachments import MIME_TYPES, upload_name_of

log = get_logger(__name__)

MAX_SUBMITS_PER_RUN = 3


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
    ) -> None:
        self.store = DepositStore(engine, accounting_email=accounting_email)
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
            supplier_id=self._supplier_id,
            throttle=self._throttle,
            grace=flux_grace,
        )
        self._prefetched: dict[int, LoadedInvoice] = {}
        self._prefetch_lock = threading.Lock()

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
            self._throttle()
            uploads.pdf_id = self.api.upload_file(
                upload_name_of(invoice.pdf_path or f"{invoice.invoice_number}.pdf", set()),
                (folder / (invoice.pdf_path or "")).read_bytes(),
                "application/pdf",
            )
            self.store.save_uploads(attempt_id, uploads)
        for relative in relatives:
            if relative not in uploads.attachments:
                self._throttle()
                path = folder / relative
                uploads.attachments[relative] = self.api.upload_file(
                    names[relative], path.read_bytes(), _mime(path)
                )
                self.store.save_uploads(attempt_id, uploads)
        return uploads.pdf_id, [(names[r], uploads.attachments[r]) for r in relatives]

    def _supplier_id(self, siret: str) -> int | None:
        supplier = self.registry.get(siret)
        return None if supplier is None else supplier.id_fournisseur

    def mode_of(self, invoice: Invoice) -> DepositMode:
        return self.modes.get(invoice.supplier_siret, DepositMode.PDF)

    def _throttle(self) -> None:
        if self.limiter is not None:
            self.limiter.acquire()

    def lookup(self, invoice: Invoice) -> InvoiceSummary | None:
        supplier = self.registry.get(invoice.supplier_siret)
        if supplier is None:
            raise DepositHalted(f"supplier {invoice.supplier_siret} unknown to Chorus Pro")
        return self.api.find_invoice_by_number(supplier.id_fournisseur, invoice.invoice_number)

    def deposit(self, invoice_id: int) -> DepositOutcome:
        """The whole protocol for one `ready` invoice. Raises `DepositHalted` on auth failures."""
        loaded = self._load(invoice_id)
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
                response = self.api.submit_invoice(request)
            except AmbiguousOutcomeError as exc:
                self.store.release(invoice_id, attempt_id, exc, sent=True)
                log.warning("deposit.ambiguous", invoice=invoice.invoice_number, error=str(exc))
                resolved_outcome = self._resolve_submitting(invoice)
                outcome.retries += 1
                if (
                    resolved_outcome.result is DepositResult.RETRY_LATER
                    and resolved_outcome.detail == "absent"
                ):
                    continue
                resolved_outcome.retries = outcome.retries
                return resolved_outcome
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
        """An invoice in `submitting`: found on Chorus → `deposited`; absent → `ready` again.

        A Factur-X is followed through its flux report instead (`FluxDeposits.follow`).
        """
        invoice = self._load(invoice_id).invoice
        pending = self.store.open_flux(invoice_id)
        if pending is not None:
            return self.fluxes.follow(invoice, pending)
        return self._resolve_submitting(invoice)

    def _resolve_submitting(self, invoice: Invoice) -> DepositOutcome:
        assert invoice.id is not None
        outcome = DepositOutcome(
            invoice.id, invoice.supplier_siret, invoice.invoice_number, DepositResult.RETRY_LATER
        )
        try:
            found = self.lookup(invoice)
        except (AuthenticationError, ForbiddenError) as exc:
            raise DepositHalted(str(exc)) from exc
        except ChorusProError as exc:
            outcome.detail = f"lookup failed, stays submitting: {exc}"
            return outcome
        if found is None:
            self.store.back_to_ready(invoice.id)
            outcome.detail = "absent"
            return outcome
        self.store.mark_deposited(
            invoice.id,
            self.store.open_attempt(invoice.id),
            found.identifiantFactureCPP,
            found.dateDepot,
            None,
            found.statut,
            AttemptOutcome.FOUND_EXISTING,
        )
        return landed(outcome, DepositResult.FOUND_EXISTING, found.identifiantFactureCPP)


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
    with Session(engine) as session:
        query = filters.apply(
            select(Invoice.id)
            .where(Invoice.state == InvoiceState.SUBMITTING)
            .order_by(col(Invoice.id))
        )
        return [int(i) for i in session.exec(query).all()]


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
