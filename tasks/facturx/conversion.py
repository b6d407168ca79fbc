"""PDF/A-3 from whatever PDF the accounting tool produced: Ghostscript, when the PDF is not one yet.

Factur-X requires its PDF part to be PDF/A-3 (ISO 19005-3): every font embedded, colours given a
meaning by an OutputIntent (an ICC profile; sRGB here), XMP metadata that identifies the part and
conformance, no encryption, no JavaScript. The factur-x library writes the XMP identification and
the attachment but converts nothing, so a PDF that names its fonts without embedding them (the
PDF core fonts Helvetica and Times, the usual case of simple invoicing tools) and has no
OutputIntent came out claiming a PDF/A-3 it was not.

`pdfa_gaps` reads what pypdf can see of those requirements. A PDF with none missing (it declares
PDF/A, as an accounting tool set up for Factur-X writes it) is kept as it is. Any other is
converted by Ghostscript's pdfwrite into a PDF/A-3B: fonts embedded (substitutes of the same
metrics for the core fonts), colours converted to RGB, and the sRGB profile that fpdf2 ships as
OutputIntent (the one the sample generator's PDF/A files carry too), then checked again. A PDF
Ghostscript cannot convert, or whose result still misses something, is refused with a reason
(`facturx.pdf_not_pdfa`). Ghostscript missing from the machine is not the invoice's fault: it
raises `GhostscriptMissing` (an `OSError`), and the deposit leaves the invoice `ready`.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fpdf.util import builtin_srgb2014_bytes
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, NameObject

from chorus_etl.errors import NeedsAction
from chorus_etl.settings import Settings

__all__ = [
    "Ghostscript",
    "GhostscriptMissing",
    "PdfaConversionError",
    "pdfa_gaps",
]

#: `pdfaid:part` in the XMP packet, as an element or as an attribute.
_PDFA_PART = re.compile(rb"pdfaid:part(?:>\s*|\s*=\s*[\"'])([1-4])")
_EMBEDDED = ("/FontFile", "/FontFile2", "/FontFile3")
#: The first lines of Ghostscript's error output kept in a refusal's reason.
_MAX_DETAIL = 400
#: How Ghostscript reports a file it could only read by repairing it (its exit code stays 0).
_REPORTED_ERROR = "**** Error"

#: Ghostscript's PDF/A prefix, after its own `lib/PDFA_def.ps`: the ICC profile (read from the
#: work folder, which -dSAFER is told to allow) becomes the OutputIntent of the catalog.
_PDFA_DEF = """%!
/ICCProfile ({profile}) def
[/_objdef {{icc_PDFA}} /type /stream /OBJ pdfmark
[{{icc_PDFA}} << /N 3 >> /PUT pdfmark
[{{icc_PDFA}} ICCProfile (r) file /PUT pdfmark
[/_objdef {{OutputIntent_PDFA}} /type /dict /OBJ pdfmark
[{{OutputIntent_PDFA}} <<
  /Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile {{icc_PDFA}}
  /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1)
  /RegistryName (http://www.color.org)
>> /PUT pdfmark
[{{Catalog}} << /OutputIntents [ {{OutputIntent_PDFA}} ] >> /PUT pdfmark
"""


class PdfaConversionError(NeedsAction):
    """Ghostscript could not make a PDF/A-3 of this PDF; the message says why."""


class GhostscriptMissing(NeedsAction, OSError):
    """The Ghostscript command is not installed (or not executable) on this machine."""


def _declares_pdfa(reader: PdfReader) -> bool:
    metadata = reader.root_object.get("/Metadata")
    if metadata is None:
        return False
    try:
        packet = metadata.get_object().get_data()
    except Exception:  # an unreadable XMP stream declares nothing
        return False
    return _PDFA_PART.search(packet) is not None


def _has_output_intent(reader: PdfReader) -> bool:
    intents = reader.root_object.get("/OutputIntents")
    if intents is None:
        return False
    for intent in intents.get_object():
        entry = intent.get_object()
        if entry.get("/S") == "/GTS_PDFA1" and entry.get("/DestOutputProfile") is not None:
            return True
    return False


def _resources(page: DictionaryObject) -> Iterator[DictionaryObject]:
    """The resource dictionaries a page draws with: its own, its form XObjects' (nested), its
    annotations' appearance streams'."""
    pending: list[Any] = [page.get("/Resources")]
    for annotation in page.get("/Annots") or []:
        appearance = annotation.get_object().get("/AP")
        normal = appearance.get_object().get("/N") if appearance is not None else None
        if normal is not None:
            pending.append(normal.get_object().get("/Resources"))
    seen: set[int] = set()
    while pending:
        candidate = pending.pop()
        if candidate is None:
            continue
        resources = candidate.get_object()
        if id(resources) in seen or not isinstance(resources, DictionaryObject):
            continue
        seen.add(id(resources))
        yield resources
        xobjects = resources.get("/XObject")
        xobjects = xobjects.get_object() if xobjects is not None else DictionaryObject()
        for xobject in xobjects.values() if isinstance(xobjects, DictionaryObject) else ():
            form = xobject.get_object()
            if form.get("/Subtype") == "/Form":
                pending.append(form.get("/Resources"))


def _font_embedded(font: DictionaryObject) -> bool:
    if font.get("/Subtype") == "/Type3":
        return True  # its glyphs are content streams of the file itself
    if font.get("/Subtype") == "/Type0":
        descendants = font.get("/DescendantFonts")
        if not descendants:
            return False
        font = descendants.get_object()[0].get_object()
    descriptor = font.get("/FontDescriptor")
    return descriptor is not None and any(key in descriptor.get_object() for key in _EMBEDDED)


def _unembedded_fonts(reader: PdfReader) -> list[str]:
    missing: set[str] = set()
    for page in reader.pages:
        for resources in _resources(page):
            fonts = resources.get("/Font")
            if fonts is None:
                continue
            for font in fonts.get_object().values():
                entry = font.get_object()
                if not _font_embedded(entry):
                    missing.add(str(entry.get("/BaseFont") or "(unnamed)").lstrip("/"))
    return sorted(missing)


def _is_javascript(action: Any) -> bool:
    entry = action.get_object() if action is not None else None
    return isinstance(entry, DictionaryObject) and entry.get("/S") == NameObject("/JavaScript")


def _has_javascript(reader: PdfReader) -> bool:
    catalog = reader.root_object
    names = catalog.get("/Names")
    if names is not None and "/JavaScript" in names.get_object():
        return True
    if _is_javascript(catalog.get("/OpenAction")) or "/AA" in catalog:
        return True
    for page in reader.pages:
        if "/AA" in page:
            return True
        for annotation in page.get("/Annots") or ArrayObject():
            if _is_javascript(annotation.get_object().get("/A")):
                return True
    return False


def pdfa_gaps(reader: PdfReader) -> list[str]:
    """What keeps this (readable, unencrypted) PDF from being a PDF/A-3, as far as pypdf can see:
    no PDF/A identification, no OutputIntent, fonts not embedded, JavaScript. Empty: keep it."""
    gaps = []
    if not _declares_pdfa(reader):
        gaps.append("no PDF/A identification (XMP pdfaid)")
    if not _has_output_intent(reader):
        gaps.append("no PDF/A OutputIntent")
    gaps += [f"font {name} not embedded" for name in _unembedded_fonts(reader)]
    if _has_javascript(reader):
        gaps.append("JavaScript")
    return gaps


@dataclass(frozen=True)
class Ghostscript:
    """Ghostscript's pdfwrite, making PDF/A-3B files (`CHORUS_ETL_GHOSTSCRIPT_COMMAND`)."""

    command: str = "gs"
    timeout_seconds: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Ghostscript:
        return cls(settings.ghostscript_command, settings.pdfa_timeout_seconds)

    def version(self) -> str:
        """`gs --version`; raises `GhostscriptMissing` when the command cannot run."""
        return self._run([self.command, "--version"], timeout=10).stdout.strip()

    def _run(self, args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(  # noqa: S603 - a fixed argument list, no shell
                args, capture_output=True, text=True, timeout=timeout, check=False
            )
        except (FileNotFoundError, PermissionError) as exc:
            raise GhostscriptMissing(f"Ghostscript ({self.command}) cannot run: {exc}") from exc

    def to_pdfa3(self, pdf: bytes, *, scratch: str | None = None) -> bytes:
        """`pdf` made a PDF/A-3B; raises `PdfaConversionError` when Ghostscript fails or times
        out, `GhostscriptMissing` when it is not installed."""
        with tempfile.TemporaryDirectory(prefix="pdfa-", dir=scratch) as folder:
            work = Path(folder)
            source, target = work / "in.pdf", work / "out.pdf"
            profile = work / "srgb.icc"
            source.write_bytes(pdf)
            profile.write_bytes(builtin_srgb2014_bytes())
            prefix = work / "pdfa_def.ps"
            prefix.write_text(_PDFA_DEF.format(profile=profile.as_posix()), encoding="ascii")
            args = [
                self.command,
                "-q",
                "-dBATCH",
                "-dNOPAUSE",
                "-dSAFER",
                f"--permit-file-read={work.as_posix()}/",
                "-sDEVICE=pdfwrite",
                "-dPDFA=3",
                "-dPDFACompatibilityPolicy=1",  # drop what PDF/A forbids rather than fail
                "-sColorConversionStrategy=RGB",
                f"-sOutputFile={target.as_posix()}",
                prefix.as_posix(),
                source.as_posix(),
            ]
            try:
                done = self._run(args, timeout=self.timeout_seconds)
            except subprocess.TimeoutExpired as exc:
                raise PdfaConversionError(
                    f"Ghostscript took more than {self.timeout_seconds:g} s"
                ) from exc
            converted = target.read_bytes() if target.exists() else b""
            output = " ".join(f"{done.stderr} {done.stdout}".split())
            if done.returncode != 0 or not converted or _REPORTED_ERROR in output:
                # A PDF Ghostscript had to repair ("**** Error ... Output may be incorrect")
                # could print differently from what the entrepreneur sent: not an invoice.
                raise PdfaConversionError(
                    f"Ghostscript exited with {done.returncode}: {output[:_MAX_DETAIL]}"
                )
            return converted


def scratch_dir() -> str | None:
    """Where short-lived files go: memory (/dev/shm) where there is one, else the default."""
    shm = "/dev/shm"  # noqa: S108 - private temporary files and folders, not a fixed path
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None
