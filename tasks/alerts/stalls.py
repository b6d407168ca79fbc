"""Bounded waits: whatever is "retried next run" tells accounting, once, when it lasts.

Several things in the pipeline rightly wait for a later run rather than fail: an invoice whose
buyer the Chorus Pro directory could not be asked about, a deposit left `submitting` or `ready`
after transient errors, a Factur-X flux whose report does not settle, an alert that cannot be
delivered. Nothing is lost by waiting, but a wait nobody hears of can last for ever. So each wait
is a row of `stalled_wait` while it lasts, and once it has lasted longer than
`CHORUS_ETL_WAIT_ALERT_AFTER_DAYS` (3) or been seen at more runs than
`CHORUS_ETL_WAIT_ALERT_AFTER_RUNS` (6), its cooperative's accounting gets one French alert through
the outbox naming what waits and the last error. The thing keeps waiting (and is retried as
before); the alert is not repeated while the wait lasts, only for a wait that starts again after
it ended (its row was deleted, the new one has a new `first_seen_at`) or for another thing that
crosses the bound later (one alert per run and kind then names all those newly over it).

How a stage uses it, once per run and kind, with everything it saw still waiting and what it saw
settle (the ingest does this for the directory, `tasks/ingest/stages.py`)::

    from tasks.alerts import stalls

    stalls.record_waits(
        engine,
        stalls.DEPOSIT,  # or DIRECTORY, FLUX, ALERT, or a StallKind of one's own
        waiting=[
            stalls.Wait(
                subject=f"{invoice.supplier_siret}:{invoice.invoice_number}",
                cooperative=invoice.cooperative,
                label=stalls.invoice_label(invoice.supplier_siret, invoice.invoice_number),
                error="TransientError: 503 from soumettre",
            )
        ],
        settled=[f"{siret}:{number}" for siret, number in deposited_or_refused],
        bounds=stalls.WaitBounds.from_settings(settings),
        settings=settings,
    )

`record_waits` is `note_waiting` + `clear_waits` + `queue_stalled_alerts`, in that order; each
can be called alone. A subject is unique within its kind; the run counts once per `run` token (by
default the Prefect flow run, else each call is a run), so a stage that retries an invoice three
times in a run still counts one run.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chorus_etl.cooperatives import accounting_email
from chorus_etl.log import get_logger
from chorus_etl.runs import current_flow_run_id
from chorus_etl.settings import Settings
from schemas.warehouse import Alert, StalledWait, utcnow
from tasks.alerts import outbox
from tasks.alerts.messages import SIGNATURE, french_date

__all__ = [
    "ALERT",
    "ARCHIVE",
    "DEPOSIT",
    "DIRECTORY",
    "FLUX",
    "KINDS",
    "RETURN",
    "StallKind",
    "StallReport",
    "Wait",
    "WaitBounds",
    "clear_waits",
    "invoice_label",
    "list_waits",
    "note_waiting",
    "queue_stalled_alerts",
    "record_waits",
]

log = get_logger(__name__)

#: An alert lists at most this many waits by name; the others are counted.
LISTED_MAX = 50
_ERROR_SHOWN = 300
#: Keys per statement, well under every engine's limit on bound parameters.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class StallKind:
    """One place that retries next run, and what its accounting alert says (in French)."""

    #: Short id: the first part of every key, and of the alert's kind (`stalled_<key>`).
    key: str
    #: "<n> <title> depuis trop longtemps", in the subject.
    title: str
    #: What waiting means for these things (nothing lost, what the pipeline keeps doing).
    consequence: str
    #: What accounting should do, step by step.
    steps: tuple[str, ...]

    @property
    def alert_kind(self) -> str:
        return f"stalled_{self.key}"


DIRECTORY = StallKind(
    key="directory",
    title="facture(s) en attente de l'annuaire Chorus Pro",
    consequence=(
        "Ces factures ne sont ni prêtes ni refusées : l'annuaire Chorus Pro n'a pas pu être "
        "interrogé sur leur client. Elles restent en attente, rien n'est perdu : chaque passage "
        "les vérifie de nouveau et elles seront prêtes (ou refusées avec leur motif) dès que "
        "l'annuaire répondra."
    ),
    steps=(
        "Lancer « chorus-etl doctor » : la ligne buyer_directory dit si l'annuaire répond "
        "maintenant, et sinon pourquoi.",
        "Si l'erreur est un refus d'accès (compte technique, application PISTE, abonnement à "
        "l'API Structures), le corriger comme le doctor l'indique.",
        "Si Chorus Pro est indisponible, consulter sa page d'état (communauté Chorus Pro) ; "
        "rien d'autre à faire, le passage suivant reprendra ces factures.",
    ),
)
DEPOSIT = StallKind(
    key="deposit",
    title="dépôt(s) de facture restés en cours après des erreurs passagères",
    consequence=(
        "Ces factures restent « en cours de dépôt » ou « prêtes » : Chorus Pro n'a pas répondu "
        "pendant leur dépôt. Chaque passage réessaie, sans jamais déposer une facture deux fois."
    ),
    steps=(
        "Lancer « chorus-etl doctor » pour vérifier l'accès à Chorus Pro.",
        "Chercher chaque facture par son numéro sur le portail Chorus Pro : si elle y est, le "
        "passage suivant la marquera déposée ; sinon, il la déposera.",
    ),
)
FLUX = StallKind(
    key="flux",
    title="flux Factur-X sans compte rendu définitif",
    consequence=(
        "Chorus Pro n'a pas encore rendu le compte rendu de ces flux : les factures restent « en "
        "cours de dépôt ». Chaque passage (dépôt ou suivi de nuit) le redemande."
    ),
    steps=(
        "Ouvrir le suivi des flux sur le portail Chorus Pro et chercher chaque flux par son "
        "numéro : intégré, rejeté ou toujours en traitement.",
        "Si le flux reste en traitement plusieurs jours, contacter le support Chorus Pro avec "
        "son numéro.",
    ),
)
ALERT = StallKind(
    key="alert",
    title="alerte(s) impossibles à envoyer",
    consequence=(
        "Ces messages restent en attente et sont retentés à chaque passage : leurs "
        "destinataires ne les ont pas reçus."
    ),
    steps=(
        "Vérifier la configuration d'envoi (CHORUS_ETL_ALERT_URLS : serveur, port, identifiants, "
        "expéditeur) et l'adresse de chaque destinataire ci-dessus.",
        "Ce message est aussi déposé en fichier .eml dans le dossier des alertes "
        "(CHORUS_ETL_ALERT_OUTBOX_DIR) au cas où l'envoi vers la comptabilité elle-même échoue.",
    ),
)
RETURN = StallKind(
    key="return",
    title="complément(s) ou recyclage(s) de facture pas encore envoyés",
    consequence=(
        "Ces réponses à des factures retournées (suspendues ou à recycler) sont enregistrées "
        "mais Chorus Pro n'a pas pu les recevoir ou confirmer leur réception. Chaque passage "
        "réessaie, sans jamais les envoyer deux fois."
    ),
    steps=(
        "Lancer « chorus-etl doctor » pour vérifier l'accès à Chorus Pro.",
        "Consulter la facture sur le portail Chorus Pro : si elle est déjà complétée ou "
        "recyclée, le passage suivant le constatera ; sinon, il enverra la réponse.",
    ),
)
ARCHIVE = StallKind(
    key="archive",
    title="facture(s) déposée(s) dont la copie Chorus Pro n'a pas pu être archivée",
    consequence=(
        "Ces factures sont bien déposées, mais la copie de ce que Chorus Pro a reçu (la preuve "
        "à conserver dix ans) n'a pas pu être téléchargée. Chaque passage réessaie."
    ),
    steps=(
        "Lancer « chorus-etl doctor » pour vérifier l'accès à Chorus Pro.",
        "Si l'erreur est « HTTP 413 », la facture dépasse ce que Chorus Pro envoie en une fois : "
        "téléchargez-la depuis le portail et rangez-la dans le dossier d'archive.",
    ),
)
KINDS = {kind.key: kind for kind in (DIRECTORY, DEPOSIT, FLUX, ALERT, RETURN, ARCHIVE)}


@dataclass(frozen=True, slots=True)
class WaitBounds:
    """How long a wait may last before accounting hears of it: longer than `after`, or seen at
    more runs than `runs` (whichever comes first)."""

    after: timedelta = timedelta(days=3)
    runs: int = 6

    @classmethod
    def from_settings(cls, settings: Settings) -> WaitBounds:
        return cls(timedelta(days=settings.wait_alert_after_days), settings.wait_alert_after_runs)

    def exceeded(self, row: StalledWait, now: datetime) -> bool:
        return row.runs > self.runs or now - row.first_seen_at > self.after


@dataclass(frozen=True, slots=True)
class Wait:
    """One thing found still waiting by this run."""

    #: Unique within its kind: `<supplier SIRET>:<invoice number>`, an alert's id…
    subject: str
    #: Whose accounting is told.
    cooperative: str
    #: What the alert calls it, in French (`invoice_label` for an invoice).
    label: str
    #: The last error, as it would help accounting (already free of secrets).
    error: str | None = None


@dataclass(slots=True)
class StallReport:
    """What one `record_waits` did, for logs and run summaries."""

    waiting: int = 0
    settled: int = 0
    #: Waits past the bound (alerted now or before).
    over_bound: int = 0
    #: The alert rows queued now (one per cooperative, accounting only).
    alerts: list[int] = field(default_factory=list)


def invoice_label(supplier_siret: str, invoice_number: str, detail: str = "") -> str:
    """How an alert names an invoice: its number and structure, and what it waits on."""
    label = f"Facture {invoice_number} (structure {supplier_siret})"
    return f"{label}, {detail}" if detail else label


def _key(kind: StallKind, subject: str) -> str:
    return f"{kind.key}:{subject}"[:300]


def note_waiting(
    engine: Engine,
    kind: StallKind,
    waiting: Iterable[Wait],
    *,
    run: str | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Records that these are still waiting: a new row for a new wait, else one more run (once
    per `run`), the last error and sighting. Returns their keys."""
    now = now or utcnow()
    run = (run or current_flow_run_id() or uuid.uuid4().hex)[:64]
    by_key = {_key(kind, w.subject): w for w in waiting}
    if not by_key:
        return []
    try:
        _note(engine, kind, by_key, run, now)
    except sa.exc.IntegrityError:
        # Another run inserted one of these rows meanwhile: now it is there to be updated.
        _note(engine, kind, by_key, run, now)
    return list(by_key)


