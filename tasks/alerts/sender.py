"""Delivering the alert outbox: pending rows out by e-mail, chat or `.eml` files, each exactly once.

Each message is committed `sent` in its own transaction right after every channel accepted it, so a
crash loses nothing and can repeat at most the one message in flight. A channel that refuses leaves
the row pending with the reason; the row also remembers which channels already accepted it, so one
unreachable mail server neither blocks the other channels nor makes them repeat on the next run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import parse_qs, quote, unquote, urlsplit

import apprise
import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, func, select

from chorus_etl.leases import Owner, is_gone
from chorus_etl.log import get_logger, redact_text
from chorus_etl.settings import Settings
from chorus_etl.untrusted import printable
from schemas.alerts import AlertKind
from schemas.warehouse import Alert, AlertDelivery, AlertStatus, Invoice, utcnow
from tasks.alerts import stalls
from tasks.alerts.outbox import ACCOUNTING

log = get_logger(__name__)

#: How long a sender's hold on an alert outlives its silence, seen from another host.
DEFAULT_LEASE = timedelta(minutes=10)
_ALERT = SQLModel.metadata.tables[str(Alert.__tablename__)]
#: Above this many pending accounting alerts for one address in a run, accounting gets one digest.
DIGEST_THRESHOLD = 20
#: After this many failures in a row, a channel is not tried again until the next run, so a mail
#: server that times out costs a few connection timeouts per run rather than one per alert.
BREAKER_FAILURES = 3
MAIL_SCHEMAS = frozenset({"mailto", "mailtos"})
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s/?#]+@")
_ERROR_MAX = 2000
_url_to_dict = cast(Callable[[str], dict[str, Any] | None], apprise.plugins.url_to_dict)


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """A pending row with its invoice's identity, detached from the session."""

    id: int
    dedupe_key: str
    kind: str
    cooperative: str
    audience: str
    recipient: str
    subject: str
    body: str
    invoice_number: str | None = None
    supplier_siret: str | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to one recipient; `key` is stable across runs (Message-ID, file name)."""

    recipient: str
    subject: str
    body: str
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class Unit:
    """What is delivered and committed together: one alert, or accounting's digest of many."""

    alerts: tuple[PendingAlert, ...]
    digest: bool = False


@dataclass(slots=True)
class SendSummary:
    sent: int = 0
    failed: int = 0
    pending_left: int = 0
    digests: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    #: Alerts undelivered for longer than the bounded-wait limits (accounting was told once).
    undeliverable: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DeliveryError(Exception):
    """A channel refused a message; the text is already free of secrets."""


class Channel(Protocol):
    #: Short id recorded on rows the channel accepted; derived from the public label only.
    key: str
    #: Safe to log and store: no password, no token.
    label: str

    def send(self, message: Outgoing) -> None: ...


def _digest(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def event_name(alert: PendingAlert) -> str:
    known = AlertKind.of(alert.kind)
    name = known.event if known is not None else alert.kind.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", name).strip("-") or "alert"
    return f"chorus.invoice.{slug}" if alert.invoice_number else f"chorus.alert.{slug}"


def redact(text: str, urls: Iterable[str] = ()) -> str:
    """Removes URL passwords (raw and percent-encoded) and every secret the logger knows; values
    under 4 characters are left to the URL pattern, as replacing them everywhere garbles the text."""
    for url in urls:
        password = urlsplit(url).password
        if password:
            for form in {password, unquote(password), quote(password, safe="")}:
                if len(form) >= 4:
                    text = text.replace(form, "***")
    return redact_text(_URL_PASSWORD.sub(r"\1***@", text))


def message_id(key: str, from_email: str) -> str:
    domain = from_email.rpartition("@")[2] or "chorus-etl.invalid"
    return f"<alert-{_digest(key, 32)}@{domain}>"


def build_email(message: Outgoing, from_email: str) -> EmailMessage:
    """Quoted-printable UTF-8 text: readable French in the file, 7-bit safe on any relay."""
    email = EmailMessage()
    email["From"] = from_email
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = message_id(message.key, from_email)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body, charset="utf-8", cte="quoted-printable")
    return email


