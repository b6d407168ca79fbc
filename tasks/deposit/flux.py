"""Factur-X deposits: `deposer/flux`, then the flux report, exactly once per invoice.

A flux is only *received* when `deposer/flux` answers; Chorus Pro integrates or refuses it later,
and says which in the flux report (`consulterCRDetaille`). So the protocol differs from the PDF
mode's after the claim:

1. `submitting` and a pending `facturx` attempt are committed before any call (as for PDFs);
2. the Factur-X is built from the warehouse rows; a PDF that cannot become one is `deposit_failed`
   with the reason, and nothing is sent; a Factur-X that cannot be built on this machine now
   (Ghostscript missing) leaves the invoice `ready`;
3. `deposer/flux`; the flux number is committed on the attempt the moment Chorus answers, and the
   invoice stays `submitting`: it is not on Chorus Pro yet;
4. following the flux: integrated, and not named among its refused invoices → the invoice is looked
   up by number for its Chorus id → `deposited`; refused → `deposit_failed` with Chorus Pro's
   error list and the alert; still being processed → unchanged, asked again next time;
5. a lost answer (no flux number): the invoice is looked up by number, as in PDF mode; found →
   `deposited`; absent → back to `ready` only once the flux has had `grace` to appear (Chorus
   integrates fluxes minutes after receipt, so an early "absent" proves nothing), else unchanged.

A refused invoice that Chorus Pro has under its number (a duplicate of an earlier flux, the echo
of a resend) is `deposited`, not failed: the search, not the refusal, says whether it landed, and
only if what it finds matches ours; another invoice under the number means `conflict`. An attempt
left open here (a flux awaiting its report) is held by nobody, so any later run may follow it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import PurePath

from chorus_etl.errors import NeedsAction
from chorus_etl.log import get_logger
from chorus_pro.api import ChorusProApi
from chorus_pro.errors import (
    AmbiguousOutcomeError,
    AuthenticationError,
    ChorusProError,
    ForbiddenError,
)
from schemas.payloads import FluxReport, SyntaxeFlux
from schemas.warehouse import Invoice, utcnow
from tasks.deposit.failures import failed_call
from tasks.deposit.matching import Identified
from tasks.deposit.outcomes import DepositHalted, DepositOutcome, DepositResult
from tasks.deposit.settle import record_found
from tasks.deposit.store import DepositStore, LoadedInvoice, OpenFlux

log = get_logger(__name__)

#: Flux states after which nothing more will happen to the flux.
INTEGRATED = frozenset({"IN_INTEGRE", "IN_INTEGRE_PARTIEL"})
REJECTED = "IN_REJETE"
#: The deposit-error code kept on an invoice that a flux report refused.
FLUX_REFUSED = "FLUX_REFUSE"


class FacturxRefusal(NeedsAction):
    """The invoice cannot become a Factur-X (unreadable PDF, a rule the XML breaks)."""

    def __init__(self, code: str, label: str) -> None:
        super().__init__(f"{code}: {label}")
        self.code = code
        self.label = label


#: Builds the Factur-X PDF of a loaded invoice, or raises `FacturxRefusal`.
FacturxBuilder = Callable[[LoadedInvoice], bytes]
#: What Chorus Pro holds under an invoice's supplier and number (`Depositor.search`).
Search = Callable[[Invoice], Identified]


def flux_file_name(invoice: Invoice) -> str:
    """Chorus Pro shows the name in its portal: the invoice number says which invoice it is."""
    stem = PurePath(invoice.pdf_path or invoice.invoice_number).stem or invoice.invoice_number
    return f"facturx_{invoice.invoice_number}_{stem}.pdf"[:200]


def refusal_label(report: FluxReport, number: str) -> str | None:
    """What the report says against this invoice, or None if it does not refuse it."""
    named = [e.libelleErreurDP or "" for e in report.listeErreurDP if e.numeroDP == number]
    technical = [
        " ".join(filter(None, (e.codeErreur, e.libelleErreur))) for e in report.listeErreurTechnique
    ]
    if named:
        return "; ".join(filter(None, named)) or "refusée par Chorus Pro"
    if report.etatCourantDepotFlux == REJECTED:
        return "; ".join(filter(None, technical)) or "flux rejeté par Chorus Pro"
    return None


class FluxDeposits:
    """The Factur-X side of the depositor; shares its store, API, supplier registry and pacing."""

    def __init__(
        self,
        store: DepositStore,
        api: ChorusProApi,
        *,
        build: FacturxBuilder,
        search: Search,
        throttle: Callable[[], None],
        grace: timedelta,
    ) -> None:
        self.store = store
        self.api = api
        self.build = build
        self.search = search
        self.throttle = throttle
        self.grace = grace

    def send(self, loaded: LoadedInvoice, outcome: DepositOutcome) -> DepositOutcome:
        """Claims a `ready` invoice and deposits its Factur-X; it stays `submitting` until followed."""
        invoice = loaded.invoice
        assert invoice.id is not None
        attempt_id = self.store.claim(invoice.id, loaded.uploads, mode="facturx")
        if attempt_id is None:
            outcome.detail = "invoice is no longer ready (another run has it)"
            return outcome
        try:
            content = self.build(loaded)
        except FacturxRefusal as exc:
            self.store.mark_failed(invoice.id, attempt_id, exc.code, exc.label)
            outcome.result, outcome.detail = DepositResult.REFUSED, str(exc)
            log.warning("deposit.facturx_refused", invoice=invoice.invoice_number, error=str(exc))
            return outcome
        except OSError as exc:
            # A tool missing here (Ghostscript) or a file system error: nothing was sent.
            return failed_call(self.store, invoice.id, attempt_id, exc, outcome)
        try:
            self.throttle()
            self.store.renew(attempt_id)
            response = self.api.deposit_flux(
                flux_file_name(invoice), content, SyntaxeFlux.IN_DP_E2_CII_FACTURX
            )
        except AmbiguousOutcomeError as exc:
            self.store.release(invoice.id, attempt_id, exc, sent=True)
            self.store.let_go(attempt_id)
            outcome.result, outcome.detail = DepositResult.AWAITING, "flux answer lost"
            log.warning("deposit.ambiguous", invoice=invoice.invoice_number, error=str(exc))
            return outcome
        except (ChorusProError, OSError) as exc:
            return failed_call(self.store, invoice.id, attempt_id, exc, outcome)
        self.store.save_flux(attempt_id, response.numeroFluxDepot)
        outcome.result, outcome.flux_number = DepositResult.AWAITING, response.numeroFluxDepot
        log.info("deposit.flux_sent", invoice=invoice.invoice_number, flux=response.numeroFluxDepot)
        return outcome

    def follow(self, invoice: Invoice, pending: OpenFlux) -> DepositOutcome:
        """Settles a `submitting` Factur-X (whose attempt this run holds) from its flux report,
        or from a search by number; what stays open is let go for the next run."""
        assert invoice.id is not None
        outcome = DepositOutcome(
            invoice.id, invoice.supplier_siret, invoice.invoice_number, DepositResult.AWAITING
        )
        outcome.flux_number = pending.flux_number
        try:
            if pending.flux_number is None:
                settled = self._after_lost_answer(invoice, pending, outcome)
            else:
                settled = self._after_report(invoice, pending, outcome)
        except (AuthenticationError, ForbiddenError) as exc:
            self.store.let_go(pending.attempt_id)
            raise DepositHalted(str(exc)) from exc
        except ChorusProError as exc:
            self.store.let_go(pending.attempt_id)
            outcome.result = DepositResult.RETRY_LATER
            outcome.detail = f"flux follow-up failed, stays submitting: {exc}"
            return outcome
        if settled.result is DepositResult.AWAITING:
            self.store.let_go(pending.attempt_id)
        return settled

    def _after_report(
        self, invoice: Invoice, pending: OpenFlux, outcome: DepositOutcome
    ) -> DepositOutcome:
        assert invoice.id is not None and pending.flux_number is not None
        self.throttle()
        report = self.api.flux_report(pending.flux_number)
        state = report.etatCourantDepotFlux or ""
        if state not in INTEGRATED and state != REJECTED:
            outcome.detail = f"flux {pending.flux_number} is {state or 'being processed'}"
            return outcome
        refused = refusal_label(report, invoice.invoice_number)
        found = self.search(invoice)
        if found.ours is not None or (found.other is not None and refused is not None):
            settled = self._record(invoice, pending, found, outcome)
            assert settled is not None
            return settled
        if refused is None:
            # Integrated, yet not found by its number: Chorus Pro has not indexed it yet.
            outcome.detail = f"flux {pending.flux_number} integrated, invoice not searchable yet"
            return outcome
        self.store.mark_failed(invoice.id, pending.attempt_id, FLUX_REFUSED, refused)
        outcome.result, outcome.detail = DepositResult.REFUSED, refused
        log.warning("deposit.flux_refused", invoice=invoice.invoice_number, error=refused)
        return outcome

    def _after_lost_answer(
        self, invoice: Invoice, pending: OpenFlux, outcome: DepositOutcome
    ) -> DepositOutcome:
        assert invoice.id is not None
        settled = self._record(invoice, pending, self.search(invoice), outcome)
        if settled is not None:
            return settled
        if utcnow() - pending.started_at < self.grace:
            outcome.detail = "flux answer lost; not on Chorus Pro yet, asked again next run"
            return outcome
        if self.store.back_to_ready(invoice.id, pending.attempt_id):
            outcome.result, outcome.detail, outcome.absent = (
                DepositResult.RETRY_LATER,
                "absent",
                True,
            )
        return outcome

    def _record(
        self, invoice: Invoice, pending: OpenFlux, found: Identified, outcome: DepositOutcome
    ) -> DepositOutcome | None:
        """What the search found, settled as this flux's own deposit when it is ours."""
        return record_found(
            self.store,
            invoice,
            pending.attempt_id,
            found,
            outcome,
            may_have_sent=True,
            ours_sent_it=True,
        )
