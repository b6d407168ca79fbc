"""Proof of deposit: each deposited invoice's documents as Chorus Pro holds them, kept once.

The cooperative's guide ends the deposit with "vous pouvez désormais télécharger le certificat
de dépôt, visualiser la facture telle que vous l'avez envoyée", and an invoice must be kept ten
years. So every `deposited` invoice without an archive gets one: `telecharger/groupe` (several
invoices a call, `CHORUS_ETL_ARCHIVE_BATCH_SIZE`) returns the documents, written under
`CHORUS_ETL_ARCHIVE_DIR/<cooperative>/<structure SIRET>/<year>/<number>/` with a `depot.json`
saying what they are (Chorus Pro's id, the deposit date, the certificate fingerprint that
`soumettre` answered, when they were fetched, each file's SHA-256), and one `archive_file` row
per file with its SHA-256 and size. The same selection, "deposited and no archive", is the
backfill: stopped anywhere, the next run downloads only what is still missing.

Chorus Pro answers HTTP 413 above 120 MB a call: the call is split in halves, down to one
invoice; one invoice too large with its attachments is fetched without them (noted in the
archive); one too large even alone is reported and tried again at the next run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from chorus_etl.accounts import AccountsError
from chorus_etl.log import get_logger
from chorus_pro.api import ChorusProApi
from chorus_pro.errors import ChorusProError, TooLargeError
from schemas.warehouse import ArchiveFile, Invoice, InvoiceState, utcnow

log = get_logger(__name__)

#: The description of the archived documents written beside them (and hashed like them).
RECORD_NAME = "depot.json"
WITHOUT_ATTACHMENTS = (
    "pièces jointes non téléchargées : l'ensemble dépasse les 120 Mo que Chorus Pro envoie "
    "en une fois (HTTP 413)"
)

_FILE = SQLModel.metadata.tables[str(ArchiveFile.__tablename__)]
_INVOICE = SQLModel.metadata.tables[str(Invoice.__tablename__)]


@dataclass(frozen=True)
class ToArchive:
    """A deposited invoice whose documents the archive lacks."""

    invoice_id: int
    cooperative: str
    supplier_siret: str
    invoice_number: str
    chorus_invoice_id: int
    invoice_date: date | None
    deposit_date: date | None
    fingerprint: str | None

    @property
    def folder(self) -> PurePosixPath:
        """`<cooperative>/<structure>/<year>/<number>`: one per invoice, however many exist."""
        year = (self.invoice_date or self.deposit_date or date.today()).year
        return PurePosixPath(
            safe_name(self.cooperative),
            safe_name(self.supplier_siret),
            str(year),
            safe_name(self.invoice_number),
        )


def safe_name(name: str) -> str:
    """One path component, whatever Chorus Pro or an invoice number holds."""
    cleaned = name.replace("/", "_").replace("\\", "_").replace("\x00", "").strip()
    return cleaned if cleaned not in ("", ".", "..") else "_"


def lacking(
    engine: Engine, *, sirets: Sequence[str] | None = None, limit: int | None = None
) -> list[ToArchive]:
    """Deposited invoices without an archive, oldest first."""
    query = (
        sa.select(
            _INVOICE.c.id,
            _INVOICE.c.cooperative,
            _INVOICE.c.supplier_siret,
            _INVOICE.c.invoice_number,
            _INVOICE.c.chorus_invoice_id,
            _INVOICE.c.invoice_date,
            _INVOICE.c.deposit_date,
            _INVOICE.c.certificate_fingerprint,
        )
        .where(
            _INVOICE.c.state == InvoiceState.DEPOSITED.value,
            _INVOICE.c.chorus_invoice_id.is_not(None),
            ~sa.exists().where(_FILE.c.invoice_id == _INVOICE.c.id),
        )
        .order_by(_INVOICE.c.id)
    )
    if sirets:
        query = query.where(_INVOICE.c.supplier_siret.in_(list(sirets)))
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [ToArchive(*row) for row in conn.execute(query)]


@dataclass
class FetchReport:
    """What one run archived, and what it left for the next."""

    invoices: int = 0
    files: int = 0
    calls: int = 0
    #: Calls split after an HTTP 413.
    splits: int = 0
    without_attachments: list[str] = field(default_factory=list)
    too_large: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    #: The invoices archived, and those left for the next run (failed or too large).
    kept: list[ToArchive] = field(default_factory=list)
    left: list[tuple[ToArchive, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "archived": self.invoices,
            "files": self.files,
            "calls": self.calls,
            "splits": self.splits,
            "without_attachments": len(self.without_attachments),
            "too_large": len(self.too_large),
            "failed": len(self.failed),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts(),
            "without_attachments": self.without_attachments,
            "too_large": self.too_large,
            "failed": self.failed,
        }


def _kind(content: bytes) -> str:
    if content.startswith(b"%PDF"):
        return "pdf"
    if content.lstrip().startswith(b"<"):
        return "xml"
    return "bin"


def _owner(parts: Sequence[str], chunk: Sequence[ToArchive]) -> ToArchive | None:
    """The invoice a member of a several-invoice archive belongs to, told by its folders: the
    Chorus Pro id or the number (`/` written `_`); None if they do not say."""
    for item in chunk:
        names = {str(item.chorus_invoice_id), safe_name(item.invoice_number)}
        for part in parts:
            if part in names or part.endswith(f"_{item.chorus_invoice_id}"):
                return item
    return None


def split_answer(
    content: bytes, chunk: Sequence[ToArchive]
) -> dict[int, list[tuple[str, bytes]]] | None:
    """The answer's files by invoice; None when a several-invoice answer cannot be split (then
    each invoice is asked alone). A one-invoice answer is that invoice's, whatever its layout."""
    files: dict[int, list[tuple[str, bytes]]] = {item.invoice_id: [] for item in chunk}
    if not zipfile.is_zipfile(io.BytesIO(content)):
        if len(chunk) != 1:
            return None
        item = chunk[0]
        name = f"{safe_name(item.invoice_number)}.{_kind(content)}"
        return {item.invoice_id: [(name, content)]}
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            owner = chunk[0] if len(chunk) == 1 else _owner(parts[:-1], chunk)
            if owner is None:
                return None
            files[owner.invoice_id].append((safe_name(parts[-1]), archive.read(info)))
    if len(chunk) > 1 and not all(files.values()):
        return None
    return files