class EmlOutbox:
    """Writes `.eml` files; the name comes from the alert, so a retry overwrites, never duplicates."""

    def __init__(self, folder: Path, from_email: str) -> None:
        self.folder = folder
        self.from_email = from_email
        self.label = f"eml://{folder}"
        self.key = _digest(self.label, 8)

    def send(self, message: Outgoing) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{message.name}.eml"
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_bytes(build_email(message, self.from_email).as_bytes(policy=SMTP))
        os.replace(temporary, target)


class AppriseChannel:
    """One apprise URL; `mailto(s)://` sends to each alert's own recipient, others post as is."""

    def __init__(self, url: str, from_email: str) -> None:
        self.url = url
        self.from_email = from_email
        with _apprise_reasons() as reasons:
            self.is_mail = (_url_to_dict(url) or {}).get("schema") in MAIL_SCHEMAS
            service = self._service(from_email)
        scheme = urlsplit(url).scheme or "unknown"
        self.label = (
            service.url(privacy=True).split("?")[0] if service else f"{scheme}://(invalid URL)"
        )
        self.key = _digest(self.label, 8)
        if service is None:
            log.error("alerts.invalid_url", channel=self.label, detail=self._detail(reasons))

    def _service(self, recipient: str) -> Any:
        """A fresh plugin per message: the URL's own targets are replaced by the alert's recipient,
        so an entrepreneur's message can never reach another address configured in the URL."""
        parsed = _url_to_dict(self.url)
        if not parsed:
            return None
        if self.is_mail:
            explicit_from = parse_qs(urlsplit(self.url).query).get("from")
            parsed["from_addr"] = explicit_from[0] if explicit_from else self.from_email
            parsed["targets"] = [recipient]
            parsed["headers"] = {**parsed.get("headers", {}), "Auto-Submitted": "auto-generated"}
        asset = apprise.AppriseAsset(app_id="chorus-etl", app_desc="Chorus Pro alerts")
        return apprise.Apprise.instantiate(parsed, asset=asset)

    def _detail(self, reasons: list[str]) -> str:
        return redact("; ".join(dict.fromkeys(reasons)), [self.url])

    def send(self, message: Outgoing) -> None:
        accepted = False
        with _apprise_reasons() as reasons:
            service = self._service(message.recipient)
            if service is None:
                reasons.insert(0, "invalid or unsupported apprise URL")
            else:
                try:
                    accepted = bool(
                        service.notify(
                            body=message.body,
                            title=message.subject,
                            body_format=apprise.NotifyFormat.TEXT,
                        )
                    )
                except Exception as exc:
                    reasons.append(f"{type(exc).__name__}: {exc}")
        if not accepted:
            raise DeliveryError(f"{self.label}: {self._detail(reasons) or 'refused'}")
        if reasons:
            log.warning("alerts.apprise_warning", channel=self.label, detail=self._detail(reasons))


