"""What refuses a whole invoice or directory file before it is parsed: its size.

It is one file-level reason naming what was found and what is accepted, told by the file's size
alone, before the csv module or openpyxl sees anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chorus_etl.french import format_megabytes
from schemas.issues import Reason

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileLimits:
    """Limits of one file of an export (`Settings.export_max_bytes`)."""

    max_bytes: int = 64 * MIB


def file_reason(rule: str, path: Path, fr: str, en: str) -> Reason:
    return Reason(rule=rule, column=None, value=path.name, message_fr=fr, message_en=en)


def too_large(path: Path, size: int, limits: FileLimits, label_fr: str) -> Reason | None:
    """A file over the size limit is not read at all."""
    if size <= limits.max_bytes:
        return None
    return file_reason(
        "file.too_large",
        path,
        f"Le fichier {label_fr} « {path.name} » fait {format_megabytes(size)}, au-delà de la "
        f"limite de {format_megabytes(limits.max_bytes)} : découpez l'export en plusieurs "
        "dossiers.",
        f"{path.name} is {size} bytes, over the limit of {limits.max_bytes} "
        "(CHORUS_ETL_EXPORT_MAX_BYTES)",
    )
