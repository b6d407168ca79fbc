"""The PDF/A-3 requirements pikepdf can see, read independently of the pipeline's own inspection
(which uses pypdf): what a Factur-X's PDF part must show to be a true PDF/A-3."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO

import pikepdf

from tests.fixtures.raw_pdf import assemble

PDFA = "{http://www.aiim.org/pdfa/ns/id/}"
FX = "{urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#}"
FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


def _resources(page: pikepdf.Page) -> Iterator[pikepdf.Dictionary]:
    """A page's resources, its form XObjects' (nested) and its annotations' appearances'."""
    pending = [page.obj.get("/Resources")]
    for annotation in page.obj.get("/Annots", pikepdf.Array()):
        normal = annotation.get("/AP", pikepdf.Dictionary()).get("/N")
        if isinstance(normal, pikepdf.Stream):
            pending.append(normal.get("/Resources"))
    seen: set[tuple[int, int]] = set()
    while pending:
        resources = pending.pop()
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        key = resources.objgen
        if key != (0, 0):
            if key in seen:
                continue
            seen.add(key)
        yield resources
        for xobject in resources.get("/XObject", pikepdf.Dictionary()).values():
            if xobject.get("/Subtype") == pikepdf.Name.Form:
                pending.append(xobject.get("/Resources"))


def _embedded(font: pikepdf.Object) -> bool:
    if font.get("/Subtype") == pikepdf.Name.Type3:
        return True
    if font.get("/Subtype") == pikepdf.Name.Type0:
        font = font.DescendantFonts[0]
    descriptor = font.get("/FontDescriptor")
    return descriptor is not None and any(key in descriptor for key in FONT_FILES)


def _javascript(pdf: pikepdf.Pdf) -> bool:
    root = pdf.Root
    if "/JavaScript" in root.get("/Names", pikepdf.Dictionary()) or "/AA" in root:
        return True
    opening = root.get("/OpenAction")
    if isinstance(opening, pikepdf.Dictionary) and opening.get("/S") == pikepdf.Name.JavaScript:
        return True
    for page in pdf.pages:
        if "/AA" in page.obj:
            return True
        for annotation in page.obj.get("/Annots", pikepdf.Array()):
            action = annotation.get("/A")
            if isinstance(action, pikepdf.Dictionary) and action.get("/S") == "/JavaScript":
                return True
    return False


def pdfa3_problems(content: bytes, *, facturx: bool = True) -> list[str]:
    """Every PDF/A-3 requirement pikepdf finds unmet; with `facturx`, also the Factur-X ones
    (the XML attached with /AFRelationship /Data, the fx: XMP identification)."""
    problems: list[str] = []
    with pikepdf.open(BytesIO(content)) as pdf:
        if pdf.is_encrypted:
            problems.append("encrypted")
        intents = [
            intent
            for intent in pdf.Root.get("/OutputIntents", pikepdf.Array())
            if intent.get("/S") == pikepdf.Name.GTS_PDFA1
            and isinstance(intent.get("/DestOutputProfile"), pikepdf.Stream)
        ]
        if not intents:
            problems.append("no PDF/A OutputIntent with an ICC profile")
        elif any(int(i.DestOutputProfile.get("/N", 0)) != 3 for i in intents):
            problems.append("the OutputIntent profile is not an RGB one")
        fonts: set[str] = set()
        for page in pdf.pages:
            for resources in _resources(page):
                for font in resources.get("/Font", pikepdf.Dictionary()).values():
                    if not _embedded(font):
                        fonts.add(str(font.get("/BaseFont", "(unnamed)")))
        problems += [f"font {name} not embedded" for name in sorted(fonts)]
        metadata = pdf.open_metadata()
        if metadata.get(f"{PDFA}part") != "3":
            problems.append(f"XMP pdfaid:part is {metadata.get(f'{PDFA}part')!r}, not 3")
        if metadata.get(f"{PDFA}conformance") not in ("A", "B", "U"):
            problems.append("XMP pdfaid:conformance missing")
        if "/ID" not in pdf.trailer:
            problems.append("no file identifier (/ID)")
        if _javascript(pdf):
            problems.append("JavaScript")
        if facturx:
            attached = [
                spec
                for spec in pdf.Root.get("/AF", pikepdf.Array())
                if str(spec.get("/UF", spec.get("/F", ""))) == "factur-x.xml"
            ]
            if len(attached) != 1 or attached[0].get("/AFRelationship") != pikepdf.Name.Data:
                problems.append("factur-x.xml is not associated with /AFRelationship /Data")
            if metadata.get(f"{FX}ConformanceLevel") != "EN 16931":
                problems.append("XMP fx:ConformanceLevel is not EN 16931")
            if metadata.get(f"{FX}DocumentFileName") != "factur-x.xml":
                problems.append("XMP fx:DocumentFileName is not factur-x.xml")
    return problems


def plain_pdf(lines: list[str], *, javascript: bool = False) -> bytes:
    """A one-page PDF written by hand, as a simple invoicing tool writes it: the core fonts
    Helvetica and Helvetica-Bold named, not embedded; no OutputIntent, no XMP; optionally an
    opening JavaScript action."""

    def text(value: str) -> bytes:
        raw = value.replace("\u00a0", " ").encode("cp1252")
        return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"

    ops = [b"BT /F2 14 Tf 56 790 Td", text(lines[0]) + b" Tj", b"/F1 10 Tf 0 -22 Td"]
    for line in lines[1:]:
        ops += [text(line) + b" Tj", b"0 -14 Td"]
    stream = b"\n".join([*ops, b"ET"])
    catalog = b"<< /Type /Catalog /Pages 2 0 R" + (b" /OpenAction 7 0 R" if javascript else b"")
    objects = [
        catalog + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /S /JavaScript /JS (app.alert\\('Bonjour'\\);) >>",
    ]
    return assemble(objects)