def _unique(files: list[tuple[str, bytes]]) -> Iterator[tuple[str, bytes]]:
    taken: set[str] = {RECORD_NAME}
    for name, content in files:
        stem, dot, extension = name.rpartition(".")
        candidate, counter = name, 1
        while candidate.casefold() in taken:
            counter += 1
            candidate = f"{stem}-{counter}{dot}{extension}" if dot else f"{name}-{counter}"
        taken.add(candidate.casefold())
        yield candidate, content


def _write(path: Path, content: bytes) -> None:
    """Atomically: a crash leaves the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    os.replace(partial, path)


class Archiver:
    """Downloads and keeps the documents of deposited invoices; `api_for` gives the
    structure's client."""

    def __init__(
        self,
        engine: Engine,
        root: Path,
        api_for: Callable[[str], ChorusProApi],
        *,
        form: str = "PDF",
        attachments: bool = True,
        batch_size: int = 20,
    ) -> None:
        self.engine = engine
        self.root = root
        self.api_for = api_for
        self.form = form
        self.attachments = attachments
        self.batch_size = batch_size
        self.report = FetchReport()

    def fetch(self, items: Sequence[ToArchive]) -> FetchReport:
        by_structure: dict[str, list[ToArchive]] = {}
        for item in items:
            by_structure.setdefault(item.supplier_siret, []).append(item)
        for siret, mine in by_structure.items():
            for start in range(0, len(mine), self.batch_size):
                self._download(siret, mine[start : start + self.batch_size], self.attachments)
        return self.report

    def _download(
        self, siret: str, chunk: Sequence[ToArchive], attachments: bool, note: str | None = None
    ) -> None:
        try:
            api = self.api_for(siret)
            self.report.calls += 1
            content = api.download_invoices(
                [i.chorus_invoice_id for i in chunk], format=self.form, attachments=attachments
            )
        except TooLargeError:
            self._too_large(siret, chunk, attachments)
            return
        except (ChorusProError, AccountsError) as exc:
            # Transient, refused or unconfigured: nothing is kept, the next run asks again.
            log.warning("archive.download_failed", supplier=siret, error=str(exc))
            self.report.failed += [i.invoice_number for i in chunk]
            self.report.left += [(i, f"{type(exc).__name__}: {exc}") for i in chunk]
            return
        try:
            files = split_answer(content, chunk)
        except zipfile.BadZipFile as exc:
            log.warning("archive.unreadable_answer", supplier=siret, error=str(exc))
            files = None
        if files is None:
            if len(chunk) == 1:
                self.report.failed.append(chunk[0].invoice_number)
                self.report.left.append((chunk[0], "answer not readable as its documents"))
                return
            for item in chunk:
                self._download(siret, [item], attachments, note)
            return
        for item in chunk:
            self._keep(item, files[item.invoice_id], note, attachments)

    def _too_large(self, siret: str, chunk: Sequence[ToArchive], attachments: bool) -> None:
        if len(chunk) > 1:
            self.report.splits += 1
            half = len(chunk) // 2
            self._download(siret, chunk[:half], attachments)
            self._download(siret, chunk[half:], attachments)
        elif attachments:
            self.report.without_attachments.append(chunk[0].invoice_number)
            self._download(siret, chunk, False, WITHOUT_ATTACHMENTS)
        else:
            log.error("archive.too_large", supplier=siret, invoice=chunk[0].invoice_number)
            self.report.too_large.append(chunk[0].invoice_number)
            self.report.left.append((chunk[0], "HTTP 413: over 120 MB even alone"))

    def _keep(
        self,
        item: ToArchive,
        files: list[tuple[str, bytes]],
        note: str | None,
        attachments: bool,
    ) -> None:
        """The files, then their rows in one commit: a crash between leaves files without rows,
        which the next run writes again (only rows make an archive)."""
        if not files:
            log.warning("archive.empty_answer", invoice=item.invoice_number)
            self.report.failed.append(item.invoice_number)
            self.report.left.append((item, "empty answer"))
            return
        now = utcnow()
        kept: list[tuple[str, bytes]] = list(_unique(files))
        record = _record(item, kept, now, self.form, attachments, note)
        contents = [
            (item.folder / name, content) for name, content in [*kept, (RECORD_NAME, record)]
        ]
        rows = [
            {
                "invoice_id": item.invoice_id,
                "path": str(relative),
                "sha256": hashlib.sha256(content).hexdigest(),
                "size_bytes": len(content),
                "fetched_at": now,
                "note": note,
            }
            for relative, content in contents
        ]
        try:
            with self.engine.begin() as conn:
                # The rows first: of two runs keeping the same invoice, the second waits here
                # and is refused, so it never overwrites files whose hashes the first stored.
                conn.execute(sa.insert(_FILE), rows)
                for relative, content in contents:
                    _write(self.root / relative, content)
        except sa.exc.IntegrityError:
            log.info("archive.already_kept", invoice=item.invoice_number)
            self.report.kept.append(item)  # kept by another run: its wait, if any, is over
            return
        self.report.invoices += 1
        self.report.files += len(rows)
        self.report.kept.append(item)
        log.info("archive.kept", invoice=item.invoice_number, files=len(rows))


def _record(
    item: ToArchive,
    files: Sequence[tuple[str, bytes]],
    fetched_at: datetime,
    form: str,
    attachments: bool,
    note: str | None,
) -> bytes:
    """`depot.json`: what the folder holds and where it comes from, readable in ten years."""
    described = {
        "numeroFacture": item.invoice_number,
        "siretFournisseur": item.supplier_siret,
        "identifiantFactureCPP": item.chorus_invoice_id,
        "dateDepot": item.deposit_date.isoformat() if item.deposit_date else None,
        "empreinteCertificatDepot": item.fingerprint,
        "telechargeLe": fetched_at.isoformat(),
        "source": "Chorus Pro, telecharger/groupe",
        "format": form,
        "piecesJointes": attachments,
        "remarque": note,
        "fichiers": [
            {"nom": name, "sha256": hashlib.sha256(content).hexdigest(), "taille": len(content)}
            for name, content in files
        ],
    }
    return (json.dumps(described, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
