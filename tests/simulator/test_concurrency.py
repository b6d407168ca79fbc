"""Eight clients at once: the store must stay consistent (one lock, atomic check-and-insert)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import ANTIGONE, ARTENREEL
from tests.simulator.helpers import RECHERCHER, SOUMETTRE, Api, invoice_body

CLIENTS = 8
PER_CLIENT = 20


def _client_run(simulator: SimulatorHandle, worker: int) -> dict[str, Any]:
    api = Api(simulator)
    try:
        supplier = ANTIGONE if worker % 2 == 0 else ARTENREEL
        created: list[int] = []
        searched = 0
        for n in range(PER_CLIENT):
            created.append(
                api.submit(f"W{worker}-{n:03d}", supplier=supplier)["identifiantFactureCPP"]
            )
            if n % 5 == 0:
                api.ok(RECHERCHER, {"rechercheFactureParFournisseur": {"nbResultatsParPage": 50}})
                searched += 1
        shared = api.post(SOUMETTRE, invoice_body("SHARED-1")).json()
        return {"created": created, "shared": shared, "searched": searched}
    finally:
        api.close()


def test_concurrent_clients_do_not_corrupt_the_store(simulator: SimulatorHandle) -> None:
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(lambda w: _client_run(simulator, w), range(CLIENTS)))

    created = [i for r in results for i in r["created"]]
    shared_ok = [r["shared"] for r in results if r["shared"]["codeRetour"] == 0]
    shared_refused = [r["shared"] for r in results if r["shared"]["codeRetour"] != 0]
    assert len(shared_ok) == 1
    assert {r["codeRetour"] for r in shared_refused} == {20113}
    assert len(shared_refused) == CLIENTS - 1

    store = simulator.control.store()
    ids = [inv["identifiantFactureCPP"] for inv in store["invoices"]]
    assert len(ids) == CLIENTS * PER_CLIENT + 1
    assert len(set(ids)) == len(ids)
    assert set(created) | {shared_ok[0]["identifiantFactureCPP"]} == set(ids)
    assert all(s["count"] == 1 for s in store["submissions"])
    assert len(store["submissions"]) == len(ids)
    shared_attempts = [a for a in store["attempts"] if a["numeroFacture"] == "SHARED-1"]
    assert shared_attempts == [
        {"supplier_siret": ANTIGONE.siret, "numeroFacture": "SHARED-1", "count": CLIENTS}
    ]
    pairs = {(inv["supplier_siret"], inv["numeroFacture"]) for inv in store["invoices"]}
    assert len(pairs) == len(ids)

    stats = simulator.control.stats()
    assert stats["requests"][SOUMETTRE] == CLIENTS * (PER_CLIENT + 1)
    assert stats["requests"][RECHERCHER] == sum(r["searched"] for r in results)

    checker = Api(simulator)
    try:
        total = checker.search(rechercheFactureParFournisseur={"nbResultatsParPage": 1000})
    finally:
        checker.close()
    assert total["parametresRetour"]["total"] == len(ids)
