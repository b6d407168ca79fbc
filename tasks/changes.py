"""Which invoices of an export are exactly as the warehouse last saw them, before validating any.

An invoice's *source hash* covers its raw rows (every cell as read, in file order) and a stamp of
each file it names (size, modification and change times, inode). Validation, the PDF preflight and
the content hash depend only on those rows and those files' bytes, so an invoice whose source hash
is the one stored gets nothing from being checked again: it keeps its state and reasons. Anything
else, a changed cell or a file written again, goes through the whole ingest, where the content hash
(rows as parsed, files' bytes) still decides whether the invoice really changed.

The stamp is the check `make` and git rely on: a file rewritten in place gets a new modification
and change time (the change time cannot be set back by a program), a file copied or moved into
place a new inode or change time. Only the cost of a false "changed" is paid for a copied folder.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from schemas.export import INVOICE_COLUMNS
from schemas.warehouse import Invoice
from tasks.validate import clean_siret

Key = tuple[str, str]

#: Part of every source hash: a change of what it covers must not match hashes stored before.
_VERSION = "source-v1"
_CELL = "\x1f"
_ROW = "\x1e"


def row_keys(frame: pd.DataFrame) -> list[Key]:
    """Each row's invoice key, spelled as validation groups rows (`validate.typed_frame`)."""
    return [
        (clean_siret(supplier), str(number))
        for supplier, number in zip(frame["supplier_siret"], frame["invoice_number"], strict=True)
    ]


def file_stamp(root: str, relative: str) -> str:
    """The file the content hash reads (`stage._safe_file_hash`), told by its stat alone.

    `root` is the export folder, resolved. Plain `os.path` rather than `pathlib`: this runs for
    every file of every ingest, unchanged ones included.
    """
    if not relative:
        return ""
    candidate = os.path.realpath(os.path.join(root, relative))
    if candidate != root and not candidate.startswith(root.rstrip(os.sep) + os.sep):
        return "outside"
    try:
        found = os.stat(candidate)
    except OSError:
        return "missing"
    if not stat.S_ISREG(found.st_mode):
        return "missing"
    return f"{found.st_size}:{found.st_mtime_ns}:{found.st_ctime_ns}:{found.st_ino}"


def _files_of(first_row: dict[str, str]) -> list[str]:
    """The files the content hash covers: the PDF and attachments of the invoice's first row."""
    attachments = [part.strip() for part in first_row["attachments"].split("|") if part.strip()]
    return [first_row["pdf_file"], *attachments]


def source_hashes(frame: pd.DataFrame, keys: list[Key], export_dir: Path) -> dict[Key, str]:
    """The source hash of every invoice of the raw frame, in order of first appearance."""
    names = [c.name for c in INVOICE_COLUMNS]
    rows: dict[Key, list[str]] = {}
    firsts: dict[Key, dict[str, str]] = {}
    cells = zip(*(frame[name].astype(str).tolist() for name in names), strict=True)
    for key, values in zip(keys, cells, strict=True):
        if key not in rows:
            rows[key] = []
            firsts[key] = dict(zip(names, values, strict=True))
        rows[key].append(_CELL.join(values))
    hashes: dict[Key, str] = {}
    root = str(export_dir.resolve())
    for key, texts in rows.items():
        stamps = [f"{name}{_CELL}{file_stamp(root, name)}" for name in _files_of(firsts[key])]
        digest = hashlib.sha256(_ROW.join([_VERSION, *texts, *stamps]).encode())
        hashes[key] = digest.hexdigest()
    return hashes


def stored_sources(engine: Engine, keys: Iterable[Key]) -> dict[Key, str | None]:
    """The source hash stored for each of `keys` already in the warehouse (None if not recorded)."""
    by_supplier: dict[str, list[str]] = {}
    for supplier, number in keys:
        by_supplier.setdefault(supplier, []).append(number)
    found: dict[Key, str | None] = {}
    with Session(engine) as session:
        for supplier, numbers in by_supplier.items():
            for start in range(0, len(numbers), 500):
                rows = session.exec(
                    select(Invoice.invoice_number, Invoice.source_hash).where(
                        Invoice.supplier_siret == supplier,
                        col(Invoice.invoice_number).in_(numbers[start : start + 500]),
                    )
                ).all()
                for number, source_hash in rows:
                    found[(supplier, number)] = source_hash
    return found
