"""`telecharger/groupe`: invoices' documents as Chorus Pro holds them, in one archive.

The reference (§10, from AIFE's "download invoice group" page and go-choruspro) gives the body
(`idUtilisateurCourant`, `idEspace`, `format`, `avecPiecesJointesComplementaires`,
`listeFacture[{idFacture}]`), the answer (`fichierResultat`, base64) and HTTP 413 above 120 MB;
the rest is the simulator's own, and documented as such in docs/simulator.md:

- the answer is always a ZIP archive with one folder per invoice, `<numeroFacture>_<idFacture>/`
  (a `/` of the number written `_`), even for a single invoice;
- `format` `PDF` (or `ZIP`): the documents as deposited, the main PDF (the uploaded one, or the
  flux file of a Factur-X) and, with `avecPiecesJointesComplementaires` `OUI` (or `true`), every
  complementary attachment, those added by `completer` included, as `<n>-<name>`; an invoice
  deposited by hand on the portal gets a one-page placeholder PDF. `XML` or `PIVOT`: the
  invoice as Chorus holds it, as `facture.xml` (the simulator's own rendering, not AIFE's
  pivot format). Any other format: `20901`;
- the files' total size above `max_download_bytes` (120 MiB): HTTP 413, nothing sent.
"""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any
from xml.etree import ElementTree as ET

from chorus_pro.simulator import codes
from chorus_pro.simulator.clock import to_paris
from chorus_pro.simulator.gateway import HttpRefusal, Operation
from chorus_pro.simulator.params import get_int, get_list, get_str
from chorus_pro.simulator.render import invoice_detail
from chorus_pro.simulator.store import Invoice, Store

__all__ = ["DOCUMENT_FORMATS", "OPERATIONS", "XML_FORMATS"]

DOCUMENT_FORMATS = ("PDF", "ZIP")
XML_FORMATS = ("XML", "PIVOT")
_PATH = "/cpro/factures/v1/telecharger/groupe"
_YES = ("OUI", "TRUE", "O", "1")


def _with_attachments(body: dict[str, Any]) -> bool:
    value = body.get("avecPiecesJointesComplementaires")
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, str) and value.strip().upper() in ("NON", "FALSE", "")):
        return False
    if isinstance(value, str) and value.strip().upper() in _YES:
        return True
    raise codes.INVALID_PARAMETER(field="avecPiecesJointesComplementaires")


def _safe(name: str) -> str:
    """A name usable as one path component of the archive."""
    return name.replace("/", "_").replace("\\", "_")


def _folder(invoice: Invoice) -> str:
    return f"{_safe(invoice.data.numero)}_{invoice.id}"


def placeholder_pdf(text: str) -> bytes:
    """A valid one-page PDF showing `text` (ASCII), for invoices the simulator has no file of."""
    safe = text.encode("ascii", "replace").decode().replace("\\", "").replace("(", "[")
    stream = f"BT /F1 12 Tf 72 720 Td ({safe.replace(')', ']')}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + content + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def _xml(detail: dict[str, Any]) -> bytes:
    def fill(parent: ET.Element, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                fill(ET.SubElement(parent, key), item)
        elif isinstance(value, list):
            for item in value:
                fill(ET.SubElement(parent, "element"), item)
        elif value is not None:
            parent.text = str(value)

    root = ET.Element("facture")
    fill(root, detail)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml


def _documents(
    store: Store, invoice: Invoice, form: str, attachments: bool
) -> list[tuple[str, bytes]]:
    """(name, bytes) of one invoice's files, main document first."""
    if form in XML_FORMATS:
        return [("facture.xml", _xml(invoice_detail(invoice, store.uploads)))]
    data = invoice.data
    files: list[tuple[str, bytes]] = []
    flux = store.flux.get(invoice.numero_flux or "")
    if flux is not None:
        files.append((flux.nom_fichier, flux.content))
    for item in data.pieces_principales:
        upload = store.uploads.get(item.get("pieceJointePrincipaleId") or 0)
        if upload is not None:
            files.append((upload.name, upload.content))
    if not files:
        files.append(
            (
                f"{_safe(data.numero)}.pdf",
                placeholder_pdf(f"Facture {data.numero} deposee sur le portail Chorus Pro"),
            )
        )
    if attachments:
        for index, item in enumerate(data.pieces_complementaires, start=1):
            upload = store.uploads.get(item.get("pieceJointeComplementaireId") or 0)
            if upload is not None:
                files.append((f"{index}-{upload.name}", upload.content))
    return files


def telecharger_groupe(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    form = (get_str(body, "format", required=True) or "").upper()
    if form not in DOCUMENT_FORMATS + XML_FORMATS:
        raise codes.INVALID_PARAMETER(field="format")
    attachments = _with_attachments(body)
    entries = get_list(body, "listeFacture")
    if not entries:
        raise codes.INVALID_PARAMETER(field="listeFacture")
    invoices: list[Invoice] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise codes.INVALID_PARAMETER(field="listeFacture")
        invoice_id = get_int(entry, "idFacture", required=True, field="listeFacture.idFacture")
        invoice = store.invoices.get(invoice_id) if invoice_id is not None else None
        if invoice is None or not store.visible(invoice):
            raise codes.INVOICE_NOT_FOUND()
        invoices.append(invoice)
    members = [
        (f"{_folder(invoice)}/{_safe(name)}", content, invoice)
        for invoice in invoices
        for name, content in _documents(store, invoice, form, attachments)
    ]
    total = sum(len(content) for _, content, _ in members)
    if total > store.config.max_download_bytes:
        raise HttpRefusal(413, "Request Entity Too Large")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, content, invoice in members:
            # Dated by the deposit, so the same documents always give the same archive.
            stamp = to_paris(invoice.deposited_at).timetuple()[:6]
            zipped.writestr(zipfile.ZipInfo(name, date_time=stamp), content)
    return {"fichierResultat": base64.b64encode(archive.getvalue()).decode("ascii")}


OPERATIONS = (Operation(_PATH, telecharger_groupe),)
