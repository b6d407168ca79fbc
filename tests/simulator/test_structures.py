"""Seed data and the Structures / Transverses lookups a supplier makes before depositing."""

from __future__ import annotations

import pytest
from stdnum import iban
from stdnum.fr import siret as siret_check

from chorus_etl import settings
from chorus_pro.simulator import SimulatorHandle, config, seed
from chorus_pro.simulator.seed import (
    ALL_SUPPLIERS,
    ANTIGONE,
    ARTENREEL,
    BUYER_HOSPITAL,
    BUYER_INACTIVE,
    BUYER_NO_PAYMENT_STATUS,
    BUYERS,
    FACTURES_PUBLIQUES,
    SCHILTIGHEIM,
    SUPPLIERS,
    active_service_codes,
)
from tests.simulator.helpers import Api

BASE = "/cpro/structures/v1"
TRANSVERSES = "/cpro/transverses/v1"


def test_simulator_defaults_match_the_pipeline_settings() -> None:
    assert config.DEFAULT_CLIENT_ID == settings.SIMULATOR_CLIENT_ID
    assert config.DEFAULT_CLIENT_SECRET == settings.SIMULATOR_CLIENT_SECRET
    assert config.DEFAULT_LOGIN == settings.SIMULATOR_LOGIN
    assert config.DEFAULT_PASSWORD == settings.SIMULATOR_PASSWORD
    assert [s.siret for s in SUPPLIERS] == [settings.ANTIGONE_SIRET, settings.ARTENREEL_SIRET]
    assert config.SimulatorConfig().attached_supplier_sirets == [s.siret for s in SUPPLIERS]


def test_every_structure_has_a_valid_siret_and_unique_ids() -> None:
    structures = seed.all_structures()
    for structure in structures:
        assert siret_check.is_valid(structure.siret), structure.name
    assert len({s.id for s in structures}) == len(structures)
    service_ids = [svc.id for s in structures for svc in s.services]
    assert len(set(service_ids)) == len(service_ids)


def test_entrepreneur_services() -> None:
    assert active_service_codes(ANTIGONE.siret) == [f"ANT-E{n:03d}" for n in range(1, 13)]
    assert active_service_codes(ARTENREEL.siret) == [f"ART-E{n:03d}" for n in range(1, 9)]
    assert "ANT-E099" in seed.service_codes(ANTIGONE.siret)
    assert not ANTIGONE.service_by_code("ANT-E099").active  # type: ignore[union-attr]
    assert not ARTENREEL.service_by_code("ART-E099").active  # type: ignore[union-attr]
    for supplier in ALL_SUPPLIERS:
        assert supplier.bank_accounts
        assert supplier.active
        for account in supplier.bank_accounts:
            assert iban.is_valid(account.iban), account.name
        for service in supplier.services:
            assert len(service.label.split()) >= 2
    assert active_service_codes("00000000000000") == []


def test_six_supplier_structures_in_two_cooperatives() -> None:
    assert len(ALL_SUPPLIERS) == len({s.siret for s in ALL_SUPPLIERS}) == 6
    assert set(seed.COOPRODUCTION_SUPPLIERS) | set(seed.LOIRE_OCEAN_SUPPLIERS) == set(ALL_SUPPLIERS)
    assert set(SUPPLIERS) < set(seed.COOPRODUCTION_SUPPLIERS)
    assert {s.address.postal_code[:2] for s in seed.COOPRODUCTION_SUPPLIERS} == {"67"}
    assert {s.address.postal_code[:2] for s in seed.LOIRE_OCEAN_SUPPLIERS} == {"44"}
    assert [s.siret for s in ALL_SUPPLIERS] == [
        seed.ANTIGONE_SIRET,
        seed.ARTENREEL_SIRET,
        seed.RHIZOME_SIRET,
        seed.PASSERELLE_SIRET,
        seed.ESTUAIRE_SIRET,
        seed.MASCARET_SIRET,
    ]


def test_buyers_cover_every_parameter_combination_and_kind() -> None:
    combos = {
        (b.flags.service_required, b.flags.engagement_required, b.flags.service_or_engagement)
        for b in BUYERS
        if b.active
    }
    assert {
        (False, False, False),
        (True, False, False),
        (False, True, False),
        (True, True, False),
        (False, False, True),
    } <= combos
    assert {b.kind for b in BUYERS} == {"local", "state", "hospital", "public_company"}
    assert SCHILTIGHEIM.siret == "21670447800017"
    service_28e = SCHILTIGHEIM.service_by_code("28E")
    assert service_28e is not None
    assert service_28e.label == "Service Enfance Jeunesse / Maison du jeune citoyen"
    assert SCHILTIGHEIM.flags.service_required
    assert any(not b.active for b in BUYERS)
    assert BUYER_NO_PAYMENT_STATUS.flags.payment_status_not_reported
    services = [s for b in BUYERS for s in b.services]
    assert any(s.code == FACTURES_PUBLIQUES for s in services)
    assert any(s.engagement_required for s in services)
    assert any(not s.active for s in services)
    assert seed.buyer_by_siret(BUYER_HOSPITAL.siret) is BUYER_HOSPITAL
    assert seed.structure_by_id(ANTIGONE.id) is ANTIGONE


