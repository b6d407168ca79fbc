"""Nightly reconciliation: what Chorus Pro says of the cooperative's invoices, into the warehouse.

One paginated `rechercher/fournisseur` per supplier structure over the status-change window
(the stored watermark minus an overlap), never one call per invoice. New statuses are appended to
`status_event` (unique on invoice + status + minute, so the overlap and re-runs are no-ops) and
`invoice.current_status` follows the latest one, in the same transaction as the alerts they cause.
The watermark, the latest status time seen, moves only after that commit. Invoices Chorus knows but
the warehouse does not (deposited by hand on the portal) are added as `external`.

The search returns only each invoice's *current* status: a change that was overtaken between two
runs is not seen, unless detail mode reads `consulter/historique` for the invoices that changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chorus_etl.log import get_logger
from chorus_etl.read_ahead import read_ahead
from chorus_pro.api import ChorusProApi
from schemas.alerts import AlertKind
from schemas.payloads import InvoiceSearchCriteria, InvoiceSummary
from schemas.warehouse import Invoice, InvoiceState, StatusEvent, SyncWatermark, utcnow
from tasks.alerts import messages, outbox
from tasks.deposit.matching import differences, origin_of
from tasks.deposit.store import CONFLICT_CODE, conflict_label, may_have_sent, record_conflict

log = get_logger(__name__)

PAGE_SIZE = 1000
#: Statuses that ask something of the entrepreneur, and so are alerted.
ALERTED = frozenset({"REJETEE", "SUSPENDUE", "A_RECYCLER"})
#: Every status Chorus Pro documents for invoices; anything else is stored as is, and logged.
KNOWN_STATUSES = frozenset(
    [
        "BROUILLON",
        "A_VALIDER_1",
        "ERREUR_FOURNISSEUR_SUR_VALIDEUR",
        "REFUSEE_1",
        "VALIDEE_1",
        "ABSENCE_VALIDATION_1_HORS_DELAI",
        "A_VALIDER_2",
        "ERREUR_COTRAITANT_SUR_VALIDEUR",
        "REFUSEE_2",
        "VALIDEE_2",
        "ABSENCE_VALIDATION_2_HORS_DELAI",
        "DEPOSEE",
        "ERREUR_FOURNISSEUR_SUR_MOE",
        "EN_COURS_ACHEMINEMENT",
        "MISE_A_DISPOSITION",
        "A_RECYCLER",
        "SUSPENDUE",
        "REJETEE",
        "MANDATEE",
        "MISE_EN_PAIEMENT",
        "COMPTABILISEE",
        "MISE_A_DISPOSITION_COMPTABLE",
        "ABANDONNEE",
        "SUPPRIMEE",
        "ASSOCIEE",
        "EN_COURS_TRAITEMENT_PIVOT_S",
        "A_VALIDER_MOE",
        "REFUSEE_MOE",
        "EN_ATTENTE_RECYCLAGE_FOURNISSEUR",
        "ERREUR_MOE_SUR_FOURNISSEUR",
        "ERREUR_MOA_SUR_FOURNISSEUR",
        "INTERPRETEE_OCR",
        "COMPLETEE",
        "ERREUR_FOURNISSEUR_SUR_MOA",
        "ERREUR_MOE_SUR_MOA",
        "ERREUR_DESTINATAIRE_PD",
        "ERREUR_DESTINATAIRE_EA",
        "SERVICE_FAIT",
        "NON_CONFORME",
        "A_ASSOCIER_MOE",
        "ERREUR_DE_MOE",
        "MISE_A_DISPOSITION_MOE",
        "PRISE_EN_COMPTE_MOE",
        "A_ASSOCIER_MOA",
        "ERREUR_DE_MOA",
        "REFUSEE_MOA",
        "A_ASSOCIER_FOURNISSEUR",
        "REFUSEE_FOURNISSEUR",
        "A_COMPLETER",
        "TRANSMISE_MOA",
        "PRISE_EN_COMPTE_DESTINATAIRE",
        "REMPLACEE_PAR_A22",
        "DUPLIQUE_APRES_REFUS",
        "MISE_A_DISPOSITION_MOA",
        "PRISE_EN_COMPTE_MOA",
        "ABSENCE_VALIDATION_MOE_DELAI_REGLEMENTAIRE",
        "TECHNIQUE_INCONNU",
    ]
)


@dataclass
class SupplierSync:
    """What one supplier's reconciliation did."""

    supplier_siret: str
    results: int = 0
    pages: int = 0
    api_calls: int = 0
    new_events: int = 0
    status_changes: int = 0
    external_created: int = 0
    #: Invoices of ours found on Chorus Pro, identical, without our deposit's id (by hand).
    matched_on_chorus: int = 0
    #: Invoices of ours whose number another invoice holds on Chorus Pro.
    conflicts: int = 0
    alerts: int = 0
    unknown_statuses: list[str] = field(default_factory=list)
    watermark_before: datetime | None = None
    watermark_after: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "supplier_siret": self.supplier_siret,
            "results": self.results,
            "pages": self.pages,
            "api_calls": self.api_calls,
            "new_events": self.new_events,
            "status_changes": self.status_changes,
            "external_created": self.external_created,
            "matched_on_chorus": self.matched_on_chorus,
            "conflicts": self.conflicts,
            "alerts": self.alerts,
            "unknown_statuses": sorted(set(self.unknown_statuses)),
            "watermark_before": self.watermark_before.isoformat()
            if self.watermark_before
            else None,
            "watermark_after": self.watermark_after.isoformat() if self.watermark_after else None,
        }


