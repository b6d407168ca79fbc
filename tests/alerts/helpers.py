"""Alert test helpers: outbox rows written as the pipeline writes them, fake and real channels."""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from schemas.warehouse import Alert, Invoice
from tasks.alerts import messages
from tasks.alerts.messages import InvoiceFacts
from tasks.alerts.sender import Outgoing

SUPPLIER = "51858054300107"
COOPERATIVE = "cooproduction"
FROM = "chorus-pro@cooproduction.example"
ACCOUNTING = "compta@cooproduction.example"


def add_invoice(engine: Engine, number: str) -> int:
    with Session(engine) as session:
        existing = session.exec(select(Invoice.id).where(Invoice.invoice_number == number)).first()
        if existing is not None:
            return existing
        invoice = Invoice(
            cooperative=COOPERATIVE,
            supplier_siret=SUPPLIER,
            invoice_number=number,
            buyer_name="Mairie de Montreuil",
            total_ttc_cents=123456,
        )
        session.add(invoice)
        session.commit()
        assert invoice.id is not None
        return invoice.id


def add_alert(
    engine: Engine,
    number: str | None,
    *,
    audience: str = "entrepreneur",
    recipient: str = "elodie@example.fr",
    kind: str = "rejetee",
    cooperative: str = COOPERATIVE,
    buyer_name: str = "Mairie de Montreuil",
) -> int:
    """A row with the real French message of a rejected invoice (or a password expiry), written
    as it is, as a row stored by an earlier version would be."""
    invoice_id = add_invoice(engine, number) if number else None
    if number:
        facts = InvoiceFacts(
            invoice_number=number,
            supplier_siret=SUPPLIER,
            buyer_name=buyer_name,
            buyer_siret="21930048000015",
            total_ttc_cents=123456,
            entrepreneur_name="Élodie Légère",
        )
        at = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
        subject, body = messages.status_alert(facts, "REJETEE", at, "Montant erroné")
        key = f"{kind}:{SUPPLIER}:{number}:{at.isoformat()}:{audience}"
    else:
        subject, body = "Mot de passe bientôt expiré", "Bonjour,\n\nRenouvelez-le à temps."
        key = f"{kind}:{SUPPLIER}:2026-12-01:{audience}"
    with Session(engine) as session:
        alert = Alert(
            cooperative=cooperative,
            dedupe_key=key,
            kind=kind,
            invoice_id=invoice_id,
            audience=audience,
            recipient=recipient,
            subject=subject,
            body=body,
        )
        session.add(alert)
        session.commit()
        assert alert.id is not None
        return alert.id


def alerts(engine: Engine) -> list[Alert]:
    with Session(engine) as session:
        return list(session.exec(select(Alert).order_by(col(Alert.id))).all())


class Recorder:
    """A channel that keeps what it was given, and refuses while `down` is set."""

    def __init__(self, key: str = "rec", down: bool = False) -> None:
        self.key = key
        self.label = f"recorder://{key}"
        self.down = down
        self.messages: list[Outgoing] = []
        self.calls = 0

    def send(self, message: Outgoing) -> None:
        self.calls += 1
        if self.down:
            raise OSError(f"{self.label} is down")
        self.messages.append(message)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        """The plain-text body, transfer-decoded, charset-decoded, with newlines as written."""
        part = self.message.get_body(("plain",))
        assert part is not None
        content = part.get_content()
        assert isinstance(content, str)
        return content.replace("\r\n", "\n")


@dataclass
class Collector:
    """aiosmtpd handler: every message the server accepted."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@dataclass
class RefusingCollector(Collector):
    """A server that refuses some recipients (550 at RCPT TO), as for a mailbox that is gone."""

    refused: frozenset[str] = frozenset()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class StartServer(Protocol):
    """The `smtp_server` fixture: an SMTP server on `port`, recording with `collector`."""

    def __call__(self, port: int, collector: Collector | None = None) -> Collector: ...


def free_ports(count: int) -> list[int]:
    """Distinct ports nothing listens on: all bound at once, then closed again."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def free_port() -> int:
    (port,) = free_ports(1)
    return port


@dataclass
class Webhook:
    port: int
    received: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def webhook() -> Iterator[Webhook]:
    """A local HTTP endpoint recording JSON posts; listening as soon as it is constructed."""
    hook = Webhook(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            hook.received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test asserts on what was received."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
