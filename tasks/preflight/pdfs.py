"""Preflight of invoice PDFs: will Chorus Pro accept this file and read the invoice's data from it?

Chorus Pro refuses scans, encrypted or oversized files, and pre-fills its deposit form from what its
OCR finds on the first three pages (the cooperative's guide, "4 règles d'or"). Checking this before
depositing turns a rejection days later into a message the entrepreneur gets with the ingest.
Everything here is a plain function over untrusted files: a broken or hostile PDF yields a `Reason`,
never an exception; `check_invoice_pdfs` adds a time budget and process isolation per file.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import re
import resource
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from io import BytesIO
from pathlib import Path

from pypdf import PageObject, PdfReader
from pypdf.generic import DictionaryObject, PdfObject

from schemas.issues import Reason
from tasks.preflight import reasons
from tasks.preflight.attachments import AttachmentCheck, PlannedAttachment, check_attachments
from tasks.preflight.embedded import EmbeddedXml, read_embedded_xml
from tasks.preflight.fields import find_fields
from tasks.preflight.paths import PathProblem, locate_in_export
from tasks.preflight.pool import WorkerPool
from tasks.preflight.text import SearchableText

__all__ = [
    "MAX_PDF_BYTES",
    "AttachmentCheck",
    "PdfCheck",
    "PdfExpectations",
    "PlannedAttachment",
    "check_attachments",
    "check_invoice_pdf",
    "check_invoice_pdfs",
    "close_idle_workers",
    "read_pdf_text_only",
    "sha256_of_file",
]

MAX_PDF_BYTES = 10 * 1024 * 1024
PAGES_READ = 3
_PDF_SIGNATURE = b"%PDF-"
_SIGNATURE_WINDOW = 1024  # readers accept leading junk before the header, within this many bytes
_INLINE_IMAGE = re.compile(rb"(?:^|\s)BI\s")
_ENCRYPT_ENTRY = re.compile(rb"/Encrypt\s*(?:<<|\d+\s+\d+\s+R)")
_MAX_XOBJECTS = 200
_MAX_FORM_DEPTH = 3
_WORKER_MEMORY_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PdfExpectations:
    """What the export says the PDF shows; `None` when the invoice has no such reference."""

    invoice_number: str
    buyer_siret: str
    engagement_number: str | None
    service_code: str | None
    total_ttc_cents: int

    def __reduce__(self) -> tuple[type[PdfExpectations], tuple[object, ...]]:
        # Sent to a worker with every file: the generic pickling of slotted dataclasses looks
        # up the fields each time, which cost more than the text checks.
        return PdfExpectations, (
            self.invoice_number,
            self.buyer_siret,
            self.engagement_number,
            self.service_code,
            self.total_ttc_cents,
        )


@dataclass(frozen=True, slots=True)
class PdfCheck:
    """The verdict on one invoice PDF; size, hash and page count are known once the file was read,
    `found` (the routing data its first pages announce by keyword, `fields.find_fields`) and
    `embedded_xml` (a Factur-X the PDF carries) once its text was."""

    reasons: list[Reason]
    size_bytes: int | None = None
    sha256: str | None = None
    page_count: int | None = None
    found: dict[str, tuple[str, ...]] = field(default_factory=dict)
    embedded_xml: EmbeddedXml | None = None

    @property
    def ok(self) -> bool:
        return not self.reasons

    def __reduce__(self) -> tuple[type[PdfCheck], tuple[object, ...]]:
        # Sent back for every file; see `PdfExpectations.__reduce__`.
        return PdfCheck, (
            self.reasons,
            self.size_bytes,
            self.sha256,
            self.page_count,
            self.found,
            self.embedded_xml,
        )


Job = tuple[Path, str, PdfExpectations]
Check = Callable[[Path, str, PdfExpectations], PdfCheck]
PoolKey = tuple[Check, float, int]


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _resources_have_image(resources: PdfObject | None, depth: int) -> bool:
    """Looks for image XObjects without decoding them, following form XObjects a few levels down."""
    if resources is None or depth > _MAX_FORM_DEPTH:
        return False
    resolved = resources.get_object()
    if not isinstance(resolved, DictionaryObject):
        return False
    xobjects = resolved.get("/XObject")
    xobjects = xobjects.get_object() if xobjects is not None else None
    if not isinstance(xobjects, DictionaryObject):
        return False
    for reference in list(xobjects.values())[:_MAX_XOBJECTS]:
        xobject = reference.get_object()
        if not isinstance(xobject, DictionaryObject):
            continue
        subtype = xobject.get("/Subtype")
        if subtype == "/Image":
            return True
        if subtype == "/Form" and _resources_have_image(xobject.get("/Resources"), depth + 1):
            return True
    return False


def _page_has_image(page: PageObject) -> bool:
    if _resources_have_image(page.get("/Resources"), 0):
        return True
    contents = page.get_contents()
    return contents is not None and _INLINE_IMAGE.search(contents.get_data()) is not None


def page_is_image(page: PageObject, text: str) -> bool:
    """A page without words that shows an image: a scan."""
    return not _has_words(text) and _page_has_image(page)


def _text_reasons(
    relative_path: str,
    texts: list[str],
    is_image: Callable[[int], bool],
    expected: PdfExpectations,
) -> list[Reason]:
    """The guide's rules on the pages Chorus Pro reads: real text, and the invoice's data in it;
    `is_image(i)` tells whether the i-th page (0-based) is an image without words."""
    if not any(_has_words(text) for text in texts):
        return [reasons.no_text(relative_path, len(texts))]
    found: list[Reason] = [
        reasons.image_only_page(relative_path, number)
        for number, text in enumerate(texts, start=1)
        if not _has_words(text) and is_image(number - 1)
    ]
    text = SearchableText("\n".join(texts))
    if not text.has_reference(expected.invoice_number):
        found.append(reasons.number_missing(expected.invoice_number))
    if expected.buyer_siret and not text.has_siret(expected.buyer_siret):
        found.append(reasons.buyer_siret_missing(expected.buyer_siret))
    if expected.engagement_number and not text.has_reference(expected.engagement_number):
        found.append(reasons.engagement_missing(expected.engagement_number))
    if expected.service_code and not text.has_reference(expected.service_code):
        found.append(reasons.service_missing(expected.service_code))
    if not text.has_amount(expected.total_ttc_cents):
        found.append(reasons.total_missing(expected.total_ttc_cents))
    return found


def _first_pages_text(reader: PdfReader) -> list[str]:
    count = min(PAGES_READ, len(reader.pages))
    return [reader.pages[i].extract_text() for i in range(count)]


@dataclass(frozen=True, slots=True)
class _Content:
    reasons: list[Reason]
    page_count: int | None = None
    found: dict[str, tuple[str, ...]] = field(default_factory=dict)
    embedded_xml: EmbeddedXml | None = None


def _embedded(reader: PdfReader) -> EmbeddedXml | None:
    try:
        return read_embedded_xml(reader)
    except Exception:  # a broken name tree is no reason to refuse the invoice
        return None


def _check_content(relative_path: str, data: bytes, expected: PdfExpectations) -> _Content:
    if _PDF_SIGNATURE not in data[:_SIGNATURE_WINDOW]:
        return _Content([reasons.not_pdf(relative_path)])
    try:
        reader = PdfReader(BytesIO(data))
    except Exception as exc:
        # pypdf tries the empty password while opening; a failure there is still encryption.
        if _ENCRYPT_ENTRY.search(data):
            return _Content([reasons.encrypted(relative_path)])
        return _Content([reasons.unreadable(relative_path, f"{type(exc).__name__}: {exc}")])
    if reader.is_encrypted:
        return _Content([reasons.encrypted(relative_path)])
    page_count: int | None = None
    try:
        page_count = len(reader.pages)
        if page_count == 0:
            return _Content([reasons.unreadable(relative_path, "no pages")], 0)
        texts = _first_pages_text(reader)
        return _Content(
            _text_reasons(
                relative_path, texts, lambda i: _page_has_image(reader.pages[i]), expected
            ),
            page_count,
            find_fields("\n".join(texts)).values,
            _embedded(reader),
        )
    except Exception as exc:
        return _Content(
            [reasons.unreadable(relative_path, f"{type(exc).__name__}: {exc}")], page_count
        )


def check_invoice_pdf(export_dir: Path, relative_path: str, expected: PdfExpectations) -> PdfCheck:
    """Every preflight rule on one invoice PDF, reading the file once."""
    located = locate_in_export(export_dir, relative_path)
    if located is PathProblem.OUTSIDE_EXPORT:
        return PdfCheck(reasons=[reasons.outside_export(relative_path)])
    if not isinstance(located, Path):
        return PdfCheck(reasons=[reasons.missing(relative_path)])
    try:
        size = located.stat().st_size
        if size > MAX_PDF_BYTES:
            too_large = reasons.too_large(relative_path, size, MAX_PDF_BYTES)
            return PdfCheck([too_large], size_bytes=size, sha256=sha256_of_file(located))
        data = located.read_bytes()
    except OSError as exc:
        return PdfCheck(reasons=[reasons.unreadable(relative_path, f"{type(exc).__name__}: {exc}")])
    content = _check_content(relative_path, data, expected)
    return PdfCheck(
        reasons=content.reasons,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        page_count=content.page_count,
        found=content.found,
        embedded_xml=content.embedded_xml,
    )


def check_read_text(
    relative_path: str,
    texts: list[str],
    image_only: list[bool],
    expected: PdfExpectations,
    *,
    sha256: str,
    size_bytes: int,
    page_count: int,
) -> PdfCheck:
    """The verdict on a PDF whose first pages were read already (a part of a merged PDF, see
    `tasks.preflight.split`): the text rules and the routing data, without reading it again."""
    return PdfCheck(
        reasons=_text_reasons(relative_path, texts, lambda i: image_only[i], expected),
        size_bytes=size_bytes,
        sha256=sha256,
        page_count=page_count,
        found=find_fields("\n".join(texts)).values,
    )


def read_pdf_text_only(path: Path) -> int:
    """The bare pypdf work the preflight cannot avoid (open, text of the first pages): the
    benchmark's yardstick. Returns the number of characters extracted."""
    reader = PdfReader(BytesIO(path.read_bytes()))
    return sum(len(text) for text in _first_pages_text(reader))


