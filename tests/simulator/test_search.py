"""`rechercher/fournisseur`: pagination, filters, the status-change window, and visibility."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import ANTIGONE, ARTENREEL, SCHILTIGHEIM
from tests.simulator.helpers import RECHERCHER, Api

ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def _page(api: Api, page: int, size: int | None = None, **criteria: object) -> dict[str, Any]:
    pagination: dict[str, object] = {"pageResultatDemandee": page}
    if size is not None:
        pagination["nbResultatsParPage"] = size
    return api.search(rechercheFactureParFournisseur=pagination, **criteria)


def test_default_page_size_is_ten_and_pages_cover_everything_once(api: Api) -> None:
    created = [api.submit(f"F-{n:03d}")["identifiantFactureCPP"] for n in range(25)]

    pages = [_page(api, page) for page in (1, 2, 3)]

    assert [p["parametresRetour"] for p in pages] == [
        {"pageCourante": n, "pages": 3, "nbResultatsParPage": 10, "total": 25} for n in (1, 2, 3)
    ]
    seen = [item["identifiantFactureCPP"] for p in pages for item in p["listeFactures"]]
    assert seen == created


def test_page_size_is_capped_at_one_thousand(api: Api) -> None:
    api.submit("F-1")

    retour = _page(api, 1, 5000)["parametresRetour"]

    assert retour["nbResultatsParPage"] == 1000


def test_a_page_past_the_end_is_empty(api: Api) -> None:
    api.submit("F-1")

    page = _page(api, 4, 10)

    assert page["listeFactures"] == []
    assert page["parametresRetour"]["total"] == 1


def test_no_result_still_has_one_page(api: Api) -> None:
    retour = api.search()["parametresRetour"]

    assert retour == {"pageCourante": 1, "pages": 1, "nbResultatsParPage": 10, "total": 0}


def test_results_are_stable_and_can_be_sorted(api: Api) -> None:
    for numero in ("F-B", "F-C", "F-A"):
        api.submit(numero)

    default = [i["numeroFacture"] for i in api.search_all()]
    descending = [
        i["numeroFacture"]
        for i in api.search(
            rechercheFactureParFournisseur={"triColonne": "NumeroFacture", "triSens": "Descendant"}
        )["listeFactures"]
    ]

    assert default == ["F-B", "F-C", "F-A"]
    assert api.search_all() == api.search_all()
    assert descending == ["F-C", "F-B", "F-A"]


def test_nb_resultats_maximum_caps_the_total(api: Api) -> None:
    for n in range(5):
        api.submit(f"F-{n}")

    page = api.search(rechercheFactureParFournisseur={"nbResultatsMaximum": 3})

    assert page["parametresRetour"]["total"] == 3


def test_item_fields(api: Api) -> None:
    service = ANTIGONE.services[4]
    api.submit(
        "F-FIELDS",
        supplier_service=service.id,
        siret=SCHILTIGHEIM.siret,
        service="28E",
        date_facture="2025-11-05",
    )

    (item,) = api.search_all(numeroFacture="F-FIELDS")

    assert item["statut"] == "DEPOSEE"
    assert ISO_WITH_OFFSET.match(item["dateHeureEtatCourant"])
    assert item["commentaireEtatCourant"] == ""
    assert item["codeServiceFournisseur"] == service.code
    assert item["nomServiceFournisseur"] == service.label
    assert item["codeDestinataire"] == SCHILTIGHEIM.siret
    assert item["designationDestinataire"] == SCHILTIGHEIM.name
    assert item["codeServiceExecutant"] == "28E"
    assert item["codeFournisseur"] == ANTIGONE.siret
    assert item["idFournisseur"] == ANTIGONE.id
    assert item["dateFacture"] == "2025-11-05"
    assert (item["montantHT"], item["montantTTC"], item["montantAPayer"]) == (500.0, 600.0, 600.0)
    assert item["typeFacture"] == "FACTURE"
    assert item["modeDepot"] == "SAISIE_API"
    assert item["rejetTraite"] is False


def test_filters(api: Api, simulator: SimulatorHandle) -> None:
    api.submit("F-1", date_facture="2025-01-10")
    api.submit("F-2", supplier_service=ANTIGONE.services[1].id, date_facture="2025-02-10")
    api.submit("F-1", supplier=ARTENREEL, date_facture="2025-03-10")
    rejected = api.submit("F-3")["identifiantFactureCPP"]
    simulator.control.set_status(rejected, "REJETEE", "Montant erroné")

    def numbers(**criteria: object) -> list[tuple[int, str]]:
        return [(i["idFournisseur"], i["numeroFacture"]) for i in api.search_all(**criteria)]

    assert numbers(numeroFacture="F-1") == [(ANTIGONE.id, "F-1"), (ARTENREEL.id, "F-1")]
    assert numbers(idFournisseur=ARTENREEL.id) == [(ARTENREEL.id, "F-1")]
    assert numbers(idServiceFournisseur=ANTIGONE.services[1].id) == [(ANTIGONE.id, "F-2")]
    assert numbers(statutCourant=["REJETEE", "MISE_EN_PAIEMENT"]) == [(ANTIGONE.id, "F-3")]
    assert numbers(periodeDateFactureDu="2025-02-01", periodeDateFactureAu="2025-02-28") == [
        (ANTIGONE.id, "F-2")
    ]
    assert len(numbers(periodeDateFactureDu="2025-02-10")) == 2
    today = simulator.control.clock()["today"]
    assert len(numbers(periodeDateDepotDu=today, periodeDateDepotAu=today)) == 4
    assert numbers(periodeDateDepotAu="2000-01-01") == []
    assert numbers(listeDestinataire=[{"idDestinataire": 26310001}], numeroFacture="F-2") == [
        (ANTIGONE.id, "F-2")
    ]


def test_status_change_window(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(lifecycle_outcome="paid")
    early = api.submit("F-EARLY")["identifiantFactureCPP"]
    simulator.control.advance(days=5)
    late = api.submit("F-LATE")["identifiantFactureCPP"]
    late_change = datetime.fromisoformat(
        api.search_all(numeroFacture="F-LATE")[0]["dateHeureEtatCourant"]
    )
    early_change = datetime.fromisoformat(
        api.search_all(numeroFacture="F-EARLY")[0]["dateHeureEtatCourant"]
    )
    assert early_change < late_change

    def ids(**window: str) -> list[int]:
        return [i["identifiantFactureCPP"] for i in api.search_all(**window)]

    iso = late_change.isoformat()
    minute = late_change.strftime("%Y-%m-%d %H:%M")
    assert ids(periodeDateHeureEtatCourantDu=iso) == [late]
    assert ids(periodeDateHeureEtatCourantDu=minute) == [late]
    assert ids(periodeDateHeureEtatCourantAu=(late_change - timedelta(minutes=1)).isoformat()) == [
        early
    ]
    assert ids(periodeDateHeureEtatCourantDu=late_change.strftime("%Y-%m-%dT%H:%M")) == [late]
    utc = late_change.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(periodeDateHeureEtatCourantDu=utc) == [late]
    day = late_change.date().isoformat()
    assert ids(periodeDateHeureEtatCourantDu=day, periodeDateHeureEtatCourantAu=day) == [late]


def test_the_window_follows_status_changes(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(lifecycle_outcome="paid")
    invoice_id = api.submit("F-1")["identifiantFactureCPP"]
    before = simulator.control.clock()["now"]

    simulator.control.advance(days=1)

    (item,) = api.search_all(periodeDateHeureEtatCourantDu=before)
    assert item["identifiantFactureCPP"] == invoice_id
    assert item["statut"] == "MISE_A_DISPOSITION"
    assert api.search_all(periodeDateHeureEtatCourantAu=before) == []


@pytest.mark.parametrize("value", ["05/11/2025", "2025-13-01", "yesterday", "2025-11-05T10"])
def test_bad_dates_are_refused(api: Api, value: str) -> None:
    api.refused(RECHERCHER, {"periodeDateHeureEtatCourantDu": value}, 20901)


def test_invoices_of_unattached_structures_are_invisible(
    api: Api, simulator: SimulatorHandle
) -> None:
    api.submit("F-ANT")
    api.submit("F-ART", supplier=ARTENREEL)
    simulator.control.set_config(attached_supplier_sirets=[ANTIGONE.siret])

    assert [i["numeroFacture"] for i in api.search_all()] == ["F-ANT"]