class _ReasonCollector(logging.Handler):
    """Keeps what apprise says about a failure: `notify()` itself only returns False."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.reasons: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING or "Exception" in message:
            self.reasons.append(message)


@contextmanager
def _apprise_reasons() -> Iterator[list[str]]:
    """The socket error (refused, timeout, authentication) is only logged at DEBUG by apprise, so
    its logger is opened for the call and kept from propagating; what matters is logged by us,
    redacted, and kept in `last_error`."""
    logger = logging.getLogger("apprise")
    collector = _ReasonCollector()
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(collector)
    try:
        yield collector.reasons
    finally:
        logger.removeHandler(collector)
        logger.setLevel(level)
        logger.propagate = propagate


def channels_for(settings: Settings) -> list[Channel]:
    if not settings.alert_urls:
        return [EmlOutbox(settings.alert_outbox_dir, settings.alert_from_email)]
    return [AppriseChannel(url, settings.alert_from_email) for url in settings.alert_urls]


def load_pending(engine: Engine, cooperative: str | None = None) -> list[PendingAlert]:
    """Pending alerts in creation order, of one cooperative or of all."""
    statement = (
        select(Alert, Invoice.invoice_number, Invoice.supplier_siret)
        .join(Invoice, col(Alert.invoice_id) == col(Invoice.id), isouter=True)
        .where(Alert.status == AlertStatus.PENDING.value)
        .order_by(col(Alert.created_at), col(Alert.id))
    )
    if cooperative is not None:
        statement = statement.where(col(Alert.cooperative) == cooperative)
    with Session(engine) as session:
        return [
            PendingAlert(
                id=int(alert.id or 0),
                dedupe_key=alert.dedupe_key,
                kind=alert.kind,
                cooperative=alert.cooperative,
                audience=alert.audience,
                recipient=alert.recipient,
                subject=alert.subject,
                body=alert.body,
                invoice_number=number,
                supplier_siret=siret,
            )
            for alert, number, siret in session.exec(statement).all()
        ]


def count_pending(engine: Engine, cooperative: str | None = None) -> int:
    with Session(engine) as session:
        statement = select(func.count()).where(Alert.status == AlertStatus.PENDING.value)
        if cooperative is not None:
            statement = statement.where(col(Alert.cooperative) == cooperative)
        return int(session.exec(statement).one())


def plan(alerts: Sequence[PendingAlert], threshold: int = DIGEST_THRESHOLD) -> list[Unit]:
    """Creation order kept; an accounting address with more than `threshold` of one
    cooperative's alerts gets one digest of them. Entrepreneurs are never grouped: a digest
    would show them other people's invoices; nor are two cooperatives, even when they share an
    accounting address, so that a digest can be forwarded to the cooperative it is about."""
    by_recipient = Counter((a.recipient, a.cooperative) for a in alerts if a.audience == ACCOUNTING)
    grouped = {key for key, n in by_recipient.items() if n > threshold}
    units: list[tuple[bool, list[PendingAlert]]] = []
    digests: dict[tuple[str, str], list[PendingAlert]] = {}
    for alert in alerts:
        key = (alert.recipient, alert.cooperative)
        if alert.audience == ACCOUNTING and key in grouped:
            if key not in digests:
                digests[key] = []
                units.append((True, digests[key]))
            digests[key].append(alert)
        else:
            units.append((False, [alert]))
    return [Unit(alerts=tuple(group), digest=digest) for digest, group in units]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:80]


def render(alerts: Sequence[PendingAlert], digest: bool) -> Outgoing:
    """The message of a unit. Header values come from data (a buyer's name in the subject, an
    address from the directory) and a line break in one made the e-mail package refuse the
    message on every run: they are made one line, without control characters, here, for the
    rows stored before `queue` did it too."""
    if not digest:
        (alert,) = alerts
        return Outgoing(
            recipient=printable(alert.recipient),
            subject=printable(alert.subject),
            body=alert.body,
            key=alert.dedupe_key,
            name=f"alert-{alert.id:08d}-{_slug(alert.dedupe_key)}-{_digest(alert.dedupe_key, 8)}",
        )
    key = "digest:" + _digest("\n".join(sorted(a.dedupe_key for a in alerts)), 32)
    return Outgoing(
        recipient=printable(alerts[0].recipient),
        subject=f"Chorus Pro : récapitulatif de {len(alerts)} alertes sur les factures",
        body=digest_body(alerts),
        key=key,
        name=f"digest-{alerts[0].id:08d}-{key.removeprefix('digest:')[:16]}",
    )


def digest_body(alerts: Sequence[PendingAlert]) -> str:
    lines = [
        "Bonjour,",
        "",
        f"{len(alerts)} alertes sont arrivées en même temps : plutôt qu'un message par facture, "
        "en voici la liste (du plus ancien au plus récent).",
        "",
    ]
    for alert in alerts:
        invoice = f"Facture {alert.invoice_number}" if alert.invoice_number else "Hors facture"
        if alert.supplier_siret:
            invoice += f" (fournisseur {alert.supplier_siret})"
        known = AlertKind.of(alert.kind)
        kind = known.label_fr if known is not None else alert.kind
        lines.append(f"- {invoice} — {kind} — {printable(alert.subject)}")
    lines += [
        "",
        "Que faire ?",
        "Consultez chaque facture sur Chorus Pro pour en connaître le détail (motif du rejet ou "
        "de la suspension, date de dépôt), puis voyez avec l'entrepreneur concerné ce qu'il faut "
        "corriger ou relancer. Les entrepreneurs dont l'adresse est connue reçoivent chacun le "
        "message détaillé de leur propre facture.",
        "",
        "Ce message est envoyé automatiquement par le pipeline Chorus Pro de Cooproduction.",
    ]
    return "\n".join(lines)


def delivered_on(session: Session, alert_ids: Sequence[int]) -> dict[int, set[str]]:
    """The channels that already took each alert (`alert_delivery`): a run retries the others."""
    found: dict[int, set[str]] = {alert_id: set() for alert_id in alert_ids}
    for alert_id, channel in session.exec(
        select(AlertDelivery.alert_id, AlertDelivery.channel).where(
            col(AlertDelivery.alert_id).in_(list(alert_ids))
        )
    ).all():
        found[alert_id].add(channel)
    return found


@dataclass(slots=True)
class DeliveryRun:
    """The channels and what one run learnt so far: its counts and each channel's failure streak."""

    channels: Sequence[Channel]
    summary: SendSummary
    #: Holds the alerts this run delivers, so that a sender beside it leaves them alone.
    owner: Owner = field(default_factory=lambda: Owner.start(DEFAULT_LEASE))
    failures: Counter[str] = field(default_factory=Counter)
    last_errors: dict[str, str] = field(default_factory=dict)

    def try_send(self, channel: Channel, message: Outgoing) -> str | None:
        """None when accepted, else the (redacted) reason; never raises."""
        if self.failures[channel.key] >= BREAKER_FAILURES:
            return (
                f"not tried after {BREAKER_FAILURES} failures in a row this run; "
                f"last: {self.last_errors[channel.key]}"
            )
        try:
            channel.send(message)
        except DeliveryError as exc:
            error = str(exc)
        except Exception as exc:
            error = redact(f"{channel.label}: {type(exc).__name__}: {exc}")
        else:
            self.failures[channel.key] = 0
            return None
        self.failures[channel.key] += 1
        self.last_errors[channel.key] = error
        log.warning("alerts.delivery_failed", channel=channel.label, error=error)
        return error