def test_rechercher_structure_by_siret(api: Api) -> None:
    answer = api.ok(
        f"{BASE}/rechercher",
        {
            "structure": {
                "identifiantStructure": SCHILTIGHEIM.siret,
                "typeIdentifiantStructure": "SIRET",
            },
            "parametres": {"nbResultatsParPage": 10, "pageResultatDemandee": 1},
            "restreindreStructuresPrivees": False,
        },
    )

    assert answer["listeStructures"] == [
        {
            "idStructureCPP": SCHILTIGHEIM.id,
            "identifiantStructure": SCHILTIGHEIM.siret,
            "designationStructure": SCHILTIGHEIM.name,
            "typeIdentifiantStructure": "SIRET",
            "statut": "ACTIVE",
        }
    ]
    assert answer["parametresRetour"]["total"] == 1


def test_rechercher_structures_paginates_and_filters(api: Api) -> None:
    everything = api.ok(f"{BASE}/rechercher", {"parametres": {"nbResultatsParPage": 5}})
    public = api.ok(
        f"{BASE}/rechercher",
        {"restreindreStructuresPrivees": True, "parametres": {"nbResultatsParPage": 100}},
    )
    inactive = api.ok(f"{BASE}/rechercher", {"structure": {"statutStructure": "INACTIF"}})
    by_name = api.ok(f"{BASE}/rechercher", {"structure": {"raisonSocialeStructure": "schiltig"}})

    total = len(ALL_SUPPLIERS) + len(BUYERS)
    assert everything["parametresRetour"] == {
        "pageCourante": 1,
        "pages": -(-total // 5),
        "nbResultatsParPage": 5,
        "total": total,
    }
    assert len(public["listeStructures"]) == len(BUYERS)
    assert [s["statut"] for s in inactive["listeStructures"]] == ["INACTIVE"]
    assert [s["idStructureCPP"] for s in by_name["listeStructures"]] == [SCHILTIGHEIM.id]


@pytest.mark.parametrize("buyer", BUYERS, ids=lambda b: b.name)
def test_consulter_structure_parameters(api: Api, buyer: seed.Buyer) -> None:
    answer = api.ok(f"{BASE}/consulter", {"idStructureCPP": buyer.id, "codeLangue": "fr"})

    assert answer["parametres"]["codeServiceDoitEtreRenseigne"] == buyer.flags.service_required
    assert answer["parametres"]["numeroEJDoitEtreRenseigne"] == buyer.flags.engagement_required
    assert answer["parametres"]["gestionNumeroEJOuCodeService"] == buyer.flags.service_or_engagement
    assert (
        answer["parametres"]["statutMiseEnPaiementNestPasRemonte"]
        == buyer.flags.payment_status_not_reported
    )
    info = answer["informationGenerales"]
    assert info["identifiantStructure"] == buyer.siret
    assert info["structurePriveePublique"] == "PUBLIQUE"
    assert info["dateExpirationMotPasseCompteTech"] is None


def test_own_structure_shows_the_technical_password_expiry(
    api: Api, simulator: SimulatorHandle
) -> None:
    info = api.ok(f"{BASE}/consulter", {"idStructureCPP": ANTIGONE.id})["informationGenerales"]

    assert info["structurePriveePublique"] == "PRIVEE"
    assert (
        info["dateExpirationMotPasseCompteTech"] == simulator.control.clock()["password_expires_on"]
    )
    assert info["numeroTVA"].startswith("FR") and info["numeroTVA"].endswith(ANTIGONE.siret[:9])


def test_services_of_a_structure(api: Api) -> None:
    answer = api.ok(
        f"{BASE}/rechercher/services",
        {
            "idStructure": SCHILTIGHEIM.id,
            "parametresRechercherServicesStructure": {"nbResultatsParPage": 100},
        },
    )

    services = {s["codeService"]: s for s in answer["listeServices"]}
    assert services["28E"]["libelleService"] == "Service Enfance Jeunesse / Maison du jeune citoyen"
    assert services["28E"]["estActif"] is True
    assert services["07A"]["estActif"] is False
    assert FACTURES_PUBLIQUES in services
    assert answer["parametresRetour"]["total"] == len(SCHILTIGHEIM.services)


def test_services_default_page_is_ten(api: Api) -> None:
    answer = api.ok(f"{BASE}/rechercher/services", {"idStructure": ANTIGONE.id})

    assert len(answer["listeServices"]) == 10
    assert answer["parametresRetour"]["pages"] == 2


def test_consulter_service(api: Api) -> None:
    sports = SCHILTIGHEIM.service_by_code("31S")
    enfance = SCHILTIGHEIM.service_by_code("28E")
    assert sports is not None and enfance is not None

    sports_answer = api.ok(
        f"{BASE}/consulter/service", {"idStructure": SCHILTIGHEIM.id, "idService": sports.id}
    )
    enfance_answer = api.ok(
        f"{BASE}/consulter/service", {"idStructure": SCHILTIGHEIM.id, "idService": enfance.id}
    )

    assert sports_answer["parametres"]["numeroEngagement"] is True
    assert enfance_answer["parametres"]["numeroEngagement"] is False
    assert enfance_answer["informationsGenerales"]["codeService"] == "28E"


def test_unknown_structure_or_service(api: Api) -> None:
    api.refused(f"{BASE}/consulter", {"idStructureCPP": 1}, 20001)
    api.refused(f"{BASE}/rechercher/services", {"idStructure": 1}, 20001)
    api.refused(
        f"{BASE}/consulter/service",
        {"idStructure": SCHILTIGHEIM.id, "idService": ANTIGONE.services[0].id},
        20002,
    )
    api.refused(f"{BASE}/consulter", {"idStructureCPP": "abc"}, 20901)


def test_a_structure_can_be_listed_yet_nonexistent_to_consult(
    api: Api, simulator: SimulatorHandle
) -> None:
    """The dissolved buyer as Chorus Pro may show it: INACTIVE in the search, 20001 behind it."""
    search = {"structure": {"identifiantStructure": BUYER_INACTIVE.siret}}
    (service,) = BUYER_INACTIVE.services
    consultable = api.ok(f"{BASE}/consulter", {"idStructureCPP": BUYER_INACTIVE.id})
    simulator.control.set_config(unconsultable_structures=[BUYER_INACTIVE.siret])

    (listed,) = api.ok(f"{BASE}/rechercher", search)["listeStructures"]
    refusals = [
        api.refused(f"{BASE}/consulter", {"idStructureCPP": BUYER_INACTIVE.id}, 20001),
        api.refused(f"{BASE}/rechercher/services", {"idStructure": BUYER_INACTIVE.id}, 20001),
        api.refused(
            f"{BASE}/consulter/service",
            {"idStructure": BUYER_INACTIVE.id, "idService": service.id},
            20001,
        ),
    ]

    assert consultable["informationGenerales"]["identifiantStructure"] == BUYER_INACTIVE.siret
    assert listed["statut"] == "INACTIVE"
    assert {r["libelle"] for r in refusals} == {"Structure inexistante."}
    api.ok(f"{BASE}/consulter", {"idStructureCPP": SCHILTIGHEIM.id})


def test_active_supplier_structures_follow_the_attachment(
    api: Api, simulator: SimulatorHandle
) -> None:
    path = f"{TRANSVERSES}/recuperer/structures/actives/fournisseur"
    both = api.ok(path, {})["listeStructures"]
    simulator.control.set_config(attached_supplier_sirets=[ARTENREEL.siret])
    one = api.ok(path, {})["listeStructures"]

    assert [(s["idStructureCPP"], s["identifiant"]) for s in both] == [
        (ANTIGONE.id, ANTIGONE.siret),
        (ARTENREEL.id, ARTENREEL.siret),
    ]
    assert [s["designationStructure"] for s in one] == [ARTENREEL.name]


def test_bank_accounts(api: Api, simulator: SimulatorHandle) -> None:
    path = f"{TRANSVERSES}/recuperer/coordbanc/valides"
    accounts = api.ok(path, {"idStructure": ANTIGONE.id})["listeCoordonneeBancaire"]

    assert accounts == [
        {
            "idCoordonneeBancaire": ANTIGONE.bank_accounts[0].id,
            "nomCoordonneeBancaire": ANTIGONE.bank_accounts[0].name,
        }
    ]
    api.refused(path, {"idStructure": SCHILTIGHEIM.id}, 20001)
    simulator.control.set_config(attached_supplier_sirets=[])
    api.refused(path, {"idStructure": ANTIGONE.id}, 20001)


def test_vat_rates(api: Api) -> None:
    rates = api.ok(f"{TRANSVERSES}/recuperer/tauxtva", {"codeLangue": "fr"})["listeTauxTva"]

    assert {r["codeTauxTva"]: r["valeurTauxTva"] for r in rates}["TVA20"] == 20.0