def prepare_worker() -> None:
    """Quiet pypdf's warnings about broken files (the reasons say it) and cap a worker's memory, so
    that a decompression bomb ends in MemoryError, hence `pdf.unreadable`, not in the OOM killer."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = (
        _WORKER_MEMORY_BYTES if hard == resource.RLIM_INFINITY else min(hard, _WORKER_MEMORY_BYTES)
    )
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _run_check(check: Check, job: Job) -> PdfCheck:
    export_dir, relative_path, expected = job
    return check(export_dir, relative_path, expected)


def _timed_out(timeout_seconds: float, job: Job) -> PdfCheck:
    return PdfCheck(reasons=[reasons.timeout(job[1], timeout_seconds)])


def _crashed(job: Job, what_happened: str) -> PdfCheck:
    return PdfCheck(reasons=[reasons.unreadable(job[1], what_happened)])


class _IdlePool:
    """The one pool kept warm between calls: the ingest checks its PDFs a chunk at a time, and
    each new pool would start its interpreters again. One slot bounds what waits in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slot: tuple[PoolKey, WorkerPool[Job, PdfCheck]] | None = None

    def take(self, key: PoolKey) -> WorkerPool[Job, PdfCheck] | None:
        with self._lock:
            if self._slot is None or self._slot[0] != key:
                return None
            pool, self._slot = self._slot[1], None
            return pool

    def keep(self, key: PoolKey, pool: WorkerPool[Job, PdfCheck]) -> None:
        with self._lock:
            evicted, self._slot = self._slot, (key, pool)
        if evicted is not None:
            evicted[1].close()

    def close(self) -> None:
        with self._lock:
            evicted, self._slot = self._slot, None
        if evicted is not None:
            evicted[1].close()


