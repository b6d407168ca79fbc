"""Structures API: the directory a supplier reads to learn what each recipient demands.

Shapes follow AIFE's own Swagger for this API (the best-documented one): rechercher →
consulter → rechercher/services → consulter/service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stdnum.fr import siren

from chorus_pro.simulator import codes
from chorus_pro.simulator.clock import format_date
from chorus_pro.simulator.gateway import Operation
from chorus_pro.simulator.params import (
    get_bool,
    get_int,
    get_object,
    get_str,
    page_request,
    paginate,
)
from chorus_pro.simulator.seed import (
    Buyer,
    Service,
    Supplier,
    all_structures,
    structure_by_id,
)
from chorus_pro.simulator.store import Store

__all__ = ["OPERATIONS"]

DEFAULT_PAGE_SIZE = 10
#: Peers ask for up to 10 000 services per page; the directory is small, so honour it.
MAX_PAGE_SIZE = 10000
_BASE = "/cpro/structures/v1"

Structure = Supplier | Buyer


def _kind(structure: Structure) -> str:
    return "PRIVEE" if isinstance(structure, Supplier) else "PUBLIQUE"


def _vat_number(siret: str) -> str:
    return f"FR{siren.to_tva(siret[:9])}"


def _structure(store: Store, body: dict[str, Any], key: str) -> Structure:
    """The structure named in the body; one may be configured out of reach (20001) while the
    search still lists it, the case a directory client must not take for an outage."""
    structure_id = get_int(body, key, required=True)
    assert structure_id is not None
    structure = structure_by_id(structure_id)
    if structure is None:
        raise codes.STRUCTURE_NOT_FOUND()
    if structure.siret in store.config.unconsultable_structures:
        raise codes.STRUCTURE_NONEXISTENT()
    return structure


def _name_contains(text: str) -> Callable[[Structure], bool]:
    return lambda s: text.lower() in s.name.lower()


def rechercher(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Filters on the `structure` criteria; `restreindreStructuresPrivees` drops private ones."""
    criteria = get_object(body, "structure")
    page, size, params = page_request(
        body, "parametres", default_size=DEFAULT_PAGE_SIZE, max_size=MAX_PAGE_SIZE
    )
    checks: list[Callable[[Structure], bool]] = []
    siret = get_str(criteria, "identifiantStructure", field="structure.identifiantStructure")
    if siret is not None:
        checks.append(lambda s: s.siret == siret)
    id_type = get_str(
        criteria, "typeIdentifiantStructure", field="structure.typeIdentifiantStructure"
    )
    if id_type is not None:
        checks.append(lambda s: id_type == "SIRET")
    for key in ("raisonSocialeStructure", "libelleStructure", "nomStructure"):
        text = get_str(criteria, key, field=f"structure.{key}")
        if text is not None:
            checks.append(_name_contains(text))
    status = get_str(criteria, "statutStructure", field="structure.statutStructure")
    if status is not None:
        checks.append(lambda s: ("ACTIF" if s.active else "INACTIF") == status)
    kind = get_str(criteria, "typeStructure", field="structure.typeStructure")
    if kind is not None:
        checks.append(lambda s: _kind(s) == kind)
    postal_code = get_str(criteria, "adresseCodePostal", field="structure.adresseCodePostal")
    if postal_code is not None:
        checks.append(lambda s: s.address.postal_code == postal_code)
    city = get_str(criteria, "adresseVille", field="structure.adresseVille")
    if city is not None:
        checks.append(lambda s: s.address.city.lower() == city.lower())
    if get_bool(body, "restreindreStructuresPrivees"):
        checks.append(lambda s: _kind(s) == "PUBLIQUE")

    found = [s for s in all_structures() if all(check(s) for check in checks)]
    sort_keys: dict[str, Callable[[Structure], Any]] = {
        "IdentifiantStructure": lambda s: s.siret,
        "DesignationStructure": lambda s: s.name,
        "TypeIdentifiantStructure": lambda s: "SIRET",
        "Statut": lambda s: s.active,
    }
    column = get_str(params, "triColonne")
    if column in sort_keys:
        found.sort(key=sort_keys[column], reverse=get_str(params, "triSens") == "Descendant")
    page_items, retour = paginate(found, page, size)
    return {
        "listeStructures": [
            {
                "idStructureCPP": s.id,
                "identifiantStructure": s.siret,
                "designationStructure": s.name,
                "typeIdentifiantStructure": "SIRET",
                "statut": "ACTIVE" if s.active else "INACTIVE",
            }
            for s in page_items
        ],
        "parametresRetour": retour,
    }


