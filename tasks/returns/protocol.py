"""Answer a returned invoice on Chorus Pro exactly once: `completer` and `recycler`.

Chorus Pro has no idempotency key for these either, so the deposit's protocol applies:

1. the invoice's status history is read: the action is sent only if the invoice is in the
   status it answers (`SUSPENDUE` for `completer`, `A_RECYCLER` for `recycler`); otherwise it
   is refused before any call, with the status Chorus Pro gives;
2. the action is claimed (`pending`, held by this run with a lease) and committed with how often
   the history already shows the action's result (`COMPLETEE`; `DEPOSEE` or
   `EN_COURS_ACHEMINEMENT` for a recycled invoice, which Chorus Pro deposits again);
3. the files of a completion are uploaded, their ids saved after each; then the one write call.

Whenever the outcome is unknown (a timeout, a dropped connection or a 5xx after the call left,
an action left open by a run that is gone), the status history settles it: the result appears
more often than when the action was claimed → `done`; not, and the invoice still waits → sent
again (at most three times in a run); the invoice moved on otherwise → refused, with its status.
Chorus Pro's refusals are `refused` with its code and label. Each end tells the entrepreneur and
accounting, in French, what was done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from chorus_etl.leases import ClaimLost, Owner, is_gone
from chorus_etl.log import get_logger
from chorus_pro.api import ChorusProApi
from chorus_pro.errors import (
    AmbiguousOutcomeError,
    AuthenticationError,
    BusinessError,
    ChorusProError,
    ForbiddenError,
)
from schemas.payloads import (
    CompleteInvoiceRequest,
    Destinataire,
    InvoiceHistory,
    PieceJointeComplementaire,
    RecycleInvoiceRequest,
)
from schemas.warehouse import InvoiceState, ReturnKind, ReturnState, utcnow
from tasks.returns.store import OPEN_STATES, Action, ReturnStore

log = get_logger(__name__)

MAX_SENDS_PER_RUN = 3
#: The status each action answers, and the statuses that show it landed.
AWAITED = {ReturnKind.COMPLETE: "SUSPENDUE", ReturnKind.RECYCLE: "A_RECYCLER"}
RESULTS = {
    ReturnKind.COMPLETE: frozenset({"COMPLETEE"}),
    ReturnKind.RECYCLE: frozenset({"DEPOSEE", "EN_COURS_ACHEMINEMENT"}),
}
#: Codes of the refusals made before any call.
NOT_DEPOSITED = "NON_DEPOSEE"
WRONG_STATUS = "STATUT"
FILE_UNREADABLE = "FICHIER"
ACCESS_REFUSALS = (AuthenticationError, ForbiddenError)


@dataclass
class ReturnOutcome:
    """What one run did with one action."""

    action_id: int
    kind: str
    supplier_siret: str
    invoice_number: str
    #: done, refused, retry_later (nothing lost: the next run answers it), skipped.
    result: str
    detail: str | None = None
    chorus_status: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "action_id": self.action_id,
            "kind": self.kind,
            "supplier_siret": self.supplier_siret,
            "invoice_number": self.invoice_number,
            "result": self.result,
            "detail": self.detail,
            "chorus_status": self.chorus_status,
        }


def _statuses(history: InvoiceHistory) -> list[str]:
    return [h.histoStatutCode for h in history.historiquesDesStatuts.histoStatut]


def results_in(kind: ReturnKind, history: InvoiceHistory) -> int:
    """How often the history shows what the action would make of the invoice."""
    return sum(1 for status in _statuses(history) if status in RESULTS[kind])


def current_status(history: InvoiceHistory) -> str | None:
    return history.statutCourantCode or next(iter(reversed(_statuses(history))), None)


class Answerer:
    """Answers return actions one at a time; `api_for` gives the structure's Chorus Pro client."""

    def __init__(
        self,
        store: ReturnStore,
        api_for: Callable[[str], ChorusProApi],
        accounting_email_for: Callable[[str], str],
    ) -> None:
        self.store = store
        self.api_for = api_for
        self.accounting_email_for = accounting_email_for

    @classmethod
    def start(
        cls,
        engine: Any,
        api_for: Callable[[str], ChorusProApi],
        accounting_email_for: Callable[[str], str],
        lease: timedelta,
    ) -> Answerer:
        return cls(ReturnStore(engine, Owner.start(lease)), api_for, accounting_email_for)

    def close(self) -> None:
        """The run is over: whatever it still holds is a leftover for the next run at once."""
        self.store.owner.retire()

    def __enter__(self) -> Answerer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def answer(self, action_id: int) -> ReturnOutcome:
        action = self.store.load(action_id)
        try:
            if action.state in OPEN_STATES:
                return self._leftover(action)
            if action.state != ReturnState.REQUESTED.value:
                return _outcome(action, "skipped", f"already {action.state}")
            return self._answer(action)
        except ClaimLost as exc:
            log.warning("returns.claim_lost", action=action.id, error=str(exc))
            return _outcome(action, "skipped", str(exc))

    # --- one action ----------------------------------------------------------------------------

    def _refuse(self, action: Action, code: str, label: str) -> ReturnOutcome:
        accounting = self.accounting_email_for(action.supplier_siret)
        if not self.store.refuse(action, code, label, accounting_email=accounting):
            return _outcome(action, "skipped", "settled by another run")
        log.info("returns.refused", action=action.id, invoice=action.invoice_number, code=code)
        return _outcome(action, "refused", f"{code}: {label}")

    def _answer(self, action: Action) -> ReturnOutcome:
        if action.invoice_state != InvoiceState.DEPOSITED.value or not action.chorus_invoice_id:
            return self._refuse(
                action,
                NOT_DEPOSITED,
                f"la facture n'est pas déposée sur Chorus Pro (état {action.invoice_state})",
            )
        api = self.api_for(action.supplier_siret)
        try:
            history = api.get_history(action.chorus_invoice_id)
        except BusinessError as exc:
            return self._refuse(action, str(exc.code_retour), exc.libelle)
        except ChorusProError as exc:
            return _outcome(action, "retry_later", f"status history unavailable: {exc}")
        status = current_status(history)
        if status != AWAITED[action.kind]:
            return self._refuse(
                action,
                WRONG_STATUS,
                f"la facture n'est pas {_awaited_fr(action.kind)} sur Chorus Pro (statut "
                f"{status or 'inconnu'}) : rien n'a été envoyé",
            )
        if not self.store.claim(action, results_in(action.kind, history)):
            return _outcome(action, "skipped", "another action of this invoice is under way")
        return self._send(action, api)

    def _send(self, action: Action, api: ChorusProApi) -> ReturnOutcome:
        assert action.chorus_invoice_id is not None
        for _send in range(MAX_SENDS_PER_RUN):
            try:
                if action.kind is ReturnKind.COMPLETE:
                    request = self._completion(action, api)
                    self.store.renew(action.id)
                    answer = api.complete_invoice(request)
                    status: str | None = "COMPLETEE"
                    log.info(
                        "returns.completed",
                        invoice=action.invoice_number,
                        id=answer.identifiantFactureCPP,
                    )
                else:
                    self.store.renew(action.id)
                    recycled = api.recycle_invoice(_recycling(action))
                    status = recycled.statutFacture
            except AmbiguousOutcomeError as exc:
                self.store.sent_without_answer(action.id, str(exc))
                log.warning("returns.ambiguous", action=action.id, error=str(exc))
                settled = self._settle(action, api)
                if settled is None:
                    self.store.send_again(action.id)
                    continue
                return settled
            except BusinessError as exc:
                return self._refuse(action, str(exc.code_retour), exc.libelle)
            except OSError as exc:
                return self._refuse(action, FILE_UNREADABLE, f"fichier illisible : {exc}")
            except ChorusProError as exc:
                # Nothing reached Chorus Pro (transient before the call, access refused).
                self.store.back_to_requested(action.id, f"{type(exc).__name__}: {exc}")
                if isinstance(exc, ACCESS_REFUSALS):
                    log.error("returns.access_refused", action=action.id, error=str(exc))
                return _outcome(action, "retry_later", str(exc))
            return self._done(action, api, status)
        self.store.back_to_requested(action.id, "too many ambiguous answers in one run")
        return _outcome(action, "retry_later", "too many ambiguous answers in one run")

    def _completion(self, action: Action, api: ChorusProApi) -> CompleteInvoiceRequest:
        """Uploads what earlier attempts did not, saving each id as soon as Chorus gives it."""
        assert action.chorus_invoice_id is not None
        attached: list[PieceJointeComplementaire] = []
        for planned in action.files:
            path = str(planned["path"])
            if path not in action.uploads:
                content = Path(path).read_bytes()
                self.store.renew(action.id)
                action.uploads[path] = api.upload_file(
                    str(planned["name"]),
                    content,
                    str(planned["mime"]),
                    extension=str(planned["extension"]),
                )
                self.store.save_uploads(action.id, action.uploads)
            attached.append(
                PieceJointeComplementaire(
                    pieceJointeComplementaireDesignation=str(planned["name"])[:100],
                    pieceJointeComplementaireId=action.uploads[path],
                    pieceJointeComplementaireType="PIECE_JUSTIFICATIVE",
                )
            )
        return CompleteInvoiceRequest(
            identifiantFactureCPP=action.chorus_invoice_id,
            commentaire=action.comment,
            pieceJointeComplementaire=attached,
        )

    def _done(self, action: Action, api: ChorusProApi, status: str | None) -> ReturnOutcome:
        held, note = (None, None)
        if action.kind is ReturnKind.RECYCLE:
            held, note = _routing_held(api, action)
        accounting = self.accounting_email_for(action.supplier_siret)
        if not self.store.done(
            action, status=status, held=held, detail=note, accounting_email=accounting
        ):
            return _outcome(action, "skipped", "settled by another run")
        log.info("returns.done", action=action.id, invoice=action.invoice_number, status=status)
        return _outcome(action, "done", note, status)

    # --- outcomes unknown ----------------------------------------------------------------------

    def _leftover(self, action: Action) -> ReturnOutcome:
        if not is_gone(action.owner, action.lease_until, utcnow()):
            return _outcome(action, "skipped", "another run is answering it")
        if not self.store.take_over(action):
            return _outcome(action, "skipped", "another run took it over first")
        api = self.api_for(action.supplier_siret)
        settled = self._settle(action, api)
        if settled is not None:
            return settled
        self.store.send_again(action.id)
        return self._send(action, api)

    def _settle(self, action: Action, api: ChorusProApi) -> ReturnOutcome | None:
        """Whether the action this run holds reached Chorus Pro, from the status history: an
        outcome, or None when it did not and the invoice still waits for it."""
        assert action.chorus_invoice_id is not None
        try:
            history = api.get_history(action.chorus_invoice_id)
        except ChorusProError as exc:
            self.store.let_go(action.id, f"status history unavailable: {exc}")
            return _outcome(action, "retry_later", f"status history unavailable: {exc}")
        status = current_status(history)
        if results_in(action.kind, history) > (action.results_seen or 0):
            return self._done(action, api, status)
        if status == AWAITED[action.kind]:
            log.info("returns.absent", action=action.id, invoice=action.invoice_number)
            return None
        return self._refuse(
            action,
            WRONG_STATUS,
            f"la facture n'est plus {_awaited_fr(action.kind)} sur Chorus Pro (statut "
            f"{status or 'inconnu'}) et l'action n'y figure pas",
        )