def _note(
    engine: Engine, kind: StallKind, by_key: dict[str, Wait], run: str, now: datetime
) -> None:
    with Session(engine) as session:
        rows = {row.key: row for row in _locked(session, list(by_key))}
        for key, wait in by_key.items():
            row = rows.get(key)
            if row is None:
                row = StalledWait(
                    key=key,
                    kind=kind.key,
                    subject=wait.subject[:250],
                    cooperative=wait.cooperative,
                    label=wait.label[:500],
                    first_seen_at=now,
                    last_seen_at=now,
                    runs=1,
                    last_run=run,
                )
            elif row.last_run != run:
                row.runs += 1
                row.last_run = run
            row.last_seen_at = now
            row.label = wait.label[:500]
            row.cooperative = wait.cooperative
            row.last_error = (wait.error or row.last_error or "")[:2000] or None
            session.add(row)
        session.commit()


def _locked(session: Session, keys: list[str]) -> list[StalledWait]:
    """The rows of these keys, locked for this transaction (PostgreSQL), a chunk at a time: a
    directory outage may leave a whole export of ten thousand invoices waiting."""
    rows: list[StalledWait] = []
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        statement = select(StalledWait).where(col(StalledWait.key).in_(chunk)).with_for_update()
        rows += session.exec(statement).all()
    return rows