def consulter(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """The structure's identity, address and recipient parameters.

    `dateExpirationMotPasseCompteTech` is filled only for the supplier structures the technical
    account is attached to (whose account it is).
    """
    structure = _structure(store, body, "idStructureCPP")
    is_own = isinstance(structure, Supplier) and store.is_attached(structure)
    flags = structure.flags if isinstance(structure, Buyer) else None
    return {
        "informationGenerales": {
            "idStructureCPP": structure.id,
            "identifiantStructure": structure.siret,
            "typeIdentifiantStructure": "SIRET",
            "raisonSocialeStructure": structure.name,
            "libelleStructure": structure.name,
            "nomStructure": None,
            "prenomStructure": None,
            "emailStructure": None,
            "numeroTVA": _vat_number(structure.siret),
            "numeroRcsStructure": None,
            "structurePriveePublique": _kind(structure),
            "estValideurDeleguee": False,
            "idStructureOrigine": None,
            "listeStructureDupliquees": [],
            "dateExpirationMotPasseCompteTech": (
                format_date(store.password_expires_on()) if is_own else None
            ),
        },
        "adressePostaleDuSiege": {
            "adresse": structure.address.street,
            "complementAdresse1": None,
            "complementAdresse2": None,
            "codePostal": structure.address.postal_code,
            "ville": structure.address.city,
            "pays": structure.address.country,
            "telephone": None,
        },
        "parametres": {
            "codeServiceDoitEtreRenseigne": bool(flags and flags.service_required),
            "numeroEJDoitEtreRenseigne": bool(flags and flags.engagement_required),
            "gestionNumeroEJOuCodeService": bool(flags and flags.service_or_engagement),
            "statutMiseEnPaiementNestPasRemonte": bool(flags and flags.payment_status_not_reported),
            "connexionEDI": False,
            "recevoirDonneesViaEDI": False,
            "estMoaUniquement": False,
            "estValideurDelegue": False,
            "getaMoa": False,
            "nonDiffusibleInsee": False,
        },
    }


def _service_item(service: Service) -> dict[str, Any]:
    return {
        "idService": service.id,
        "codeService": service.code,
        "libelleService": service.label,
        "estActif": service.active,
        "statutService": "ACTIF" if service.active else "INACTIF",
        "dateDbtService": f"{format_date(service.opened_on)} 00:00",
        "dateFinService": f"{format_date(service.closed_on)} 23:59" if service.closed_on else None,
    }


def rechercher_services(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """All services, active or not; the caller filters on `estActif`."""
    structure = _structure(store, body, "idStructure")
    page, size, params = page_request(
        body,
        "parametresRechercherServicesStructure",
        default_size=DEFAULT_PAGE_SIZE,
        max_size=MAX_PAGE_SIZE,
    )
    services = list(structure.services)
    sort_keys: dict[str, Callable[[Service], Any]] = {
        "CodeService": lambda s: s.code,
        "LibelleService": lambda s: s.label,
        "DateDbtService": lambda s: s.opened_on,
        "EstActif": lambda s: s.active,
    }
    column = get_str(params, "triColonne")
    if column in sort_keys:
        services.sort(key=sort_keys[column], reverse=get_str(params, "triSens") == "Descendant")
    page_items, retour = paginate(services, page, size)
    return {"listeServices": [_service_item(s) for s in page_items], "parametresRetour": retour}


def consulter_service(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    structure = _structure(store, body, "idStructure")
    service_id = get_int(body, "idService", required=True)
    service = structure.service_by_id(service_id) if service_id is not None else None
    if service is None:
        raise codes.SERVICE_NOT_FOUND()
    reports_payment = not (
        isinstance(structure, Buyer) and structure.flags.payment_status_not_reported
    )
    return {
        "informationsGenerales": {
            "codeService": service.code,
            "nomService": service.label,
            "descriptionService": service.label,
        },
        "adressePostale": {
            "adresse": structure.address.street,
            "codePostal": structure.address.postal_code,
            "ville": structure.address.city,
            "pays": structure.address.country,
        },
        "parametres": {
            "numeroEngagement": service.engagement_required,
            "miseEnPaiement": reports_payment,
            "dateCreation": format_date(service.opened_on),
            "dateDebutValidite": format_date(service.opened_on),
            "dateFinValidite": format_date(service.closed_on) if service.closed_on else None,
            "dateModification": format_date(service.closed_on or service.opened_on),
        },
    }


OPERATIONS = (
    Operation(f"{_BASE}/rechercher", rechercher),
    Operation(f"{_BASE}/consulter", consulter),
    Operation(f"{_BASE}/rechercher/services", rechercher_services),
    Operation(f"{_BASE}/consulter/service", consulter_service),
)
