"""Splitting a merged PDF of many invoices (CAERP's "Export massif", `factures_ventes.pdf`) into one
PDF per invoice, by the invoices' own headings and footers.

The merged file is pages only, no bookmarks. Each invoice starts with its heading (`Facture N° …`,
`Avoir N° …`) and every page of it ends with the footer `Facture <numero>` (credit notes too). A
page's footer names its invoice; a page without one belongs to the invoice its heading names, and a
page with neither continues the one before. A number found on two separate runs of pages is
ambiguous: neither run is used, and the invoice is reported.

The text of every page is read in worker processes (the cost of a first ingest is reading PDFs),
the parts are written by the workers too, and what the preflight needs of each part (its first
pages' text, which of them are images, its digest and size) comes back with it, so that the
preflight does not read those PDFs again.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from io import BytesIO
from pathlib import Path
from typing import cast

from pypdf import PdfReader, PdfWriter

from tasks.preflight.fields import NUMBER, find_fields
from tasks.preflight.pdfs import PAGES_READ, page_is_image, prepare_worker, sha256_of_file
from tasks.preflight.pool import WorkerPool

_FOOTER = re.compile(r"^\s*(?:facture|avoir)\s+(?!n[°o]\.?\s)(\S+)\s*$", re.IGNORECASE)
_CREDIT_HEADING = re.compile(r"(?<!\w)avoir\s+n[°o]", re.IGNORECASE)
_PAGES_PER_JOB = 40
_PARTS_PER_JOB = 20
_VERSION = "split-v1"


@dataclass(frozen=True, slots=True)
class PageText:
    text: str
    image_only: bool


@dataclass
class Part:
    """One invoice of the merged file: its number and kind, its pages (0-based), and once written
    its file, digest and size, and what the preflight reads of its first pages."""

    number: str
    credit_note: bool
    pages: list[int]
    file_name: str = ""
    sha256: str = ""
    size_bytes: int = 0
    texts: list[str] = field(default_factory=list)
    image_only: list[bool] = field(default_factory=list)


@dataclass
class Split:
    """The parts found, by number; the numbers found on pages that are not one run (ambiguous)."""

    parts: dict[str, Part]
    ambiguous: list[str]
    unreadable: str | None = None


def page_number_of(text: str) -> tuple[str | None, str | None, bool]:
    """(heading number, footer number, is a credit note's heading) of one page's text."""
    numbers = find_fields(text).get(NUMBER)
    heading = numbers[0] if numbers else None
    lines = [line for line in text.splitlines() if line.strip()]
    footer = None
    for line in reversed(lines[-3:]):
        match = _FOOTER.match(line)
        if match:
            footer = match.group(1)
            break
    return heading, footer, bool(heading and _CREDIT_HEADING.search(text))


def find_parts(pages: list[str]) -> Split:
    """Groups pages into invoices (see the module's docstring)."""
    runs: list[Part] = []
    for index, text in enumerate(pages):
        heading, footer, credit = page_number_of(text)
        number = footer or heading
        if runs and (number is None or number == runs[-1].number):
            runs[-1].pages.append(index)
            runs[-1].credit_note = runs[-1].credit_note or credit
        elif number is not None:
            runs.append(Part(number, credit, [index]))
    seen: dict[str, Part] = {}
    ambiguous: list[str] = []
    for run in runs:
        if run.number in seen:
            ambiguous.append(run.number)
        seen[run.number] = run
    for number in ambiguous:
        seen.pop(number, None)
    return Split(seen, sorted(set(ambiguous)))


_readers: dict[str, PdfReader] = {}


def _reader(path: str) -> PdfReader:
    """One reader per merged file in each worker: its jobs share the parsed page tree."""
    reader = _readers.get(path)
    if reader is None:
        _readers.clear()
        reader = _readers[path] = PdfReader(path)
    return reader


def _work(job: tuple[str, str, object]) -> object:
    """The worker's side: the pages' text, or the parts written."""
    kind, path, payload = job
    reader = _reader(path)
    if kind == "texts":
        start, stop = cast(tuple[int, int], payload)
        found = []
        for index in range(start, stop):
            page = reader.pages[index]
            text = page.extract_text()
            found.append(PageText(text, page_is_image(page, text)))
        return found
    written = []
    for pages, target in cast(list[tuple[list[int], str]], payload):
        writer = PdfWriter()
        for index in pages:
            writer.add_page(reader.pages[index])
        buffer = BytesIO()
        writer.write(buffer)
        data = buffer.getvalue()
        Path(target).write_bytes(data)
        written.append((hashlib.sha256(data).hexdigest(), len(data)))
    return written


def _failed(job: object, *detail: object) -> None:
    return None


def split_dir_of(merged: Path, root: Path) -> Path:
    """Where the parts of `merged` are written: a folder named after its content, so that the
    same file is split once and another file never mixes with it."""
    return root / f"{merged.stem}-{sha256_of_file(merged)[:20]}"


def part_file_name(number: str, credit_note: bool) -> str:
    kind = "avoir" if credit_note else "facture"
    return f"{kind}_{re.sub(r'[^A-Za-z0-9+_-]', '_', number)}.pdf"


def _load(index: Path) -> Split | None:
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
        if data.get("version") != _VERSION:
            return None
        parts = {p["number"]: Part(**p) for p in data["parts"]}
        if all((index.parent / p.file_name).is_file() for p in parts.values()):
            return Split(parts, list(data["ambiguous"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None


def split_merged_pdf(
    merged: Path, target: Path, *, workers: int = 2, timeout_seconds: float = 60
) -> Split:
    """Splits `merged` into `target` (a folder of the pipeline's own, see `split_dir_of`), once:
    a folder already holding its parts is read back. Never raises on a broken file: the split
    then finds nothing and says why."""
    index = target / "parts.json"
    done = _load(index)
    if done is not None:
        return done
    try:
        count = len(PdfReader(merged).pages)
    except Exception as exc:
        return Split({}, [], f"{type(exc).__name__}: {exc}")
    path = str(merged.resolve())
    target.mkdir(parents=True, exist_ok=True)
    with WorkerPool(
        _work, workers=workers, timeout_seconds=timeout_seconds, initializer=prepare_worker
    ) as pool:
        ranges = [(s, min(s + _PAGES_PER_JOB, count)) for s in range(0, count, _PAGES_PER_JOB)]
        chunks = pool.run(
            [("texts", path, r) for r in ranges], on_timeout=_failed, on_crash=_failed
        )
        pages: list[PageText] = []
        for (start, stop), chunk in zip(ranges, chunks, strict=True):
            pages += chunk if isinstance(chunk, list) else [PageText("", False)] * (stop - start)
        split = find_parts([page.text for page in pages])
        parts = list(split.parts.values())
        for part in parts:
            part.file_name = part_file_name(part.number, part.credit_note)
            first = part.pages[:PAGES_READ]
            part.texts = [pages[i].text for i in first]
            part.image_only = [pages[i].image_only for i in first]
        batches = [parts[i : i + _PARTS_PER_JOB] for i in range(0, len(parts), _PARTS_PER_JOB)]
        results = pool.run(
            [
                ("write", path, [(p.pages, str(target / p.file_name)) for p in batch])
                for batch in batches
            ],
            on_timeout=_failed,
            on_crash=_failed,
        )
    for batch, result in zip(batches, results, strict=True):
        if not isinstance(result, list):
            continue  # those parts stay unwritten: their invoices' PDFs are missing
        for part, (sha256, size) in zip(batch, result, strict=True):
            part.sha256, part.size_bytes = sha256, size
    split.parts = {p.number: p for p in parts if p.sha256}
    index.write_text(
        json.dumps(
            {
                "version": _VERSION,
                "parts": [asdict(p) for p in split.parts.values()],
                "ambiguous": split.ambiguous,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return split