def _awaited_fr(kind: ReturnKind) -> str:
    return "suspendue" if kind is ReturnKind.COMPLETE else "à recycler"


def _recycling(action: Action) -> RecycleInvoiceRequest:
    assert action.chorus_invoice_id is not None
    after, before = action.after, action.before
    engagement = after.get("engagement_number")
    return RecycleInvoiceRequest(
        identifiantFactureCPP=action.chorus_invoice_id,
        destinataire=Destinataire(
            codeDestinataire=str(after.get("buyer_siret") or ""),
            codeServiceExecutant=after.get("buyer_service_code") or None,
        ),
        # The key is unconfirmed (`reference` in go-choruspro, `references` elsewhere), and
        # whether Chorus Pro applies it at all: `_routing_held` checks what it kept.
        reference={"numeroBonCommande": engagement or ""}
        if engagement != before.get("engagement_number")
        else None,
        commentaire=action.comment,
    )


def _routing_held(
    api: ChorusProApi, action: Action
) -> tuple[dict[str, str | None] | None, str | None]:
    """Where Chorus Pro routes the recycled invoice now, and what it did not take, if anything.

    Whether `recycler` changes the engagement is unproven, so what Chorus Pro holds is read back
    rather than assumed; None when it cannot be read (the routing asked is kept)."""
    assert action.chorus_invoice_id is not None
    try:
        detail = api.get_invoice(action.chorus_invoice_id)
    except ChorusProError as exc:
        log.warning("returns.routing_unread", action=action.id, error=str(exc))
        return None, None
    recipient = detail.destinataire or {}
    references = detail.references or {}
    held: dict[str, str | None] = {
        "buyer_siret": recipient.get("codeDestinataire") or action.after.get("buyer_siret"),
        "buyer_service_code": recipient.get("codeServiceExecutant") or None,
        "engagement_number": references.get("numeroBonCommande") or None,
    }
    labels = {
        "buyer_siret": "le SIRET du destinataire",
        "buyer_service_code": "le code service",
        "engagement_number": "le numéro d'engagement",
    }
    kept = [
        f"{labels[name]} reste {held[name] or '(vide)'} au lieu de "
        f"{action.after.get(name) or '(vide)'}"
        for name in labels
        if (held[name] or None) != (action.after.get(name) or None)
    ]
    note = ("Chorus Pro n'a pas tout pris en compte : " + "; ".join(kept) + ".") if kept else None
    return held, note


def _outcome(
    action: Action, result: str, detail: str | None = None, status: str | None = None
) -> ReturnOutcome:
    return ReturnOutcome(
        action.id,
        action.kind.value,
        action.supplier_siret,
        action.invoice_number,
        result,
        detail,
        status,
    )
