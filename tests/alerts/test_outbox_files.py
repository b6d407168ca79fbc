"""Without apprise URLs alerts become `.eml` files: RFC 5322, French UTF-8, once per alert."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from sqlalchemy.engine import Engine

from chorus_etl.settings import Settings
from tasks.alerts.sender import (
    EmlOutbox,
    channels_for,
    load_pending,
    message_id,
    render,
    send_pending,
)
from tests.alerts.helpers import ACCOUNTING, FROM, Recorder, add_alert, alerts


def _outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


def _settings(tmp_path: Path) -> Settings:
    return Settings(alert_outbox_dir=_outbox(tmp_path))


def _read(path: Path) -> EmailMessage:
    parsed = message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _no_events(*_: object) -> None:
    """Events are covered in test_delivery; here they would only need a Prefect API."""


def test_eml_has_headers_recipient_and_french_utf8_body(warehouse: Engine, tmp_path: Path) -> None:
    alert_id = add_alert(warehouse, "FA-2026-0042")
    summary = send_pending(warehouse, channels_for(_settings(tmp_path)), emit=_no_events)

    assert summary.as_dict() == {
        "sent": 1,
        "failed": 0,
        "pending_left": 0,
        "digests": 0,
        "by_kind": {"rejetee": 1},
        "undeliverable": 0,
    }
    (path,) = _outbox(tmp_path).iterdir()
    assert path.name.startswith(f"alert-{alert_id:08d}-rejetee_") and path.suffix == ".eml"
    raw = path.read_bytes()
    assert raw.isascii(), "7-bit safe: quoted-printable body, RFC 2047 subject"
    assert b"\r\n" in raw
    message = _read(path)
    assert message["From"] == FROM
    assert message["To"] == "elodie@example.fr"
    (row,) = alerts(warehouse)
    assert message["Subject"] == row.subject
    assert "FA-2026-0042" in row.subject and "rejetée" in row.subject
    assert message["Date"] is not None
    assert message["Message-ID"] == message_id(row.dedupe_key, FROM)
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_charset() == "utf-8"
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    body = message.get_content()
    assert "Bonjour Élodie Légère," in body
    assert "Montant TTC : 1\u00a0234,56\u00a0€" in body
    assert "Que faire ?" in body
    assert row.status == "sent" and row.sent_at is not None
    assert row.attempts == 1 and row.last_error is None


def test_running_again_writes_nothing_new(warehouse: Engine, tmp_path: Path) -> None:
    add_alert(warehouse, "FA-1")
    add_alert(warehouse, "FA-1", audience="accounting", recipient=ACCOUNTING)
    channels = channels_for(_settings(tmp_path))
    assert send_pending(warehouse, channels, emit=_no_events).sent == 2
    before = {p.name: p.read_bytes() for p in _outbox(tmp_path).iterdir()}

    again = send_pending(warehouse, channels, emit=_no_events)

    assert again.sent == 0 and again.pending_left == 0
    assert {p.name: p.read_bytes() for p in _outbox(tmp_path).iterdir()} == before
    assert len(before) == 2


def test_a_crash_before_the_commit_rewrites_the_same_file(
    warehouse: Engine, tmp_path: Path
) -> None:
    """The file was written, the row was not marked: the retry overwrites, nothing doubles."""
    add_alert(warehouse, "FA-7")
    outbox = EmlOutbox(_outbox(tmp_path), FROM)
    (pending,) = load_pending(warehouse)
    outbox.send(render([pending], digest=False))

    summary = send_pending(warehouse, [outbox], emit=_no_events)

    assert summary.sent == 1
    assert [p.suffix for p in _outbox(tmp_path).iterdir()] == [".eml"]


def test_digest_above_the_threshold_for_accounting_only(warehouse: Engine, tmp_path: Path) -> None:
    for number in ("FA-1", "FA-2"):
        add_alert(warehouse, number)
    for number in ("FA-3", "FA-4", "FA-5", "FA-6"):
        add_alert(warehouse, number, audience="accounting", recipient=ACCOUNTING)
    add_alert(
        warehouse, None, kind="password_expiring", audience="accounting", recipient=ACCOUNTING
    )
    recorder = Recorder()

    summary = send_pending(warehouse, [recorder], threshold=4, emit=_no_events)

    assert summary.sent == 7 and summary.digests == 1 and summary.pending_left == 0
    assert summary.by_kind == {"rejetee": 6, "password_expiring": 1}
    individual = [m for m in recorder.messages if m.recipient != ACCOUNTING]
    assert [m.subject.split()[1] for m in individual] == ["FA-1", "FA-2"]
    (digest,) = [m for m in recorder.messages if m.recipient == ACCOUNTING]
    assert digest.subject == "Chorus Pro : récapitulatif de 5 alertes sur les factures"
    for number in ("FA-3", "FA-4", "FA-5", "FA-6"):
        assert f"- Facture {number} (fournisseur 51858054300107) — rejetée — " in digest.body
    assert "- Hors facture — mot de passe bientôt expiré — Mot de passe" in digest.body
    assert "FA-1" not in digest.body
    assert {a.status for a in alerts(warehouse)} == {"sent"}


def test_at_the_threshold_accounting_gets_individual_messages(
    warehouse: Engine, tmp_path: Path
) -> None:
    for number in ("FA-1", "FA-2", "FA-3"):
        add_alert(warehouse, number, audience="accounting", recipient=ACCOUNTING)
    settings = _settings(tmp_path)

    summary = send_pending(warehouse, channels_for(settings), threshold=3, emit=_no_events)

    assert summary.sent == 3 and summary.digests == 0
    names = sorted(p.name for p in _outbox(tmp_path).iterdir())
    assert len(names) == 3 and all(n.startswith("alert-") for n in names)
