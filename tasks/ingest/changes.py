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
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from schemas.export import INVOICE_COLUMNS
from tasks.ingest.validate import clean_siret

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


class FileStamps:
    """Stamps of the files one export names, told by their stat alone: for each, what the content
    hash would read (`stage._safe_file_hash`): "", "outside", "missing", or the file's stamp.

    This runs for every file of every ingest, unchanged ones included: each folder is resolved
    once, and a file that is not a symbolic link costs one `lstat`.
    """

    def __init__(self, export_dir: Path) -> None:
        self.root = str(export_dir.resolve())
        self._inside = self.root.rstrip(os.sep) + os.sep
        self._folders: dict[str, str] = {}

    def _locate(self, relative: str) -> tuple[str, os.stat_result | None]:
        """`realpath(root/relative)`, and its `lstat` when that already tells the file."""
        joined = os.path.join(self.root, relative)
        folder, name = os.path.split(joined)
        if name in ("", ".", ".."):
            return os.path.realpath(joined), None
        resolved = self._folders.get(folder)
        if resolved is None:
            resolved = self._folders[folder] = os.path.realpath(folder)
        candidate = os.path.join(resolved, name)
        try:
            found = os.lstat(candidate)
        except OSError:
            return candidate, None  # realpath stops at a missing name too
        if stat.S_ISLNK(found.st_mode):
            return os.path.realpath(joined), None
        return candidate, found

    def __call__(self, relative: str) -> str:
        if not relative:
            return ""
        if "\x00" in relative:
            return "missing"
        candidate, found = self._locate(relative)
        if candidate != self.root and not candidate.startswith(self._inside):
            return "outside"
        if found is None:
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


def source_hashes(
    frame: pd.DataFrame, keys: list[Key], export_dir: Path, extra: Mapping[Key, str] | None = None
) -> dict[Key, str]:
    """The source hash of every invoice of the raw frame, in order of first appearance; `extra`
    is what else an invoice's hash covers (the rows of another layout, `extract.Table`)."""
    names = [c.name for c in INVOICE_COLUMNS]
    rows: dict[Key, list[str]] = {}
    firsts: dict[Key, dict[str, str]] = {}
    cells = zip(*(frame[name].tolist() for name in names), strict=True)
    for key, values in zip(keys, cells, strict=True):
        if key not in rows:
            rows[key] = []
            firsts[key] = dict(zip(names, values, strict=True))
        rows[key].append(_CELL.join(values))
    hashes: dict[Key, str] = {}
    stamp = FileStamps(export_dir)
    for key, texts in rows.items():
        stamps = [f"{name}{_CELL}{stamp(name)}" for name in _files_of(firsts[key])]
        more = [(extra or {}).get(key, "")]
        digest = hashlib.sha256(_ROW.join([_VERSION, *texts, *stamps, *more]).encode())
        hashes[key] = digest.hexdigest()
    return hashes