def clear_waits(engine: Engine, kind: StallKind, subjects: Iterable[str]) -> int:
    """Forgets the waits that ended (done, refused, gone): a later wait of the same subject is a
    new one. Returns how many rows there were."""
    keys = sorted({_key(kind, s) for s in subjects})
    cleared = 0
    table = StalledWait.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        for start in range(0, len(keys), CHUNK):
            result = connection.execute(
                sa.delete(table).where(table.c.key.in_(keys[start : start + CHUNK]))
            )
            cleared += result.rowcount or 0
    return cleared


def queue_stalled_alerts(
    engine: Engine,
    kind: StallKind,
    keys: Collection[str],
    bounds: WaitBounds,
    *,
    now: datetime | None = None,
    settings: Settings,
) -> tuple[list[int], int]:
    """One accounting alert per cooperative naming the waits among `keys` that went past the
    bound and were not alerted yet; marks them alerted in the same transaction as the alert row.

    Only `keys` (what this run saw waiting) are judged: a wait nobody looks at any more (its
    export removed) must not alert. Returns the alert ids queued and how many waits are past the
    bound (newly alerted or not).
    """
    now = now or utcnow()
    if not keys:
        return [], 0
    created: list[Alert] = []
    with Session(engine, expire_on_commit=False) as session:
        rows = sorted(_locked(session, list(keys)), key=lambda r: (r.first_seen_at, r.key))
        over = [row for row in rows if bounds.exceeded(row, now)]
        by_cooperative: dict[str, list[StalledWait]] = {}
        for row in over:
            by_cooperative.setdefault(row.cooperative, []).append(row)
        for cooperative, stalled in sorted(by_cooperative.items()):
            new = [row for row in stalled if row.alerted_at is None]
            if not new:
                continue
            subject, body = stalled_message(kind, new, stalled, bounds)
            created += outbox.queue(
                session,
                kind=kind.alert_kind,
                event_key=f"{cooperative}:{_situation(new)}",
                invoice=None,
                subject=subject,
                body=body,
                entrepreneur=None,
                accounting_email=accounting_email(cooperative, settings),
                cooperative=cooperative,
            )
            for row in new:
                row.alerted_at = now
                session.add(row)
        try:
            session.commit()
        except sa.exc.IntegrityError:
            # A run judging the same waits at the same moment queued this very alert first.
            session.rollback()
            created = []
    if created:
        log.warning(
            "stalls.alerted",
            kind=kind.key,
            alerts=len(created),
            over_bound=len(over),
            cooperatives=sorted({a.cooperative for a in created}),
        )
    return [int(a.id or 0) for a in created], len(over)


