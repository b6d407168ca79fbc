"""Which export folders of the inbox still need ingesting.

An export already ingested with the same invoice table, nothing waiting, and no file changed since,
is skipped, so the daily run stays quick however many old exports the inbox keeps.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chorus_etl.settings import Settings
from schemas.warehouse import ExportFile
from tasks.ingest.extract import find_invoice_table
from tasks.ingest.file_checks import FileLimits


def _latest_change(folder: Path) -> datetime:
    newest = max((p.stat().st_mtime for p in folder.rglob("*") if p.is_file()), default=0.0)
    return datetime.fromtimestamp(newest, UTC)


def pending_exports(engine: Engine, inbox: Path, settings: Settings) -> list[Path]:
    if not inbox.is_dir():
        return []
    limits = FileLimits.of(settings)
    folders = sorted(p for p in inbox.iterdir() if p.is_dir() and find_invoice_table(p, limits))
    pending: list[Path] = []
    with Session(engine) as session:
        for folder in folders:
            table = find_invoice_table(folder, limits)
            assert table is not None
            with table.open("rb") as handle:  # in chunks: the file may be huge
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            done = session.exec(
                select(ExportFile)
                .where(ExportFile.path == str(folder.resolve()), ExportFile.content_hash == digest)
                .order_by(col(ExportFile.id).desc())
            ).first()
            if done is None or done.error or _latest_change(folder) > done.ingested_at:
                pending.append(folder)
    return pending