def minute(moment: datetime) -> datetime:
    """Status times at minute precision: the history endpoint gives no seconds, the search does."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def watermark_key(supplier_siret: str) -> str:
    return f"reconcile:{supplier_siret}"


def read_watermark(engine: Engine, key: str) -> datetime | None:
    with Session(engine) as session:
        row = session.get(SyncWatermark, key)
        return row.value if row else None


def move_watermark(engine: Engine, key: str, value: datetime) -> None:
    """Only forward: a late, older answer never moves the window back."""
    with Session(engine) as session:
        row = session.get(SyncWatermark, key)
        if row is None:
            session.add(SyncWatermark(key=key, value=value))
        elif value > row.value:
            row.value, row.updated_at = value, utcnow()
            session.add(row)
        session.commit()


def changed_pages(
    api: ChorusProApi, id_fournisseur: int, since: datetime | None, sync: SupplierSync
) -> Iterator[list[InvoiceSummary]]:
    """Every invoice of the supplier whose status changed since `since`, page by page."""
    criteria = InvoiceSearchCriteria(
        idFournisseur=id_fournisseur, periodeDateHeureEtatCourantDu=since
    )
    page = 1
    while True:
        result = api.search_invoices(criteria, page, PAGE_SIZE)
        sync.api_calls += 1
        sync.pages += 1
        sync.results += len(result.listeFactures)
        if result.listeFactures:
            yield list(result.listeFactures)
        if page >= (result.parametresRetour.pages or 1) or not result.listeFactures:
            return
        page += 1


def _load_invoices(
    session: Session, supplier_siret: str, numbers: Sequence[str]
) -> dict[str, Invoice]:
    invoices: dict[str, Invoice] = {}
    for start in range(0, len(numbers), 500):
        rows = session.exec(
            select(Invoice).where(
                Invoice.supplier_siret == supplier_siret,
                col(Invoice.invoice_number).in_(numbers[start : start + 500]),
            )
        ).all()
        invoices.update({row.invoice_number: row for row in rows})
    return invoices


def _existing_events(
    session: Session, invoice_ids: Sequence[int]
) -> set[tuple[int, str, datetime]]:
    seen: set[tuple[int, str, datetime]] = set()
    for start in range(0, len(invoice_ids), 500):
        rows = session.exec(
            select(StatusEvent.invoice_id, StatusEvent.status, StatusEvent.status_at).where(
                col(StatusEvent.invoice_id).in_(invoice_ids[start : start + 500])
            )
        ).all()
        seen.update((i, s, minute(at)) for i, s, at in rows)
    return seen


def _external(supplier_siret: str, item: InvoiceSummary, cooperative: str) -> Invoice:
    """An invoice deposited by hand on the portal, attributed through its supplier service."""

    def cents(value: object) -> int:
        return round(float(str(value)) * 100) if value is not None else 0

    ht, ttc = cents(item.montantHT), cents(item.montantTTC)
    extra = item.model_extra or {}
    return Invoice(
        cooperative=cooperative,
        supplier_siret=supplier_siret,
        invoice_number=(item.numeroFacture or f"CPP-{item.identifiantFactureCPP}")[:64],
        invoice_type=(item.typeFacture or "FACTURE")[:20],
        invoice_date=item.dateFacture,
        entrepreneur_code=(extra.get("codeServiceFournisseur") or None),
        buyer_siret=item.codeDestinataire,
        buyer_name=(item.designationDestinataire or "")[:200] or None,
        buyer_service_code=item.codeServiceExecutant,
        engagement_number=(item.numeroBonCommande or None),
        market_number=(item.numeroMarche or None),
        currency=(item.devise or "EUR")[:10],
        amount_ht_cents=ht,
        amount_vat_cents=max(ttc - ht, 0),
        total_ttc_cents=ttc,
        state=InvoiceState.EXTERNAL.value,
        chorus_invoice_id=item.identifiantFactureCPP,
        deposit_date=item.dateDepot,
    )


#: The current status an invoice's newest event gives it, one row per invoice of a page.
_SET_CURRENT_STATUS = (
    sa.update(Invoice)
    .where(col(Invoice.id) == sa.bindparam("target_id"))
    .values(
        current_status=sa.bindparam("new_status"),
        current_status_at=sa.bindparam("new_status_at"),
        current_status_comment=sa.bindparam("new_comment"),
        updated_at=sa.bindparam("new_updated_at"),
    )
)


def apply_statuses(
    engine: Engine,
    supplier_siret: str,
    observations: Iterable[tuple[InvoiceSummary, list[tuple[str, datetime, str | None, str]]]],
    sync: SupplierSync,
    accounting_email: str,
    cooperative: str,
) -> None:
    """Appends new statuses, updates current ones and queues alerts of one search page (or one
    backfill batch), all in one transaction.

    Invoices found only on Chorus Pro join `cooperative`, the structure's (every structure of
    one search is one cooperative's). The new status events are rows, not ORM objects, written
    in one batched insert before the commit: nothing reads them back, and building thousands of
    model instances was most of a nightly's own time (bench.reconcile)."""
    observed = list(observations)
    owner = cooperative
    events_to_add: list[dict[str, object]] = []
    recorded_at = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        invoices = _load_invoices(
            session,
            supplier_siret,
            sorted(
                {item.numeroFacture or f"CPP-{item.identifiantFactureCPP}" for item, _ in observed}
            ),
        )
        targets: dict[int, Invoice] = {}
        for item, _events in observed:
            number = item.numeroFacture or f"CPP-{item.identifiantFactureCPP}"
            if number not in invoices:
                invoice = _external(supplier_siret, item, owner)
                session.add(invoice)
                invoices[number] = invoice
                sync.external_created += 1
            if _is_ours(session, invoices[number], item, sync, accounting_email):
                targets[item.identifiantFactureCPP] = invoices[number]
        session.flush()
        existing = _existing_events(session, [i.id for i in invoices.values() if i.id is not None])
        # Each invoice's current status as it stands, then as the events move it: written in
        # one executemany below, not through 1,000 ORM objects (most of a page's own time).
        current: dict[int, tuple[str | None, datetime | None, str | None]] = {}
        for item, events in observed:
            target = targets.get(item.identifiantFactureCPP)
            if target is None:
                continue
            invoice = target
            assert invoice.id is not None
            status_now = current.get(invoice.id)
            if status_now is None:
                status_now = (
                    invoice.current_status,
                    invoice.current_status_at,
                    invoice.current_status_comment,
                )
            for status, at, comment, source in sorted(events, key=lambda e: e[1]):
                at = minute(at)
                key = (invoice.id, status, at)
                if key in existing:
                    continue
                existing.add(key)
                if status not in KNOWN_STATUSES:
                    sync.unknown_statuses.append(status)
                    log.warning(
                        "reconcile.unknown_status", status=status, invoice=invoice.invoice_number
                    )
                comment = (comment or None) and comment[:2000]
                events_to_add.append(
                    {
                        "invoice_id": invoice.id,
                        "status": status[:60],
                        "status_at": at,
                        "comment": comment,
                        "source": source,
                        "recorded_at": recorded_at,
                    }
                )
                sync.new_events += 1
                if status_now[1] is None or at >= status_now[1]:
                    if status_now[0] != status:
                        sync.status_changes += 1
                    status_now = (status[:60], at, comment)
                    current[invoice.id] = status_now
                if status in ALERTED:
                    sync.alerts += _queue_status_alert(
                        session, invoice, status, at, comment, accounting_email
                    )
        if current:
            session.connection().execute(
                _SET_CURRENT_STATUS,
                [
                    {
                        "target_id": invoice_id,
                        "new_status": status,
                        "new_status_at": at,
                        "new_comment": comment,
                        "new_updated_at": recorded_at,
                    }
                    for invoice_id, (status, at, comment) in current.items()
                ],
            )
        if events_to_add:
            session.execute(sa.insert(StatusEvent), events_to_add)
        session.commit()