def record_waits(
    engine: Engine,
    kind: StallKind,
    waiting: Sequence[Wait],
    *,
    settled: Iterable[str] = (),
    bounds: WaitBounds,
    run: str | None = None,
    now: datetime | None = None,
    settings: Settings,
) -> StallReport:
    """The one call per run and kind: notes `waiting`, forgets `settled` (subjects), and queues
    the accounting alert of what went past the bound."""
    now = now or utcnow()
    still = {w.subject for w in waiting}
    report = StallReport(waiting=len(still))
    report.settled = clear_waits(engine, kind, [s for s in settled if s not in still])
    keys = note_waiting(engine, kind, waiting, run=run, now=now)
    report.alerts, report.over_bound = queue_stalled_alerts(
        engine, kind, keys, bounds, now=now, settings=settings
    )
    return report


def list_waits(engine: Engine, kind: StallKind | None = None) -> list[StalledWait]:
    """Every wait still recorded (of one kind), oldest first: what `chorus-etl waits` shows."""
    statement = select(StalledWait).order_by(col(StalledWait.first_seen_at), col(StalledWait.key))
    if kind is not None:
        statement = statement.where(StalledWait.kind == kind.key)
    with Session(engine) as session:
        return list(session.exec(statement).all())


def _situation(rows: Sequence[StalledWait]) -> str:
    """The alert's dedupe key: which waits, since when. It changes only with the situation."""
    text = "\n".join(sorted(f"{r.key}@{r.first_seen_at.isoformat()}" for r in rows))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _line(row: StalledWait) -> str:
    error = (row.last_error or "non précisée")[:_ERROR_SHOWN]
    return (
        f"- {row.label} : en attente depuis le {french_date(row.first_seen_at)}, "
        f"{row.runs} passage(s) ; dernière erreur : {error}"
    )


def stalled_message(
    kind: StallKind,
    new: Sequence[StalledWait],
    stalled: Sequence[StalledWait],
    bounds: WaitBounds,
) -> tuple[str, str]:
    """The French alert: the waits newly past the bound, by name, then those already reported."""
    days = bounds.after.total_seconds() / 86400
    limit = f"plus de {days:g} jour(s) ou plus de {bounds.runs} passage(s)"
    subject = f"Chorus Pro : {len(new)} {kind.title} depuis trop longtemps"
    body = [
        "Bonjour,",
        "",
        f"Ce qui suit attend depuis {limit} :",
        "",
        *(_line(row) for row in new[:LISTED_MAX]),
    ]
    if len(new) > LISTED_MAX:
        body.append(f"- … et {len(new) - LISTED_MAX} autre(s)")
    earlier = len(stalled) - len(new)
    if earlier:
        body += ["", f"Déjà signalé(s) et toujours en attente : {earlier}."]
    body += [
        "",
        kind.consequence,
        "",
        "Que faire ?",
        *(f"{n}. {step}" for n, step in enumerate(kind.steps, start=1)),
        "",
        "Ce message n'est envoyé qu'une fois pour ces attentes ; « chorus-etl waits » liste "
        "celles qui durent encore.",
        *SIGNATURE,
    ]
    return subject, "\n".join(body)