Emit = Callable[[PendingAlert, bool], None]


def emit_delivered(alert: PendingAlert, digest: bool) -> None:
    """A Prefect event per delivered alert, for automations; best effort by design."""
    resource = {
        "prefect.resource.id": f"chorus.alert.{alert.id}",
        "prefect.resource.name": alert.dedupe_key[:200],
        "chorus.alert.kind": alert.kind,
        "chorus.alert.audience": alert.audience,
    }
    if alert.invoice_number:
        resource["chorus.invoice.number"] = alert.invoice_number
    if alert.supplier_siret:
        resource["chorus.invoice.supplier-siret"] = alert.supplier_siret
    try:
        emit_event(
            event=event_name(alert), resource=resource, payload={"digest": digest, "sent": True}
        )
    except Exception as exc:
        log.warning("alerts.event_failed", alert_id=alert.id, error=f"{type(exc).__name__}: {exc}")


def claim_alerts(engine: Engine, ids: Sequence[int], owner: Owner) -> set[int]:
    """The pending alerts among `ids` that this run now holds: those nobody held, or whose
    holder is gone (`chorus_etl.leases`); of two senders, one wins each alert."""
    now = utcnow()
    claimed: set[int] = set()
    with engine.connect() as conn:
        # Rows a transaction elsewhere is writing are skipped, not waited for (PostgreSQL).
        seen = conn.execute(
            sa.select(_ALERT.c.id, _ALERT.c.claimed_by, _ALERT.c.claimed_until)
            .where(_ALERT.c.id.in_(list(ids)), _ALERT.c.status == AlertStatus.PENDING.value)
            .with_for_update(skip_locked=True)
        ).all()
        for alert_id, holder, until in seen:
            if holder is not None and not is_gone(holder, until, now):
                continue
            taken = conn.execute(
                sa.update(_ALERT)
                .where(
                    _ALERT.c.id == alert_id,
                    _ALERT.c.status == AlertStatus.PENDING.value,
                    _ALERT.c.claimed_by.is_not_distinct_from(holder),
                    _ALERT.c.claimed_until.is_not_distinct_from(until),
                )
                .values(claimed_by=owner.name, claimed_until=owner.until(now))
            )
            if taken.rowcount == 1:
                claimed.add(int(alert_id))
        conn.commit()
    return claimed