_idle_pool = _IdlePool()
atexit.register(_idle_pool.close)


def close_idle_workers() -> None:
    """Stops the workers kept between calls (they also stop when this process exits)."""
    _idle_pool.close()


def _pool(key: PoolKey) -> WorkerPool[Job, PdfCheck]:
    check, timeout_seconds, workers = key
    return _idle_pool.take(key) or WorkerPool(
        partial(_run_check, check),
        workers=workers,
        timeout_seconds=timeout_seconds,
        initializer=prepare_worker,
    )


def check_invoice_pdfs(
    jobs: list[Job],
    *,
    workers: int = 2,
    timeout_seconds: float = 20,
    check: Check = check_invoice_pdf,
    on_progress: Callable[[int], None] | None = None,
) -> list[PdfCheck]:
    """`check_invoice_pdf` over many files, in `workers` processes, each file within its budget.

    Results are in the order of `jobs`. A file over budget gets `pdf.timeout`; one that kills its
    worker gets `pdf.unreadable`; the other files are unaffected. The workers stay up for the next
    call with the same settings. `check` must be a module-level function (it is sent to the
    workers); tests pass one that misbehaves on purpose. `on_progress(done)` is called now and
    then with the number of files checked so far.
    """
    if not jobs:
        return []
    key: PoolKey = (check, timeout_seconds, workers)
    pool = _pool(key)
    # Absolute paths: a kept worker lives in the directory its parent had when it started.
    absolute = [(export_dir.absolute(), path, expected) for export_dir, path, expected in jobs]
    try:
        results = pool.run(
            absolute,
            on_timeout=partial(_timed_out, timeout_seconds),
            on_crash=_crashed,
            on_progress=on_progress,
        )
    except BaseException:
        pool.close()
        raise
    _idle_pool.keep(key, pool)
    return results
