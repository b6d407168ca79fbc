"""What refuses a whole invoice or directory file before it is parsed: its size, an encoding the
reader does not read, a workbook that inflates beyond reason.

Each is one file-level reason naming what was found and what is accepted. They run on the bytes
(or the size) alone, before the csv module or openpyxl sees anything, so that a hostile file costs
a `stat`, a look at its first bytes or at its zip directory, never the memory it would inflate to.
"""

from __future__ import annotations

import codecs
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chorus_etl.french import format_megabytes
from schemas.issues import Reason

if TYPE_CHECKING:
    from chorus_etl.settings import Settings

MIB = 1024 * 1024
#: A workbook member may inflate at most this many times its compressed size (real sheets: 10 to
#: 20): deflate reaches about 1000:1 on the repeated bytes a zip bomb is made of.
XLSX_MAX_RATIO = 200
#: Members smaller than this are not judged by their ratio: small XML files compress very well.
_RATIO_FLOOR = MIB
#: Enough of a file's start to tell a UTF-16 or UTF-32 text by its NUL bytes.
_SAMPLE = 4096
_BOMS = (
    # UTF-32 LE first: its byte-order mark starts with UTF-16 LE's.
    (codecs.BOM_UTF32_LE, "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "UTF-32 BE"),
    (codecs.BOM_UTF16_LE, "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "UTF-16 BE"),
)
#: Which of every four bytes are mostly NUL, for text mostly of Latin letters, by encoding.
_NUL_PATTERNS: dict[tuple[bool, ...], str] = {
    (False, True, True, True): "UTF-32 LE",
    (True, True, True, False): "UTF-32 BE",
    (False, True, False, True): "UTF-16 LE",
    (True, False, True, False): "UTF-16 BE",
}
SUPPORTED_FR = "UTF-8 (avec ou sans BOM) ou Windows-1252 / ISO-8859-15"
SUPPORTED_EN = "UTF-8 (with or without BOM), Windows-1252 / ISO-8859-15"


@dataclass(frozen=True, slots=True)
class FileLimits:
    """Limits of one file of an export (`Settings.export_max_bytes` and
    `Settings.xlsx_max_uncompressed_bytes`)."""

    max_bytes: int = 64 * MIB
    xlsx_max_uncompressed_bytes: int = 100 * MIB

    @classmethod
    def of(cls, settings: Settings) -> FileLimits:
        """The configured limits: every file of an export is read within them, including the
        ones only sniffed to tell its layout."""
        return cls(settings.export_max_bytes, settings.xlsx_max_uncompressed_bytes)


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


def refusal(path: Path, data: bytes, limits: FileLimits, label_fr: str) -> Reason | None:
    """Why the file's bytes are not parsed, if they are not: a text in an encoding the reader
    does not read, or a workbook that would inflate beyond the limits."""
    if path.suffix.lower() == ".xlsx":
        return _inflation(path, data, limits)
    encoding = unsupported_encoding(data)
    if encoding is None:
        return None
    return file_reason(
        "file.encoding",
        path,
        f"Le fichier {label_fr} « {path.name} » est encodé en {encoding}, que le pipeline ne lit "
        f"pas : enregistrez-le en {SUPPORTED_FR} (dans Excel : « CSV UTF-8 »).",
        f"{path.name} is encoded in {encoding}; supported encodings: {SUPPORTED_EN}",
    )


def unsupported_encoding(data: bytes) -> str | None:
    """UTF-16 or UTF-32, told by a byte-order mark or, without one, by where the NUL bytes are
    (a Latin letter is one byte and one to three NULs); None for anything else."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    sample = data[:_SAMPLE]
    if sample.count(0) * 4 < len(sample):
        return None
    mostly_nul = tuple(
        sample[offset::4].count(0) * 2 > len(sample[offset::4]) for offset in range(4)
    )
    return _NUL_PATTERNS.get(mostly_nul, "UTF-16 / UTF-32")


def _inflation(path: Path, data: bytes, limits: FileLimits) -> Reason | None:
    """Judged on the zip directory's declared sizes: Python's zipfile, which openpyxl reads
    through, never inflates a member beyond its declared size (a member that lies fails its
    CRC check, and the file is unreadable)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        return None  # not a workbook: openpyxl says so, as an unreadable file
    total = sum(member.file_size for member in members)
    limit = limits.xlsx_max_uncompressed_bytes
    if total > limit:
        return file_reason(
            "file.too_large",
            path,
            f"Le classeur « {path.name} » se décompresse en {format_megabytes(total)}, au-delà "
            f"de la limite de {format_megabytes(limit)} : enregistrez-le en CSV, ou découpez "
            "l'export.",
            f"{path.name} inflates to {total} bytes, over the limit of {limit} "
            "(CHORUS_ETL_XLSX_MAX_UNCOMPRESSED_BYTES)",
        )
    for member in members:
        ratio = member.file_size // max(member.compress_size, 1)
        if member.file_size >= _RATIO_FLOOR and ratio > XLSX_MAX_RATIO:
            return file_reason(
                "file.compression_ratio",
                path,
                f"Le classeur « {path.name} » est anormalement compressé ({member.filename} : "
                f"{ratio} pour 1) : enregistrez-le de nouveau depuis le tableur, ou en CSV.",
                f"{path.name}: {member.filename} inflates {ratio}:1, over {XLSX_MAX_RATIO}:1 "
                "(a zip bomb)",
            )
    return None