def _is_ours(
    session: Session,
    invoice: Invoice,
    item: InvoiceSummary,
    sync: SupplierSync,
    accounting_email: str,
) -> bool:
    """Whether the statuses of `item` are this invoice's. A number alone proves nothing: an
    invoice of ours that Chorus Pro does not know by id takes it only if they match
    (`tasks.deposit.matching`); otherwise it is left alone, or put in `conflict` if it was about
    to be sent."""
    if invoice.chorus_invoice_id is not None:
        if invoice.chorus_invoice_id != item.identifiantFactureCPP:
            log.warning(
                "reconcile.number_reused",
                invoice=invoice.invoice_number,
                ours=invoice.chorus_invoice_id,
                theirs=item.identifiantFactureCPP,
            )
            return False
        return True
    if invoice.state in _SETTLED_ELSEWHERE:
        return False
    diffs = differences(invoice, item)
    if not diffs:
        if not _moves(session, invoice, InvoiceState.DEPOSITED):
            return False
        invoice.chorus_invoice_id = item.identifiantFactureCPP
        invoice.state = InvoiceState.DEPOSITED.value
        invoice.deposit_date = item.dateDepot or invoice.deposit_date
        invoice.deposit_origin = origin_of(
            item, may_have_sent=invoice.id is not None and may_have_sent(session, invoice.id)
        ).value
        invoice.deposit_error_code = invoice.deposit_error_label = None
        invoice.updated_at = utcnow()
        sync.matched_on_chorus += 1
        log.info(
            "reconcile.found_deposited",
            invoice=invoice.invoice_number,
            origin=invoice.deposit_origin,
        )
        return True
    if invoice.state in _SENDABLE and _moves(session, invoice, InvoiceState.CONFLICT):
        invoice.state = InvoiceState.CONFLICT.value
        invoice.deposit_error_code = CONFLICT_CODE
        invoice.deposit_error_label = conflict_label(item, diffs)[:2000]
        invoice.updated_at = utcnow()
        session.flush()
        record_conflict(session, invoice, item, diffs, accounting_email)
        sync.conflicts += 1
        log.warning(
            "reconcile.conflict", invoice=invoice.invoice_number, theirs=item.identifiantFactureCPP
        )
    return False


