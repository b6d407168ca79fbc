"""Transverses API: file upload, the supplier's own lookups, flux reports.

Handlers run with the store lock held and return the payload without the envelope; refusals are
raised as `BusinessError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from chorus_pro.simulator import codes, flux
from chorus_pro.simulator.gateway import Operation
from chorus_pro.simulator.params import get_int, get_str
from chorus_pro.simulator.seed import VAT_RATES, all_suppliers, supplier_by_id
from chorus_pro.simulator.store import Flux, Store, Upload
from chorus_pro.simulator.validation import ALLOWED_ATTACHMENT_EXTENSIONS

__all__ = ["OPERATIONS", "decode_base64"]

MAX_ATTACHMENT_NAME = 50
_BASE = "/cpro/transverses/v1"


def decode_base64(text: str | None) -> bytes | None:
    """Plain (not URL-safe) base64, as Chorus expects; None if absent, empty or invalid."""
    if text is None:
        return None
    try:
        content = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return content or None


def ajouter_fichier(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    content = decode_base64(get_str(body, "pieceJointeFichier"))
    if content is None:
        raise codes.UPLOAD_BAD_CONTENT()
    limit = store.config.max_upload_bytes
    if len(content) > limit:
        raise codes.UPLOAD_TOO_LARGE(limit=limit)
    name = get_str(body, "pieceJointeNom")
    if name is None or len(name) > MAX_ATTACHMENT_NAME or "." not in name.strip("."):
        raise codes.UPLOAD_BAD_NAME()
    extension = name.rsplit(".", 1)[1].upper()
    if extension not in ALLOWED_ATTACHMENT_EXTENSIONS:
        raise codes.UPLOAD_BAD_EXTENSION(extension=extension)
    declared = get_str(body, "pieceJointeExtension")
    if declared is not None and declared.lstrip(".").upper() not in ALLOWED_ATTACHMENT_EXTENSIONS:
        raise codes.UPLOAD_BAD_EXTENSION(extension=declared)
    upload = Upload(
        id=store.new_upload_id(),
        name=name,
        extension=extension,
        mime=get_str(body, "pieceJointeTypeMime") or "application/octet-stream",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_at=store.clock.now(),
        content=content,
    )
    store.uploads[upload.id] = upload
    return {"pieceJointeId": upload.id}


def structures_actives_fournisseur(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "listeStructures": [
            {
                "idStructureCPP": supplier.id,
                "designationStructure": supplier.name,
                "identifiant": supplier.siret,
                "typeIdentifiantStructure": "SIRET",
            }
            for supplier in all_suppliers()
            if store.is_attached(supplier) and supplier.active
        ]
    }


def coordonnees_bancaires_valides(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    structure_id = get_int(body, "idStructure", required=True)
    assert structure_id is not None
    supplier = supplier_by_id(structure_id)
    if supplier is None or not store.is_attached(supplier):
        raise codes.STRUCTURE_NOT_ATTACHED()
    return {
        "listeCoordonneeBancaire": [
            {"idCoordonneeBancaire": account.id, "nomCoordonneeBancaire": account.name}
            for account in supplier.bank_accounts
        ]
    }


def taux_tva(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "listeTauxTva": [
            {"codeTauxTva": rate.code, "libelleTauxTva": rate.label, "valeurTauxTva": rate.value}
            for rate in VAT_RATES
        ]
    }


def _polled_flux(store: Store, body: dict[str, Any]) -> Flux:
    numero = get_str(body, "numeroFluxDepot", required=True)
    found = store.flux.get(numero or "")
    if found is None or not store.owns_flux(found):
        raise codes.FLUX_NOT_FOUND()
    flux.poll(store, found)
    return found


def consulter_cr(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    return flux.consulter_cr(_polled_flux(store, body))


def consulter_cr_detaille(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    return flux.consulter_cr_detaille(_polled_flux(store, body))


OPERATIONS = (
    Operation(f"{_BASE}/ajouter/fichier", ajouter_fichier, write=True),
    Operation(f"{_BASE}/recuperer/structures/actives/fournisseur", structures_actives_fournisseur),
    Operation(f"{_BASE}/recuperer/coordbanc/valides", coordonnees_bancaires_valides),
    Operation(f"{_BASE}/recuperer/tauxtva", taux_tva),
    Operation(f"{_BASE}/consulterCR", consulter_cr),
    Operation(f"{_BASE}/consulterCRDetaille", consulter_cr_detaille),
)
