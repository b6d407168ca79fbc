"""What is asked of a returned invoice, recorded before anything is sent.

A request comes from a command (`chorus-etl complete`, `chorus-etl recycle`) or from an export:
a `complements/<NUMBER>/` folder for a suspended invoice, a re-export whose only changes are
routing fields for an invoice to recycle (`tasks/returns/reexport.py`). Each is one
`return_action` row in state `requested`, keyed by what it asks (`request_key`), so reading the
same export again asks nothing twice. The protocol (`protocol.py`) then answers it once.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from schemas.issues import Reason
from schemas.warehouse import (
    Invoice,
    InvoiceState,
    ReturnAction,
    ReturnKind,
    ReturnState,
    utcnow,
)
from tasks.preflight import sha256_of_file
from tasks.preflight.attachments import check_attachments

#: The folder of an export holding each suspended invoice's complements, one folder per number.
COMPLEMENTS_DIR = "complements"
#: In a complements folder, the comment sent with the files (UTF-8), not a file to attach.
COMMENT_FILE = "commentaire.txt"
MAX_COMMENT = 2000
ROUTING_FIELDS = ("buyer_siret", "buyer_service_code", "engagement_number")

_ACTION = SQLModel.metadata.tables[str(ReturnAction.__tablename__)]
_INVOICE = SQLModel.metadata.tables[str(Invoice.__tablename__)]


@dataclass(frozen=True)
class PlannedFile:
    """A file to attach: where it is read, and the name and type it is uploaded under."""

    path: str
    name: str
    mime: str
    extension: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "mime": self.mime,
            "extension": self.extension,
            "size": self.size,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class Routing:
    """Where an invoice goes on Chorus Pro: the recipient, its service, the engagement."""

    buyer_siret: str | None
    buyer_service_code: str | None
    engagement_number: str | None

    @classmethod
    def of(cls, invoice: Invoice) -> Routing:
        return cls(invoice.buyer_siret, invoice.buyer_service_code, invoice.engagement_number)

    def as_dict(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in ROUTING_FIELDS}


@dataclass
class Request:
    """One answer asked for one invoice, before it is recorded."""

    invoice_id: int
    kind: ReturnKind
    origin: str
    comment: str | None = None
    files: list[PlannedFile] = field(default_factory=list)
    before: Routing | None = None
    after: Routing | None = None
    content_hash: str | None = None
    source_hash: str | None = None
    #: Tells two returns of the invoice apart (a command gives the status time the warehouse
    #: knows): the same ask in a later episode is a new request, not the earlier one again.
    episode: str | None = None

    def key(self) -> str:
        """What is asked, hashed: the same files and comment, or the same new routing."""
        asked = {
            "kind": self.kind.value,
            "episode": self.episode,
            "comment": self.comment or "",
            "files": [[f.name, f.size, f.sha256] for f in self.files],
            "routing": self.after.as_dict() if self.after else None,
        }
        return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Recorded:
    action_id: int
    #: False when the same request was recorded before (an export read again).
    created: bool


def record_request(engine: Engine, request: Request) -> Recorded:
    """The request's row, committed; an identical one already recorded is returned instead."""
    key = request.key()
    routing = (
        {"before": request.before.as_dict(), "after": request.after.as_dict()}
        if request.before and request.after
        else {}
    )
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(_ACTION.c.id).where(
                _ACTION.c.invoice_id == request.invoice_id,
                _ACTION.c.kind == request.kind.value,
                _ACTION.c.request_key == key,
            )
        ).scalar()
        if found is not None:
            return Recorded(int(found), created=False)
        try:
            inserted = conn.execute(
                sa.insert(_ACTION).values(
                    invoice_id=request.invoice_id,
                    kind=request.kind.value,
                    origin=request.origin,
                    request_key=key,
                    state=ReturnState.REQUESTED.value,
                    comment=(request.comment or None) and request.comment[:MAX_COMMENT],
                    files_json=json.dumps([f.as_dict() for f in request.files]),
                    upload_ids_json="{}",
                    routing_json=json.dumps(routing),
                    content_hash=request.content_hash,
                    source_hash=request.source_hash,
                    attempts=0,
                    requested_at=utcnow(),
                )
            )
            conn.commit()
        except sa.exc.IntegrityError:
            conn.rollback()
            return record_request(engine, request)  # recorded meanwhile by another run
        key_row = inserted.inserted_primary_key
    assert key_row is not None
    return Recorded(int(key_row[0]), created=True)