def _moves(session: Session, invoice: Invoice, state: InvoiceState) -> bool:
    """The invoice goes to `state` only if it is still in the state read: a deposit run may have
    claimed it since (then the deposit protocol settles it, with the same matching rule)."""
    moved = session.connection().execute(
        sa.update(Invoice)
        .where(col(Invoice.id) == invoice.id, col(Invoice.state) == invoice.state)
        .values(state=state.value)
    )
    if moved.rowcount != 1:
        session.expunge(invoice)  # the row changed under us: nothing of this object is written
        log.info("reconcile.claimed_meanwhile", invoice=invoice.invoice_number)
        return False
    invoice.state = state.value
    return True


#: Invoices whose fate the deposit protocol settles (it searches by number itself), or that
#: accounting must decide.
_SETTLED_ELSEWHERE = frozenset({InvoiceState.SUBMITTING.value, InvoiceState.CONFLICT.value})
#: Invoices that would be sent (again): another invoice under their number stops them.
_SENDABLE = frozenset({InvoiceState.READY.value, InvoiceState.DEPOSIT_FAILED.value})


def _queue_status_alert(
    session: Session,
    invoice: Invoice,
    status: str,
    at: datetime,
    comment: str | None,
    accounting_email: str,
) -> int:
    facts, entrepreneur = outbox.facts_of(session, invoice)
    subject, body = messages.status_alert(facts, status, at, comment)
    return len(
        outbox.queue(
            session,
            kind=AlertKind.of_status(status),
            event_key=f"{invoice.supplier_siret}:{invoice.invoice_number}:{at.isoformat()}",
            invoice=invoice,
            subject=subject,
            body=body,
            entrepreneur=entrepreneur,
            accounting_email=accounting_email,
        )
    )