def deliver_unit(engine: Engine, unit: Unit, run: DeliveryRun, emit: Emit = emit_delivered) -> None:
    """Delivers on every channel the rows still miss, then commits them; rows another sender holds
    (`claim_alerts`) or already sent are skipped."""
    ids = sorted(claim_alerts(engine, [a.id for a in unit.alerts], run.owner))
    with Session(engine, expire_on_commit=False) as session:
        rows = {
            row.id: row
            for row in session.exec(
                select(Alert).where(
                    col(Alert.id).in_(ids),
                    Alert.status == AlertStatus.PENDING.value,
                    col(Alert.claimed_by) == run.owner.name,
                )
            ).all()
        }
        alerts = [a for a in unit.alerts if a.id in rows]
        delivered = delivered_on(session, [a.id for a in alerts])
        before = {alert_id: set(channels) for alert_id, channels in delivered.items()}
        errors: dict[int, list[str]] = {a.id: [] for a in alerts}
        for channel in run.channels:
            todo = [a for a in alerts if channel.key not in delivered[a.id]]
            if not todo:
                continue
            error = run.try_send(channel, render(todo, unit.digest))
            for alert in todo:
                if error is None:
                    delivered[alert.id].add(channel.key)
                else:
                    errors[alert.id].append(error)
        done = [a for a in alerts if all(c.key in delivered[a.id] for c in run.channels)]
        done_ids = {a.id for a in done}
        now = utcnow()
        for alert in alerts:
            row = rows[alert.id]
            row.attempts += 1
            row.claimed_by, row.claimed_until = None, None
            for key in sorted(delivered[alert.id] - before[alert.id]):
                session.add(AlertDelivery(alert_id=alert.id, channel=key, delivered_at=now))
            if alert.id in done_ids:
                row.status, row.sent_at, row.last_error = AlertStatus.SENT.value, now, None
            else:
                row.last_error = " | ".join(errors[alert.id])[:_ERROR_MAX] or None
            session.add(row)
        session.commit()
    _account(unit, alerts, done, run.summary)
    for alert in done:
        emit(alert, unit.digest)


def _account(
    unit: Unit, alerts: list[PendingAlert], done: list[PendingAlert], summary: SendSummary
) -> None:
    summary.sent += len(done)
    summary.failed += len(alerts) - len(done)
    summary.digests += int(unit.digest and bool(done))
    for alert in done:
        summary.by_kind[alert.kind] = summary.by_kind.get(alert.kind, 0) + 1
    if done:
        log.info(
            "alerts.sent",
            alerts=len(done),
            digest=unit.digest,
            kinds=sorted({a.kind for a in done}),
            audience=done[0].audience,
        )


