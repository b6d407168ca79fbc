"""Planning the upload of an invoice's supporting documents (pièces jointes) to Chorus Pro.

Chorus Pro takes attachments of listed formats only, ≤ 10 MB each, named in ≤ 50 characters with
the extension, and ≤ 120 MB with the invoice PDF (reference §6, the OCA connector's checks). A name
that is merely too long is not the entrepreneur's problem: the upload gets a shorter, safe name and
the plan records it. Anything else that would make the deposit fail is a reason.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from chorus_etl.french import format_megabytes
from schemas.issues import Reason
from tasks.preflight.paths import PathProblem, locate_in_export

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_INVOICE_TOTAL_BYTES = 120 * 1024 * 1024
MAX_NAME_LENGTH = 50
ATTACHMENT_COLUMN = "attachments"
FALLBACK_STEM = "piece-jointe"

# Chorus Pro's accepted extensions (reference §6) and the MIME type sent with each.
MIME_TYPES: dict[str, str] = {
    "BMP": "image/bmp",
    "GIF": "image/gif",
    "FAX": "image/g3fax",
    "ODT": "application/vnd.oasis.opendocument.text",
    "PPT": "application/vnd.ms-powerpoint",
    "TIFF": "image/tiff",
    "XLS": "application/vnd.ms-excel",
    "BZ2": "application/x-bzip2",
    "GZ": "application/gzip",
    "JPEG": "image/jpeg",
    "P7S": "application/pkcs7-signature",
    "RTF": "application/rtf",
    "TXT": "text/plain",
    "XML": "application/xml",
    "CSV": "text/csv",
    "GZIP": "application/gzip",
    "JPG": "image/jpeg",
    "PDF": "application/pdf",
    "SVG": "image/svg+xml",
    "XHTML": "application/xhtml+xml",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "DOC": "application/msword",
    "HTM": "text/html",
    "ODP": "application/vnd.oasis.opendocument.presentation",
    "PNG": "image/png",
    "TGZ": "application/gzip",
    "XLC": "application/vnd.ms-excel",
    "ZIP": "application/zip",
    "DOCX": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "HTML": "text/html",
    "ODS": "application/vnd.oasis.opendocument.spreadsheet",
    "PPS": "application/vnd.ms-powerpoint",
    "TIF": "image/tiff",
    "XLM": "application/vnd.ms-excel",
    "PPTX": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
ALLOWED_EXTENSIONS = frozenset(MIME_TYPES)


@dataclass(frozen=True, slots=True)
class PlannedAttachment:
    """One upload to `ajouter/fichier`: what to read, and the name, type and extension to send."""

    source_path: Path
    upload_name: str
    size_bytes: int
    mime_type: str
    extension: str
    original_name: str

    @property
    def renamed(self) -> bool:
        return self.upload_name != self.original_name


@dataclass(frozen=True, slots=True)
class AttachmentCheck:
    """The uploads to make for one invoice, and why some cannot be made."""

    planned: list[PlannedAttachment]
    reasons: list[Reason]
    total_bytes: int

    @property
    def ok(self) -> bool:
        return not self.reasons


def _reason(rule: str, relative_path: str | None, fr: str, en: str) -> Reason:
    return Reason(
        rule=rule, message_fr=fr, message_en=en, column=ATTACHMENT_COLUMN, value=relative_path
    )


def _split_name(name: str) -> tuple[str, str]:
    """(stem, extension without the dot); a leading dot alone (".bashrc") is not an extension."""
    stem, dot, extension = name.rpartition(".")
    return (stem, extension) if dot and stem else (name, "")


def _candidate(safe_stem: str, extension: str, counter: int) -> str:
    suffix = "" if counter == 1 else f"-{counter}"
    room = MAX_NAME_LENGTH - len(extension) - 1 - len(suffix)
    return f"{safe_stem[:room].rstrip('._-') or FALLBACK_STEM[:room]}{suffix}.{extension}"


def _safe_name(name: str, taken: set[str]) -> str:
    """`name` if Chorus Pro takes it as is; else ASCII, ≤ 50 characters, extension kept, unique."""
    if len(name) <= MAX_NAME_LENGTH and name.casefold() not in taken:
        return name
    stem, extension = _split_name(name)
    folded = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    safe_stem = re.sub(r"[^A-Za-z0-9._-]+", "_", folded).strip("._-") or FALLBACK_STEM
    candidates = (_candidate(safe_stem, extension, n) for n in itertools.count(1))
    return next(c for c in candidates if c.casefold() not in taken)


def upload_name_of(relative_path: str, taken: set[str]) -> str:
    """The name a file of the export is uploaded under (see `_safe_name`); `taken` holds the
    casefolded names already given to the same invoice's files, and gets this one."""
    name = _safe_name(PurePosixPath(relative_path.replace("\\", "/")).name, taken)
    taken.add(name.casefold())
    return name