def history_events(
    api: ChorusProApi, item: InvoiceSummary
) -> list[tuple[str, datetime, str | None, str]]:
    history = api.get_history(item.identifiantFactureCPP)
    return [
        (h.histoStatutCode, h.histoStatutDatePassage, h.histoStatutCommentaire, "history")
        for h in history.historiquesDesStatuts.histoStatut
        if h.histoStatutDatePassage is not None
    ]


def _observed(
    api: ChorusProApi, id_fournisseur: int, since: datetime | None, sync: SupplierSync, detail: bool
) -> Iterator[list[tuple[InvoiceSummary, list[tuple[str, datetime, str | None, str]]]]]:
    """Each page of changed invoices with what was observed of each: its current status, and
    its whole history when `detail` is asked for (one more call per invoice)."""
    for items in changed_pages(api, id_fournisseur, since, sync):
        observations = []
        for item in items:
            events: list[tuple[str, datetime, str | None, str]] = []
            if item.statut and item.dateHeureEtatCourant:
                events.append(
                    (item.statut, item.dateHeureEtatCourant, item.commentaireEtatCourant, "search")
                )
            if detail:
                events.extend(history_events(api, item))
                sync.api_calls += 1
            observations.append((item, events))
        yield observations


def reconcile_supplier(
    engine: Engine,
    api: ChorusProApi,
    supplier_siret: str,
    id_fournisseur: int,
    *,
    overlap: timedelta,
    accounting_email: str,
    cooperative: str,
    detail: bool = False,
) -> SupplierSync:
    sync = SupplierSync(supplier_siret)
    key = watermark_key(supplier_siret)
    sync.watermark_before = read_watermark(engine, key)
    since = sync.watermark_before - overlap if sync.watermark_before else None
    latest: datetime | None = None
    # Chorus Pro is asked for the next page while this one is written (`read_ahead`): each page
    # is its own transaction; the watermark moves once every page is written, so a run that
    # stops between pages reads them again next time, where the events already written are
    # no-ops.
    for observations in read_ahead(_observed(api, id_fournisseur, since, sync, detail)):
        apply_statuses(engine, supplier_siret, observations, sync, accounting_email, cooperative)
        seen = (item.dateHeureEtatCourant for item, _ in observations)
        latest = max((at for at in (latest, *seen) if at is not None), default=None)
    if latest is not None:
        move_watermark(engine, key, minute(latest))
    sync.watermark_after = read_watermark(engine, key)
    log.info(
        "reconcile.supplier_done",
        **{k: v for k, v in sync.as_dict().items() if k != "supplier_siret"},
        supplier=supplier_siret,
    )
    return sync