def plan_files(files: Sequence[Path]) -> tuple[list[PlannedFile], list[Reason]]:
    """The attachment preflight of the deposit (formats, sizes, names Chorus Pro takes) on files
    anywhere on disk: what would be uploaded, and why some cannot be."""
    if not files:
        return [], []
    resolved = [Path(os.path.abspath(f)) for f in files]
    base = Path(os.path.commonpath([str(p.parent) for p in resolved]))
    check = check_attachments(base, [str(p.relative_to(base)) for p in resolved], 0)
    planned = [
        PlannedFile(
            path=str(item.source_path),
            name=item.upload_name,
            mime=item.mime_type,
            extension=item.extension,
            size=item.size_bytes,
            sha256=sha256_of_file(item.source_path),
        )
        for item in check.planned
    ]
    return planned, list(check.reasons)


def read_comment(folder: Path) -> str | None:
    path = folder / COMMENT_FILE
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8-sig", errors="replace").strip()
    return text[:MAX_COMMENT] or None


@dataclass
class ComplementsReport:
    """What an export's `complements/` folder asked: requests recorded, folders refused."""

    recorded: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    refused: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"recorded": self.recorded, "already": self.already, "refused": self.refused}


def _invoices_named(engine: Engine, folder_name: str, cooperatives: set[str]) -> list[Invoice]:
    """Invoices whose number, with `/` written `_` (a folder name cannot hold it), is the
    folder's name, in the given cooperatives."""
    query = sa.select(_INVOICE).where(
        sa.func.replace(_INVOICE.c.invoice_number, "/", "_") == folder_name,
        _INVOICE.c.cooperative.in_(sorted(cooperatives)),
    )
    with engine.connect() as conn:
        return [Invoice.model_validate(dict(row._mapping)) for row in conn.execute(query)]


def record_complements(
    engine: Engine, export_dir: Path, cooperatives: set[str]
) -> ComplementsReport:
    """One `complete` request per `complements/<NUMBER>/` folder of the export: its files, which
    pass the attachment preflight, and its `commentaire.txt`. A folder that names no deposited
    invoice of the export's cooperatives, or one whose files would be refused, is reported with
    its reasons (in French) and asks nothing."""
    report = ComplementsReport()
    root = export_dir / COMPLEMENTS_DIR
    if not root.is_dir():
        return report
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        name = folder.name
        found = _invoices_named(engine, name, cooperatives)
        if len(found) != 1:
            report.refused[name] = [
                f"Aucune facture {name} dans le pipeline : vérifiez le nom du dossier (le numéro "
                "de la facture, « / » écrit « _ »)."
                if not found
                else f"Plusieurs structures ont une facture {name} : complétez-la avec "
                "« chorus-etl complete … --structure SIRET »."
            ]
            continue
        invoice = found[0]
        assert invoice.id is not None
        if invoice.state != InvoiceState.DEPOSITED.value or invoice.chorus_invoice_id is None:
            report.refused[name] = [
                f"La facture {invoice.invoice_number} n'est pas déposée sur Chorus Pro (état "
                f"{invoice.state}) : il n'y a rien à compléter."
            ]
            continue
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != COMMENT_FILE)
        planned, reasons = plan_files(files)
        comment = read_comment(folder)
        if reasons or not (planned or comment):
            report.refused[name] = [r.message_fr for r in reasons] or [
                "Le dossier ne contient ni pièce jointe ni commentaire."
            ]
            continue
        recorded = record_request(
            engine,
            Request(
                invoice_id=invoice.id,
                kind=ReturnKind.COMPLETE,
                origin="export",
                comment=comment,
                files=planned,
            ),
        )
        (report.recorded if recorded.created else report.already).append(invoice.invoice_number)
    return report
