"""The simulated clock and the lifecycles it drives, plus the supplier's follow-up actions."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

import pytest

from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import (
    ANTIGONE,
    BUYER_NO_PAYMENT_STATUS,
    SCHILTIGHEIM,
)
from tests.simulator.helpers import (
    COMPLETER,
    CONSULTER,
    HISTORIQUE,
    RECYCLER,
    SOUMETTRE,
    TRAITER_REJET,
    Api,
    invoice_body,
)

PAYMENT_PATH = {"DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION"}
FINAL_BY_OUTCOME = {
    "paid": "MISE_EN_PAIEMENT",
    "rejected": "REJETEE",
    "suspended": "SUSPENDUE",
    "to_recycle": "A_RECYCLER",
}


def _invoices(simulator: SimulatorHandle) -> list[dict[str, Any]]:
    invoices: list[dict[str, Any]] = simulator.control.store()["invoices"]
    return invoices


def _deposit_many(api: Api, count: int) -> None:
    for n in range(count):
        api.submit(f"F-{n:04d}")


def test_every_lifecycle_appears_with_roughly_the_documented_shares(
    api: Api, simulator: SimulatorHandle
) -> None:
    _deposit_many(api, 120)

    result = simulator.control.advance(days=90)

    invoices = _invoices(simulator)
    outcomes = Counter(inv["outcome"] for inv in invoices)
    assert set(outcomes) == {"paid", "rejected", "suspended", "to_recycle", "never_paid"}
    assert 0.55 <= outcomes["paid"] / len(invoices) <= 0.85
    assert result["status_changes"] == sum(len(inv["history"]) - 1 for inv in invoices)
    for inv in invoices:
        expected = FINAL_BY_OUTCOME.get(inv["outcome"])
        if expected is not None:
            assert inv["statut"] == expected, inv
        else:
            assert inv["statut"] in {"MISE_A_DISPOSITION", "SERVICE_FAIT"}, inv
        if inv["statut"] in {"REJETEE", "SUSPENDUE", "A_RECYCLER"}:
            assert inv["history"][-1]["commentaire"], inv


def test_paid_invoices_are_paid_within_ten_to_seventy_days(
    api: Api, simulator: SimulatorHandle
) -> None:
    simulator.control.set_config(lifecycle_outcome="paid")
    _deposit_many(api, 30)

    simulator.control.advance(days=75)

    for inv in _invoices(simulator):
        deposited = datetime.fromisoformat(inv["deposited_at"]).date()
        paid = datetime.fromisoformat(inv["history"][-1]["at"]).date()
        assert inv["statut"] == "MISE_EN_PAIEMENT"
        assert 10 <= (paid - deposited).days <= 71
        codes = [h["statut"] for h in inv["history"]]
        assert codes[:3] == ["DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION"]
        assert set(codes[3:-1]) <= {"SERVICE_FAIT", "MANDATEE", "MISE_A_DISPOSITION_COMPTABLE"}


def test_one_advance_records_each_change_at_its_own_time(
    api: Api, simulator: SimulatorHandle
) -> None:
    simulator.control.set_config(lifecycle_outcome="paid")
    invoice_id = api.submit("F-1")["identifiantFactureCPP"]

    simulator.control.advance(days=80)

    history = api.history(invoice_id, nbResultatsParPageListeHistoStatut=100)
    entries = history["historiquesDesStatuts"]["histoStatut"]
    stamps = [e["histoStatutDatePassage"] for e in entries]
    assert len(entries) >= 4
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    for stamp in stamps:
        datetime.strptime(stamp, "%Y-%m-%d %H:%M")
    (item,) = api.search_all(numeroFacture="F-1")
    current = datetime.fromisoformat(item["dateHeureEtatCourant"])
    assert current.strftime("%Y-%m-%d %H:%M") == stamps[-1]
    assert item["statut"] == entries[-1]["histoStatutCode"] == history["statutCourantCode"]


def test_nothing_moves_until_the_clock_does(api: Api, simulator: SimulatorHandle) -> None:
    api.submit("F-1")

    (inv,) = _invoices(simulator)
    assert inv["statut"] == "DEPOSEE"
    assert simulator.control.advance(days=0)["status_changes"] == 0
    simulator.control.advance(hours=3)
    assert _invoices(simulator)[0]["statut"] == "MISE_A_DISPOSITION"


def test_lifecycles_replay_identically_from_the_same_seed(
    api: Api, simulator: SimulatorHandle
) -> None:
    simulator.control.set_config(seed=42)
    _deposit_many(api, 20)
    simulator.control.advance(days=40)
    first = [(i["outcome"], i["history"]) for i in _invoices(simulator)]

    simulator.control.reset()  # also revokes every token
    api.token(fresh=True)
    simulator.control.set_config(seed=42)
    _deposit_many(api, 20)
    simulator.control.advance(days=10)
    simulator.control.advance(days=30)
    second = [(i["outcome"], i["history"]) for i in _invoices(simulator)]

    simulator.control.reset()
    api.token(fresh=True)
    simulator.control.set_config(seed=43)
    _deposit_many(api, 20)
    simulator.control.advance(days=40)
    other_seed = [(i["outcome"], i["history"]) for i in _invoices(simulator)]

    assert first == second
    assert first != other_seed


def test_buyers_that_do_not_report_payment_stop_at_mandatee(
    api: Api, simulator: SimulatorHandle
) -> None:
    simulator.control.set_config(lifecycle_outcome="paid")
    for n in range(10):
        api.submit(f"F-{n}", siret=BUYER_NO_PAYMENT_STATUS.siret)

    simulator.control.advance(days=120)

    for inv in _invoices(simulator):
        assert inv["statut"] == "MANDATEE"
        assert "MISE_EN_PAIEMENT" not in [h["statut"] for h in inv["history"]]


def test_outcome_can_be_forced_per_invoice_number(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(
        lifecycle_outcome="paid", lifecycle_outcomes_by_number={"F-REJ": "rejected"}
    )
    api.submit("F-REJ")
    api.submit("F-PAY")

    simulator.control.advance(days=75)

    statuses = {i["numeroFacture"]: i["statut"] for i in _invoices(simulator)}
    assert statuses == {"F-REJ": "REJETEE", "F-PAY": "MISE_EN_PAIEMENT"}


def test_suspended_invoice_completed_then_paid(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(lifecycle_outcome="suspended")
    invoice_id = api.submit("F-SUSP")["identifiantFactureCPP"]
    simulator.control.advance(days=20)
    upload_id = api.upload("bon-de-livraison.pdf")

    answer = api.ok(
        COMPLETER,
        {
            "identifiantFactureCPP": invoice_id,
            "commentaire": "Bon de livraison joint",
            "pieceJointeComplementaire": [
                {
                    "pieceJointeComplementaireDesignation": "BL",
                    "pieceJointeComplementaireId": upload_id,
                    "pieceJointeComplementaireType": "02",
                }
            ],
        },
    )

    assert answer["identifiantFactureCPP"] == invoice_id
    assert answer["numeroFacture"] == "F-SUSP"
    assert answer["dateTraitement"] == simulator.control.clock()["today"]
    assert api.search_all(numeroFacture="F-SUSP")[0]["statut"] == "COMPLETEE"
    simulator.control.advance(days=45)
    history = api.history(invoice_id, nbResultatsParPageListeHistoStatut=50)
    codes = [e["histoStatutCode"] for e in history["historiquesDesStatuts"]["histoStatut"]]
    assert codes[codes.index("SUSPENDUE") + 1] == "COMPLETEE"
    assert codes[-1] == "MISE_EN_PAIEMENT"
    actions = history["historiquesDesActionsUtilisateurs"]["histoAction"]
    assert [a["histoActionCode"] for a in actions] == ["COMPLETER"]
    assert history["derniereAction"]["derniereActionCode"] == "COMPLETER"


def test_completer_only_from_suspendue(api: Api) -> None:
    invoice_id = api.submit("F-1")["identifiantFactureCPP"]

    payload = api.refused(COMPLETER, {"identifiantFactureCPP": invoice_id}, 20002)

    assert payload["libelle"].startswith("GDP_MSG_11.033")


def test_completer_checks_attachments_and_existence(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(lifecycle_outcome="suspended")
    invoice_id = api.submit("F-1")["identifiantFactureCPP"]
    simulator.control.advance(days=20)
    unknown = {"pieceJointeComplementaireDesignation": "x", "pieceJointeComplementaireId": 7}

    api.refused(
        COMPLETER,
        {"identifiantFactureCPP": invoice_id, "pieceJointeComplementaire": [unknown]},
        20121,
    )
    api.refused(COMPLETER, {"identifiantFactureCPP": 1}, 20000)


def test_recycled_invoice_is_routed_again_then_paid(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(lifecycle_outcome="to_recycle")
    invoice_id = api.submit("F-RECY")["identifiantFactureCPP"]
    simulator.control.advance(days=10)
    assert api.search_all(numeroFacture="F-RECY")[0]["statut"] == "A_RECYCLER"

    answer = api.ok(
        RECYCLER,
        {
            "identifiantFactureCPP": invoice_id,
            "destinataire": {"codeDestinataire": SCHILTIGHEIM.siret, "codeServiceExecutant": "28E"},
            "reference": {"numeroBonCommande": "EJ-2025-77"},
            "commentaire": "Service corrigé",
        },
    )

    # AIFE's recycle example: the invoice starts its routing again, deposited anew.
    assert answer["statutFacture"] == "DEPOSEE"
    assert answer["dateDepot"] == simulator.control.clock()["today"]
    assert answer["numeroFacture"] == "F-RECY"
    detail = api.ok(CONSULTER, {"identifiantFactureCPP": invoice_id})["facture"]
    assert detail["destinataire"]["codeDestinataire"] == SCHILTIGHEIM.siret
    assert detail["destinataire"]["codeServiceExecutant"] == "28E"
    assert detail["references"]["numeroBonCommande"] == "EJ-2025-77"
    simulator.control.advance(days=75)
    statuses = [h["statut"] for h in _invoices(simulator)[0]["history"]]
    after = statuses[statuses.index("A_RECYCLER") + 1 :]
    assert after[:3] == ["DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION"]
    assert statuses[-1] == "MISE_EN_PAIEMENT"


def test_recycler_may_be_told_to_ignore_the_engagement(
    api: Api, simulator: SimulatorHandle
) -> None:
    """Whether Chorus Pro changes the engagement through `recycler` is unproven: the knob gives
    a client both behaviours to be tested against."""
    simulator.control.set_config(lifecycle_outcome="to_recycle", recycle_engagement="ignored")
    invoice_id = api.submit("F-RECY", engagement="EJ-OLD")["identifiantFactureCPP"]
    simulator.control.advance(days=10)

    api.ok(
        RECYCLER,
        {
            "identifiantFactureCPP": invoice_id,
            "destinataire": {"codeDestinataire": SCHILTIGHEIM.siret, "codeServiceExecutant": "28E"},
            "reference": {"numeroBonCommande": "EJ-NEW"},
        },
    )

    detail = api.ok(CONSULTER, {"identifiantFactureCPP": invoice_id})["facture"]
    assert detail["destinataire"]["codeServiceExecutant"] == "28E"
    assert detail["references"]["numeroBonCommande"] == "EJ-OLD"


def test_recycler_applies_the_routing_rules(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(lifecycle_outcome="to_recycle")
    invoice_id = api.submit("F-RECY")["identifiantFactureCPP"]
    simulator.control.advance(days=10)

    api.refused(
        RECYCLER,
        {
            "identifiantFactureCPP": invoice_id,
            "destinataire": {"codeDestinataire": SCHILTIGHEIM.siret},
        },
        20103,
    )
    assert _invoices(simulator)[0]["statut"] == "A_RECYCLER"


def test_recycler_only_from_a_recycler(api: Api) -> None:
    invoice_id = api.submit("F-1")["identifiantFactureCPP"]

    payload = api.refused(RECYCLER, {"identifiantFactureCPP": invoice_id}, 20002)

    assert "DEPOSEE" in payload["libelle"]


def test_rejection_is_acknowledged_with_traiter_rejet(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(lifecycle_outcome="rejected")
    invoice_id = api.submit("F-REJ")["identifiantFactureCPP"]
    other = api.submit("F-OTHER")["identifiantFactureCPP"]
    simulator.control.advance(days=25)
    (item,) = api.search_all(numeroFacture="F-REJ")
    assert item["statut"] == "REJETEE"
    assert item["commentaireEtatCourant"]

    api.ok(
        TRAITER_REJET,
        {"listeDemandePaiement": [{"idDemandePaiement": invoice_id}], "motifRejet": "Vu"},
    )

    assert [i["identifiantFactureCPP"] for i in api.search_all(rejetTraite=True)] == [invoice_id]
    assert [i["identifiantFactureCPP"] for i in api.search_all(rejetTraite=False)] == [other]


def test_traiter_rejet_is_all_or_nothing(api: Api, simulator: SimulatorHandle) -> None:
    rejected = api.submit("F-REJ")["identifiantFactureCPP"]
    simulator.control.set_status(rejected, "REJETEE", "Erreur")
    deposited = api.submit("F-DEP")["identifiantFactureCPP"]

    api.refused(
        TRAITER_REJET,
        {
            "listeDemandePaiement": [
                {"idDemandePaiement": rejected},
                {"idDemandePaiement": deposited},
            ]
        },
        20002,
    )
    assert api.search_all(rejetTraite=True) == []


def test_history_is_paginated(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(lifecycle_outcome="paid")
    invoice_id = api.submit("F-1")["identifiantFactureCPP"]
    simulator.control.advance(days=80)
    total = len(_invoices(simulator)[0]["history"])

    first = api.history(invoice_id, nbResultatsParPageListeHistoStatut=2)["historiquesDesStatuts"]
    last_page = api.history(
        invoice_id,
        nbResultatsParPageListeHistoStatut=2,
        pageResultatDemandeeListeHistoStatut=first["pagesHistoStatut"],
    )["historiquesDesStatuts"]
    newest_first = api.history(invoice_id, triSensListeHistoStatut="Descendant")

    assert first["totalHistoStatut"] == total
    assert first["pagesHistoStatut"] == -(-total // 2)
    assert [e["histoStatutCode"] for e in first["histoStatut"]] == [
        "DEPOSEE",
        "EN_COURS_ACHEMINEMENT",
    ]
    assert last_page["histoStatut"][-1]["histoStatutCode"] == "MISE_EN_PAIEMENT"
    assert (
        newest_first["historiquesDesStatuts"]["histoStatut"][0]["histoStatutCode"]
        == "MISE_EN_PAIEMENT"
    )


def test_consulter_fournisseur_returns_the_invoice(api: Api) -> None:
    invoice_id = api.submit("F-DETAIL", engagement="EJ-9")["identifiantFactureCPP"]

    facture = api.ok(CONSULTER, {"identifiantFactureCPP": invoice_id})["facture"]

    assert facture["numeroFacture"] == "F-DETAIL"
    assert facture["statutFacture"] == "DEPOSEE"
    assert facture["fournisseur"]["idFournisseur"] == ANTIGONE.id
    assert facture["montantTotal"]["montantTtcTotal"] == 600.0
    assert facture["references"]["numeroBonCommande"] == "EJ-9"
    assert facture["lignesDePoste"]["lignePoste"][0]["lignePosteDenomination"] == "Atelier"


@pytest.mark.parametrize("path", [CONSULTER, HISTORIQUE])
def test_unknown_invoice(api: Api, path: str) -> None:
    key = "idFacture" if path == HISTORIQUE else "identifiantFactureCPP"

    api.refused(path, {key: 123}, 20000)


def test_manual_portal_invoice_is_visible_but_not_an_api_submission(
    api: Api, simulator: SimulatorHandle
) -> None:
    created = simulator.control.manual_invoice(
        supplier_siret=ANTIGONE.siret,
        numeroFacture="PORTAIL-1",
        codeDestinataire=SCHILTIGHEIM.siret,
        codeServiceExecutant="28E",
        montantHtTotal=100.0,
        montantTVA=20.0,
        outcome="paid",
    )

    (item,) = api.search_all(numeroFacture="PORTAIL-1")
    assert item["identifiantFactureCPP"] == created["identifiantFactureCPP"]
    assert item["modeDepot"] == "DEPOT_PDF_PORTAIL"
    assert item["montantTTC"] == 120.0
    store = simulator.control.store()
    assert store["invoices"][0]["source"] == "portal"
    assert store["submissions"] == []
    api.refused(SOUMETTRE, invoice_body("PORTAIL-1"), 20113)


def test_forced_status_is_recorded_now(api: Api, simulator: SimulatorHandle) -> None:
    invoice_id = api.submit("F-1")["identifiantFactureCPP"]
    simulator.control.advance(days=2)

    snapshot = simulator.control.set_status(invoice_id, "REJETEE", "Montant erroné")

    assert snapshot["statut"] == "REJETEE"
    assert snapshot["planned"] == []
    assert snapshot["history"][-1]["at"] == simulator.control.clock()["now"]
    simulator.control.advance(days=100)
    assert _invoices(simulator)[0]["statut"] == "REJETEE"


def test_the_clock_starts_at_the_configured_date(simulator: SimulatorHandle) -> None:
    simulator.control.set_config(clock_start="2025-11-05")

    clock = simulator.control.clock()

    assert clock["now"] == "2025-11-05T09:00:00+01:00"
    assert date.fromisoformat(clock["password_expires_on"]) == date(2026, 11, 5)