def send_pending(
    engine: Engine,
    channels: Sequence[Channel],
    *,
    threshold: int = DIGEST_THRESHOLD,
    emit: Emit = emit_delivered,
    cooperative: str | None = None,
    bounds: stalls.WaitBounds = stalls.WaitBounds(),
    fallback: Channel | None = None,
    lease: timedelta = DEFAULT_LEASE,
    settings: Settings | None = None,
) -> SendSummary:
    """Rows queued while the run delivers are left to the next run; `pending_left` counts them.
    With `cooperative`, only that cooperative's alerts are sent (and counted). Alerts that stay
    undelivered past `bounds` are a bounded wait (`bound_undelivered`), told to the accounting
    of `settings`' cooperatives (without settings, delivery alone: nothing is tracked)."""
    if not channels:
        raise ValueError("no alert channel configured")
    run = DeliveryRun(channels=channels, summary=SendSummary(), owner=Owner.start(lease))
    try:
        for unit in plan(load_pending(engine, cooperative), threshold):
            deliver_unit(engine, unit, run, emit)
        if settings is not None:
            run.summary.undeliverable = bound_undelivered(
                engine, run, bounds, settings, cooperative=cooperative, fallback=fallback, emit=emit
            )
    finally:
        run.owner.retire()
    run.summary.pending_left = count_pending(engine, cooperative)
    log.info("alerts.done", **run.summary.as_dict())
    return run.summary


def bound_undelivered(
    engine: Engine,
    run: DeliveryRun,
    bounds: stalls.WaitBounds,
    settings: Settings,
    *,
    cooperative: str | None = None,
    fallback: Channel | None = None,
    emit: Emit = emit_delivered,
) -> int:
    """Alerts that failed and are still pending are a bounded wait of kind `alert`: past the
    bound, accounting gets one alert naming them. That alert is tried at once on the channels,
    and also written through `fallback` (the `.eml` folder), because the channel that fails may
    be accounting's own; it is never itself tracked, so a broken channel cannot feed a loop.
    Returns how many alerts are undelivered past the bound."""
    statement = select(Alert).where(
        Alert.status == AlertStatus.PENDING.value,
        Alert.kind != stalls.ALERT.alert_kind,
        Alert.attempts > 0,
    )
    if cooperative is not None:
        statement = statement.where(col(Alert.cooperative) == cooperative)
    with Session(engine) as session:
        failing = [
            stalls.Wait(
                subject=str(alert.id),
                cooperative=alert.cooperative,
                label=f"Alerte « {alert.subject} » pour {alert.recipient}",
                error=alert.last_error,
            )
            for alert in session.exec(statement).all()
        ]
    known = [
        w.subject
        for w in stalls.list_waits(engine, stalls.ALERT)
        if cooperative is None or w.cooperative == cooperative
    ]
    report = stalls.record_waits(
        engine, stalls.ALERT, failing, settled=known, bounds=bounds, settings=settings
    )
    told = (
        [a for a in load_pending(engine, cooperative) if a.id in report.alerts]
        if report.alerts
        else []
    )
    for alert in told:
        log.error(
            "alerts.undeliverable",
            alerts=report.over_bound,
            alert_id=alert.id,
            recipient=alert.recipient,
            copy=fallback.label if fallback is not None else None,
        )
        if fallback is not None:
            error = run.try_send(fallback, render([alert], digest=False))
            if error is not None:
                log.error("alerts.fallback_failed", alert_id=alert.id, error=error)
        deliver_unit(engine, Unit((alert,)), run, emit)
    return report.over_bound


@task(name="send-pending-alerts", cache_policy=NO_CACHE)
def send_pending_alerts(
    engine: Engine,
    settings: Settings,
    threshold: int = DIGEST_THRESHOLD,
    cooperative: str | None = None,
) -> SendSummary:
    """Delivers every pending alert (of one cooperative, or all) through the configured channels
    (`.eml` files by default)."""
    return send_pending(
        engine,
        channels_for(settings),
        threshold=threshold,
        cooperative=cooperative,
        bounds=stalls.WaitBounds.from_settings(settings),
        fallback=EmlOutbox(settings.alert_outbox_dir, settings.alert_from_email),
        lease=timedelta(minutes=settings.claim_lease_minutes),
        settings=settings,
    )
