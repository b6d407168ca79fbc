"""XML files embedded in an invoice PDF: a Factur-X (or ZUGFeRD) that the invoicing software put there.

CAERP embeds a Factur-X in every validated PDF, and that XML is wrong for Chorus Pro (type code
380 on credit notes, no service code nor engagement, the buyer's identifier under the SIRET scheme
whatever it is). Chorus Pro may read a PDF deposit as Factur-X and refuse it for that XML, so the
preflight notes the embedded XML, its buyer identifier is one more source for the buyer's SIRET,
and a PDF deposit sends `strip_embedded_xml(bytes)`: a copy without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, PdfObject

_CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
_RSM_ID = f"{{{_CII}}}ExchangedDocument"
_MAX_XML_BYTES = 2 * 1024 * 1024
_XMP_MARKS = (b"urn:factur-x", b"zugferd", b"order-x")


@dataclass(frozen=True, slots=True)
class EmbeddedXml:
    """What an embedded Factur-X says that matters here: the buyer's identifier under scheme 0002
    (a SIRET, says the standard; CAERP puts any registration there), number and type code."""

    name: str
    buyer_id: str | None = None
    invoice_number: str | None = None
    type_code: str | None = None


def _name_tree_names(node: PdfObject | None, depth: int = 0) -> list[tuple[str, PdfObject]]:
    """(name, file spec) pairs of a PDF name tree, `/Names` leaves and `/Kids` alike."""
    resolved = node.get_object() if node is not None else None
    if not isinstance(resolved, DictionaryObject) or depth > 8:
        return []
    pairs: list[tuple[str, PdfObject]] = []
    names = resolved.get("/Names")
    names = names.get_object() if names is not None else None
    if isinstance(names, ArrayObject):
        for index in range(0, len(names) - 1, 2):
            pairs.append((str(names[index].get_object()), names[index + 1]))
    kids = resolved.get("/Kids")
    kids = kids.get_object() if kids is not None else None
    if isinstance(kids, ArrayObject):
        for kid in kids:
            pairs += _name_tree_names(kid, depth + 1)
    return pairs


def _embedded_files_node(root: DictionaryObject) -> PdfObject | None:
    names = root.get("/Names")
    names = names.get_object() if names is not None else None
    if not isinstance(names, DictionaryObject):
        return None
    return names.get("/EmbeddedFiles")


def _is_xml(name: str) -> bool:
    return name.lower().endswith(".xml")


def embedded_xml_names(reader: PdfReader) -> list[str]:
    """The names of the XML files embedded in the document (no file is decompressed)."""
    root = reader.trailer["/Root"].get_object()
    if not isinstance(root, DictionaryObject):
        return []
    return [name for name, _ in _name_tree_names(_embedded_files_node(root)) if _is_xml(name)]


def _file_bytes(spec: PdfObject) -> bytes | None:
    resolved = spec.get_object()
    if not isinstance(resolved, DictionaryObject):
        return None
    files = resolved.get("/EF")
    files = files.get_object() if files is not None else None
    if not isinstance(files, DictionaryObject):
        return None
    stream = files.get("/F") or files.get("/UF")
    if stream is None:
        return None
    data = stream.get_object().get_data()
    return bytes(data) if len(data) <= _MAX_XML_BYTES else None


def _text(element: object) -> str | None:
    text = getattr(element, "text", None)
    return text.strip() if isinstance(text, str) and text.strip() else None


def parse_facturx(name: str, data: bytes) -> EmbeddedXml:
    """The few values read from a CII document; anything unreadable gives an `EmbeddedXml` with
    no values (entities are not resolved, nothing is fetched)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return EmbeddedXml(name)
    ns = {"ram": _RAM, "rsm": _CII}
    buyer = root.find(
        ".//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']", ns
    )
    document = root.find("rsm:ExchangedDocument", ns)
    number = document.find("ram:ID", ns) if document is not None else None
    type_code = document.find("ram:TypeCode", ns) if document is not None else None
    return EmbeddedXml(name, _text(buyer), _text(number), _text(type_code))


def read_embedded_xml(reader: PdfReader) -> EmbeddedXml | None:
    """The first embedded XML file, read; None when the document embeds none."""
    root = reader.trailer["/Root"].get_object()
    if not isinstance(root, DictionaryObject):
        return None
    for name, spec in _name_tree_names(_embedded_files_node(root)):
        if _is_xml(name):
            data = _file_bytes(spec)
            return parse_facturx(name, data) if data is not None else EmbeddedXml(name)
    return None


def _drop_xml_entries(node: PdfObject | None, depth: int = 0) -> None:
    resolved = node.get_object() if node is not None else None
    if not isinstance(resolved, DictionaryObject) or depth > 8:
        return
    names = resolved.get("/Names")
    names = names.get_object() if names is not None else None
    if isinstance(names, ArrayObject):
        kept = ArrayObject()
        for index in range(0, len(names) - 1, 2):
            if not _is_xml(str(names[index].get_object())):
                kept += [names[index], names[index + 1]]
        resolved[NameObject("/Names")] = kept
    kids = resolved.get("/Kids")
    kids = kids.get_object() if kids is not None else None
    if isinstance(kids, ArrayObject):
        for kid in kids:
            _drop_xml_entries(kid, depth + 1)


def _not_xml_spec(spec: PdfObject) -> bool:
    resolved = spec.get_object()
    if not isinstance(resolved, DictionaryObject):
        return True
    name = resolved.get("/UF") or resolved.get("/F")
    return not (name is not None and _is_xml(str(name.get_object())))


def strip_embedded_xml(data: bytes) -> bytes:
    """A copy of the PDF without its embedded XML files: the name-tree entries, the document's
    associated files (`/AF`) that are XML, and XMP metadata that declares a Factur-X, ZUGFeRD or
    Order-X document. Pages, text and other attachments are kept. A PDF that embeds no XML comes
    back as the same bytes. Raises what pypdf raises on a PDF it cannot read (the preflight has
    refused those before any deposit)."""
    reader = PdfReader(BytesIO(data))
    root = reader.trailer["/Root"].get_object()
    metadata = root.get("/Metadata") if isinstance(root, DictionaryObject) else None
    xmp = metadata.get_object().get_data() if metadata is not None else b""
    marked = any(mark in xmp.lower() for mark in _XMP_MARKS)
    if not embedded_xml_names(reader) and not marked:
        return data
    writer = PdfWriter(clone_from=reader)
    out_root = writer.root_object
    _drop_xml_entries(_embedded_files_node(out_root))
    associated = out_root.get("/AF")
    associated = associated.get_object() if associated is not None else None
    if isinstance(associated, ArrayObject):
        kept = ArrayObject(spec for spec in associated if _not_xml_spec(spec))
        if kept:
            out_root[NameObject("/AF")] = kept
        else:
            del out_root[NameObject("/AF")]
    if marked and "/Metadata" in out_root:
        del out_root[NameObject("/Metadata")]
    buffer = BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