def _located_reason(relative_path: str, problem: PathProblem) -> Reason:
    if problem is PathProblem.OUTSIDE_EXPORT:
        return _reason(
            "attachment.outside_export",
            relative_path,
            f"Le chemin de la pièce jointe « {relative_path} » sort du dossier de l'export. "
            "Indiquez un chemin relatif au dossier de l'export, par exemple « pdf/annexes/PV.pdf ».",
            f"attachment path {relative_path!r} is absolute or leads outside the export folder",
        )
    return _reason(
        "attachment.missing",
        relative_path,
        f"La pièce jointe « {relative_path} » est introuvable dans l'export. Vérifiez le chemin "
        "indiqué dans la colonne pieces_jointes et que le fichier accompagne bien l'export.",
        f"attachment {relative_path!r} is not a file in the export folder",
    )


def _file_reason(relative_path: str, name: str, size: int) -> Reason | None:
    """The per-file rules once the file is found: format, emptiness, size."""
    extension = _split_name(name)[1].upper()
    if extension not in ALLOWED_EXTENSIONS:
        shown = f".{extension.lower()}" if extension else "sans extension"
        return _reason(
            "attachment.extension_not_allowed",
            relative_path,
            f"La pièce jointe « {relative_path} » est dans un format que Chorus Pro refuse "
            f"({shown}). Convertissez-la dans un format accepté (PDF de préférence, ou JPG, PNG, "
            "XLSX, DOCX, ODT, CSV, TXT, ZIP…) et gardez l'extension dans son nom.",
            f"attachment {relative_path!r} has extension {extension or '(none)'!r}, "
            "not accepted by Chorus Pro",
        )
    if size == 0:
        return _reason(
            "attachment.empty",
            relative_path,
            f"La pièce jointe « {relative_path} » est vide (0 octet). Remplacez-la par le bon fichier.",
            f"attachment {relative_path!r} is empty",
        )
    if size > MAX_ATTACHMENT_BYTES:
        return _reason(
            "attachment.too_large",
            relative_path,
            f"La pièce jointe « {relative_path} » pèse {format_megabytes(size)}, au-delà des "
            f"{format_megabytes(MAX_ATTACHMENT_BYTES)} acceptés par Chorus Pro. Allégez-la (PDF "
            "plutôt que scan, images moins lourdes) ou découpez-la en plusieurs fichiers.",
            f"attachment {relative_path!r} is {size} bytes, over the {MAX_ATTACHMENT_BYTES}-byte limit",
        )
    return None


def _total_reason(total: int) -> Reason:
    return _reason(
        "attachment.total_too_large",
        None,
        f"La facture et ses pièces jointes pèsent ensemble {format_megabytes(total)}, au-delà des "
        f"{format_megabytes(MAX_INVOICE_TOTAL_BYTES)} acceptés par Chorus Pro. Allégez ou retirez "
        "des pièces jointes.",
        f"invoice PDF and attachments total {total} bytes, over the {MAX_INVOICE_TOTAL_BYTES}-byte limit",
    )


def check_attachments(
    export_dir: Path, relative_paths: list[str], pdf_size: int
) -> AttachmentCheck:
    """The upload plan for one invoice's attachments; `pdf_size` counts towards the 120 MB cap."""
    planned: list[PlannedAttachment] = []
    found: list[Reason] = []
    taken: set[str] = set()
    for relative_path in (p.strip() for p in relative_paths):
        if not relative_path:
            continue
        located = locate_in_export(export_dir, relative_path)
        if isinstance(located, PathProblem):
            found.append(_located_reason(relative_path, located))
            continue
        name = PurePosixPath(relative_path.replace("\\", "/")).name
        try:
            size = located.stat().st_size
        except OSError:
            found.append(_located_reason(relative_path, PathProblem.MISSING))
            continue
        problem = _file_reason(relative_path, name, size)
        if problem is not None:
            found.append(problem)
            continue
        upload_name = upload_name_of(relative_path, taken)
        extension = _split_name(upload_name)[1].upper()
        planned.append(
            PlannedAttachment(
                source_path=located,
                upload_name=upload_name,
                size_bytes=size,
                mime_type=MIME_TYPES[extension],
                extension=extension,
                original_name=name,
            )
        )
    total = pdf_size + sum(item.size_bytes for item in planned)
    if total > MAX_INVOICE_TOTAL_BYTES:
        found.append(_total_reason(total))
    return AttachmentCheck(planned=planned, reasons=found, total_bytes=total)
